//! Who is calling: the primary sign-in (password or trusted header), the
//! engine's login and session tokens in cookies, and the admin and gateway tokens.
use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use std::sync::Arc;

use crate::config::AuthMode;
use crate::engine::{Action, EngineError, Refusal, SignInCaller, Standing, UserRecord};
use crate::error::ApiError;
use crate::{AppState, unix_now};

/// Cookie holding the engine's login token (between password and second factor).
pub const LOGIN_COOKIE: &str = "mfa_login";
/// Cookie holding the engine's MFA session token.
pub const SESSION_COOKIE: &str = "mfa_session";
/// Cookie holding the remembered-device token.
pub const DEVICE_COOKIE: &str = "mfa_device";
/// Cookie holding the answer to "Stay signed in?": `yes` or `no` when "Don't
/// show this again" was ticked (kept [`STAY_COOKIE_SECS`]), `session` for a
/// Yes that holds until this session ends (so a re-verification keeps the
/// cookie persistent; cleared at sign-out). Not a secret; absent means ask.
pub const STAY_COOKIE: &str = "mfa_stay_signed_in";
/// The [`STAY_COOKIE`] value of a Yes for this session only.
pub const STAY_FOR_SESSION: &str = "session";
/// How long that answer is kept: 400 days, the longest a browser keeps a cookie.
pub const STAY_COOKIE_SECS: u64 = 400 * 24 * 3600;

/// The remembered answer to "Stay signed in?": `None` when it must be asked.
pub fn stay_signed_in(headers: &HeaderMap) -> Option<bool> {
    match cookie(headers, STAY_COOKIE)? {
        "yes" | STAY_FOR_SESSION => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The caller of a user endpoint.
#[derive(Clone)]
pub struct Caller {
    /// The user id.
    pub user: String,
    /// Whether a second factor was verified (an MFA session).
    pub mfa: bool,
    /// The login or session token presented, which the engine checks again
    /// at the next sign-in step; `None` when the trusted proxy vouches.
    token: Option<String>,
    /// When the presented token expires (0 when none was presented).
    pub expires_at: u64,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("user", &self.user)
            .field("mfa", &self.mfa)
            .finish_non_exhaustive()
    }
}

impl Caller {
    fn of(c: SignInCaller, token: Option<&str>) -> Self {
        Self {
            user: c.user_id,
            mfa: c.mfa,
            expires_at: if token.is_some() { c.expires_at } else { 0 },
            token: token.map(str::to_string),
        }
    }

    /// Whether the engine accepted `token` as this caller's MFA session.
    pub fn is_session(&self, token: &str) -> bool {
        self.mfa && self.token.as_deref() == Some(token)
    }

    /// The caller's standing for a sign-in step.
    pub fn standing(&self) -> Standing<'_> {
        match &self.token {
            Some(t) => Standing::Token(t),
            None => Standing::External,
        }
    }
}

