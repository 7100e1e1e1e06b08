//! Passwordless sign-in with a passkey: the sign-in page offers the site's
//! passkeys in the user-name field's autofill (or behind "Sign in with a
//! passkey"), and the key that answers names its user. The server passes the
//! engine's options to the browser and the browser's answer to the engine,
//! and finds the user by the user handle the engine reads out of it; every
//! check (the signed ceremony, its expiry, its single use, the key, user
//! verification, origin and relying party) is the engine's.
//!
//! Who may call: anyone, like the password sign-in, and only where the
//! server checks the first factor itself (`auth.mode = "password"`). What an
//! attacker tries, each refused: an answer replayed (`ceremony_used`), a
//! ceremony forged, altered or expired (a token the engine did not sign, or
//! `ceremony_expired`), a key registered to nobody or a made-up user handle
//! (`unknown_credential`, the same answer whether or not the handle exists),
//! a page of another origin relaying the request (`origin_not_allowed`), a
//! key that did not verify the person (`user_not_verified`), a cross-site
//! request (the CSRF guard). Starting keeps nothing, so a flood of starts
//! costs one signature each and fills no storage.
use super::*;

fn password_mode(s: &AppState) -> Result<(), ApiError> {
    if s.cfg.auth.mode == AuthMode::Password {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "trusted_header_mode",
        "this server takes the user from the authenticating proxy; there is no passwordless sign-in",
    ))
}

/// Start a passwordless sign-in: `PublicKeyCredentialRequestOptionsJSON`
/// (no allow list, user verification required) and the signed ceremony.
pub(super) async fn passwordless_options(State(s): St) -> Result<Response, ApiError> {
    password_mode(&s)?;
    let now = unix_now();
    let discovery = s
        .engine()
        .call(|h| h.begin_passkey_discovery(now))
        .map_err(|e| ApiError::from_engine(&e, now))?;
    let mut body = super::passkeys::ceremony_options(&discovery.options, discovery.expires_at)?;
    body["ceremony"] = Value::from(discovery.ceremony);
    Ok(ok_json(StatusCode::OK, &body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordlessReq {
    /// The `ceremony` of the options.
    ceremony: String,
    /// `PublicKeyCredential.toJSON()` of the assertion.
    response: Value,
    /// "Don't ask again on this device".
    #[serde(default)]
    remember_device: bool,
}

/// The refusal for an answer whose user handle is nobody's.
fn unknown_key() -> ApiError {
    let mut e = ApiError::unauthorized(
        "passkey_refused",
        "this passkey is not registered for any account here; sign in with your user name and password",
    );
    e.check = Some("unknown_credential".into());
    e
}

/// Finish a passwordless sign-in: the session cookies, or the refusal.
pub(super) async fn passwordless_sign_in(
    State(s): St,
    headers: HeaderMap,
    Body(req): Body<PasswordlessReq>,
) -> Result<Response, ApiError> {
    password_mode(&s)?;
    let response = req.response.to_string();
    let now = unix_now();
    let handle = s
        .engine()
        .call(|h| h.passkey_user_handle(&response))
        .map_err(|e| ApiError::from_engine(&e, now))?;
    let Some(user) = s
        .store
        .user_by_passkey_handle(&handle)
        .await
        .map_err(|e| store_err(&e))?
    else {
        s.metrics.verification("passwordless", "unknown_credential");
        return Err(unknown_key());
    };
    let (ceremony, remember) = (req.ceremony, req.remember_device);
    let done = s
        .run_op(&user, false, false, move |h, r, now| {
            h.finish_passkey_discovery(r.as_record(), &ceremony, &response, remember, now)
                .map(|o| o.settle())
        })
        .await?;
    let (result, _, now) = done.into_api()?;
    signed_or_refused(&s, &headers, &user, "passwordless", result, now)
}