/// The `sub` claim of a JWT, **unverified**: only a hint of which record to
/// load. The engine verifies the token against that record in the same call.
fn subject_hint(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Sub {
        sub: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(payload.as_bytes())
        .ok()?;
    serde_json::from_slice::<Sub>(&bytes).ok().map(|s| s.sub)
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value (`HttpOnly`, `SameSite=Lax`, `Path=/`). `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// A cookie that ends with the browser session (no `Max-Age`): the session
/// cookie when the person did not choose to stay signed in.
pub fn set_browser_session_cookie(name: &str, value: &str, secure: bool) -> Option<HeaderValue> {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// Refusals of the token itself (not of what it may do): try the next one.
fn is_token_refusal(e: &EngineError) -> bool {
    matches!(
        e.reason(),
        Refusal::TokenRevoked
            | Refusal::TokenExpired
            | Refusal::BadSignature
            | Refusal::WrongTokenKind
            | Refusal::MalformedToken { .. }
    )
}

fn not_signed_in() -> ApiError {
    ApiError::unauthorized(
        "not_signed_in",
        "sign in with your user name and password first",
    )
}

impl AppState {
    /// A user id in the engine's canonical form (`gateway.canonical-user`):
    /// `Alice` and ` alice ` are one user here, in the component and at the
    /// gateway.
    pub fn user_id(&self, raw: &str) -> Result<String, ApiError> {
        self.engine()
            .call(|h| h.canonical_user(raw))
            .map_err(|e| match e.reason() {
                Refusal::InvalidInput { .. } => ApiError::invalid("invalid_user", e.message()),
                _ => ApiError::from_engine(&e, crate::unix_now()),
            })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl AppState {
    /// The user of a trusted-header request (the header, from an allowed proxy).
    fn trusted_user(&self, headers: &HeaderMap, peer: IpAddr) -> Result<String, ApiError> {
        let Some(value) = headers.get(self.cfg.auth.header.as_str()) else {
            return Err(ApiError::unauthorized(
                "not_signed_in",
                format!(
                    "the {} header from the authenticating proxy is missing",
                    self.cfg.auth.header
                ),
            ));
        };
        if !self.trusted.iter().any(|c| c.contains(peer)) {
            return Err(ApiError::forbidden(
                "untrusted_proxy",
                format!(
                    "{} is not allowed to pass the user in {}",
                    peer, self.cfg.auth.header
                ),
            ));
        }
        let want = self.cfg.auth.proxy_secret.as_deref().unwrap_or_default();
        let sent = headers
            .get(self.cfg.auth.secret_header.as_str())
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if want.is_empty() || !bool::from(sent.ct_eq(want.as_bytes())) {
            return Err(ApiError::forbidden(
                "untrusted_proxy",
                format!(
                    "the request did not carry the authenticating proxy's secret in {}",
                    self.cfg.auth.secret_header
                ),
            ));
        }
        let raw = value
            .to_str()
            .map_err(|_| ApiError::invalid("invalid_user", "the user header is not valid text"))?;
        self.user_id(raw)
    }

    /// Who is calling, and whether they may take `action`: from the trusted
    /// header or the cookies (or a bearer session token). The engine decides
    /// against the user's record: a token of an older session epoch (the
    /// user's sessions were revoked), of another user, forged or expired is
    /// refused, and sensitive actions need a recent second factor. Returns
    /// the record read for the decision.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        action: Action,
    ) -> Result<(Caller, Arc<UserRecord>), ApiError> {
        let now = unix_now();
        let session = bearer(headers)
            .or_else(|| cookie(headers, SESSION_COOKIE))
            .filter(|t| !t.is_empty());
        if self.cfg.auth.mode == AuthMode::TrustedHeader {
            let user = self.trusted_user(headers, peer)?;
            let rec = self.load_or_create(&user, true).await?;
            // The proxy vouches for the first factor; a session of this
            // user adds the second.
            if let Some(t) = session.filter(|t| subject_hint(t).as_deref() == Some(user.as_str())) {
                match self
                    .engine()
                    .call(|h| h.authorize(rec.as_record(), Standing::Token(t), action, now))
                {
                    Ok(c) => return Ok((Caller::of(c, Some(t)), rec)),
                    Err(e) if !is_token_refusal(&e) => return Err(ApiError::from_engine(&e, now)),
                    Err(_) => {}
                }
            }
            let c = self
                .engine()
                .call(|h| h.authorize(rec.as_record(), Standing::External, action, now))
                .map_err(|e| ApiError::from_engine(&e, now))?;
            return Ok((Caller::of(c, None), rec));
        }
        // A session first, then a sign-in in progress (the login cookie).
        let login = cookie(headers, LOGIN_COOKIE).filter(|t| !t.is_empty());
        let mut refused = None;
        for t in session.into_iter().chain(login) {
            let Some(user) = subject_hint(t).and_then(|u| self.user_id(&u).ok()) else {
                continue;
            };
            let Some(rec) = self.load(&user).await? else {
                continue;
            };
            match self
                .engine()
                .call(|h| h.authorize(rec.as_record(), Standing::Token(t), action, now))
            {
                Ok(c) => return Ok((Caller::of(c, Some(t)), rec)),
                Err(e) if is_token_refusal(&e) => {
                    refused.get_or_insert(e);
                }
                Err(e) => return Err(ApiError::from_engine(&e, now)),
            }
        }
        // A revoked session says so (the widget tells the user they were
        // signed out); anything else is "sign in first".
        match refused {
            Some(e) if *e.reason() == Refusal::TokenRevoked => Err(ApiError::from_engine(&e, now)),
            _ => Err(not_signed_in()),
        }
    }

    /// The caller of a sign-in step, without an engine call: the token is
    /// only read for the user it names, and the step's own engine call
    /// checks it (a forged or stale token is refused there, spending nothing).
    pub fn step_caller(&self, headers: &HeaderMap, peer: IpAddr) -> Result<Caller, ApiError> {
        if self.cfg.auth.mode == AuthMode::TrustedHeader {
            let user = self.trusted_user(headers, peer)?;
            let token = bearer(headers)
                .or_else(|| cookie(headers, SESSION_COOKIE))
                .filter(|t| subject_hint(t).as_deref() == Some(user.as_str()))
                .map(str::to_string);
            return Ok(Caller {
                user,
                mfa: false,
                token,
                expires_at: 0,
            });
        }
        // A fresh password sign-in (the login cookie) goes before an older session.
        let token = bearer(headers)
            .or_else(|| cookie(headers, LOGIN_COOKIE).filter(|t| !t.is_empty()))
            .or_else(|| cookie(headers, SESSION_COOKIE))
            .filter(|t| !t.is_empty())
            .ok_or_else(not_signed_in)?;
        // The engine wrote the `sub` in canonical form; a forged one names
        // no record (records are kept under canonical ids only) or one whose
        // user the token's check then refuses, so no engine call is spent here.
        let user = subject_hint(token)
            .filter(|u| !u.is_empty() && u.len() <= 1024)
            .ok_or_else(not_signed_in)?;
        Ok(Caller {
            user,
            mfa: false,
            token: Some(token.to_string()),
            expires_at: 0,
        })
    }

    /// Who administers: automation with the admin bearer token (named
    /// [`TOKEN_ACTOR`] in the audit), or a signed-in user whom the engine
    /// lets administer (a user holding the admin role, with an MFA
    /// session); the audit names that user. Everyone else is refused: no
    /// credential `admin_token` (401), only a password `mfa_required`, a
    /// user without the role `not_admin` (403).
    pub async fn admin_actor(&self, headers: &HeaderMap, peer: IpAddr) -> Result<String, ApiError> {
        if let (Some(expected), Some(t)) = (&self.admin_token, bearer(headers))
            && bool::from(t.as_bytes().ct_eq(expected.as_bytes()))
        {
            return Ok(TOKEN_ACTOR.to_string());
        }
        match self.authorize(headers, peer, Action::Administer).await {
            Ok((c, _)) => Ok(c.user),
            Err(e) if e.code == "not_signed_in" => Err(ApiError::unauthorized(
                "admin_token",
                "sign in as a user with the admin role, or send the admin token as Authorization: Bearer <token>",
            )),
            Err(e) => Err(e),
        }
    }

    /// Check the gateway token, when one is configured; without one, that the
    /// caller is on this machine.
    pub fn check_gateway(&self, headers: &HeaderMap, peer: IpAddr) -> Result<(), ApiError> {
        gateway_allowed(
            self.cfg.gateway.token.as_deref(),
            headers.get("x-mfa-gateway-token").map(|v| v.as_bytes()),
            peer,
        )
    }
}

/// The audit's name for automation using the admin bearer token.
pub const TOKEN_ACTOR: &str = "admin";

/// Who may use the gateway endpoints: with a configured token, whoever
/// presents it (compared in constant time); without one, only this machine
/// (security item 5: the verify endpoint tells which app passwords are good).
pub fn gateway_allowed(
    expected: Option<&str>,
    presented: Option<&[u8]>,
    peer: IpAddr,
) -> Result<(), ApiError> {
    let Some(expected) = expected else {
        if peer.to_canonical().is_loopback() {
            return Ok(());
        }
        return Err(ApiError::forbidden(
            "gateway_token_required",
            "this endpoint answers only this machine until gateway.token (or MFA_GATEWAY_TOKEN) is set; give gateways that token",
        ));
    };
    match presented {
        Some(t) if bool::from(t.ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(ApiError::unauthorized(
            "gateway_token",
            "send the configured gateway token in x-mfa-gateway-token",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Security item 5: without a gateway token the verify endpoint answered
    /// anyone; now only this machine, and with a token only its holder.
    #[test]
    fn the_verify_endpoint_needs_the_gateway_token_unless_called_from_loopback() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(gateway_allowed(None, None, v4).is_ok());
        assert!(gateway_allowed(None, None, mapped).is_ok());
        assert!(gateway_allowed(None, None, "::1".parse().unwrap()).is_ok());
        let e = gateway_allowed(None, Some(b"anything"), remote).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (403, "gateway_token_required"));
        let token = "gateway-token-0123456789";
        assert!(gateway_allowed(Some(token), Some(token.as_bytes()), remote).is_ok());
        for wrong in [None, Some(&b"gateway-token-0123456788"[..]), Some(&b""[..])] {
            let e = gateway_allowed(Some(token), wrong, v4).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (401, "gateway_token"));
        }
    }

    #[test]
    fn the_subject_hint_reads_only_the_payload() {
        let claims = data_encoding::BASE64URL_NOPAD.encode(br#"{"sub":"a@example.com"}"#);
        assert_eq!(
            subject_hint(&format!("h.{claims}.sig")).as_deref(),
            Some("a@example.com")
        );
        assert_eq!(subject_hint("no-dots"), None);
        assert_eq!(subject_hint("h.!!!.s"), None);
    }
}
