//! The sign-in flow: from "first factor accepted" to "signed in", one call per
//! user action. The host checks the first factor (the password, or a trusted
//! proxy), then calls [`Engine::start_sign_in`]; the engine answers with the
//! next step and a login token, or signs the user in at once when a
//! remembered device skips the second factor. Each later step presents that
//! login token (a JWT the engine issued, [`TokenKind::Login`]) and the
//! engine checks it, the factor, and issues the session in the same call.
use serde::Serialize;

use crate::audit::AuditEvent;
use crate::record::{MethodId, UserRecord};
use crate::secret::SecretString;
use crate::token::{self, SessionClaims, TokenKind};
use crate::{Error, RandomSource, UnixTime};

use super::{Confirmed, Engine, NextStep, Verified};

/// How long a login token lasts: the time a user has to finish the second
/// factor (or "Set it up now") after the password.
pub const LOGIN_LIFETIME_SECS: u64 = 600;

/// How the first factor was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstFactor {
    /// The user's password, checked by the host (RFC 8176 `pwd`).
    Password,
    /// An authenticating proxy in front of the host (RFC 8176 `ext`).
    External,
    /// No password: a passkey that verified the person (PIN, fingerprint,
    /// face) did both factors ([`Engine::finish_passkey_discovery`]). The
    /// key's own `amr` (`hwk` or `swk`, and `user`) says so; hosts do not
    /// start a sign-in with it.
    Passkey,
}

impl FirstFactor {
    /// Its RFC 8176 `amr` value, when it has its own (a passkey's are the key's).
    pub fn amr(self) -> Option<&'static str> {
        match self {
            Self::Password => Some("pwd"),
            Self::External => Some("ext"),
            Self::Passkey => None,
        }
    }

    fn from_amr(amr: &[String]) -> Self {
        match amr.first().map(String::as_str) {
            Some("ext") => Self::External,
            Some("hwk" | "swk") => Self::Passkey,
            _ => Self::Password,
        }
    }
}

/// Who is taking a sign-in step, as the host presents them. `Debug` never
/// shows the token.
#[derive(Clone, Copy)]
pub enum Standing<'a> {
    /// A login token from [`Engine::start_sign_in`], or a session token (to
    /// verify again or to add a method). A bearer secret.
    Token(&'a str),
    /// The host's authenticating proxy vouches for the user on this request
    /// (trusted-header deployments only).
    External,
}

/// The second factor presented at a sign-in step. `Debug` never shows the code.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    /// A code from a registered method (the default method when `None`).
    Code {
        /// The method.
        method: Option<MethodId>,
        /// The code as typed.
        code: &'a str,
    },
    /// A recovery code.
    RecoveryCode(&'a str),
    /// A one-time pass from an admin.
    OneTimePass(&'a str),
    /// A passkey's answer (`AuthenticationResponseJSON`) to the ceremony
    /// [`Engine::begin_passkey_sign_in`] started.
    Passkey(&'a str),
}

impl std::fmt::Debug for Standing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token(redacted)"),
            Self::External => f.write_str("External"),
        }
    }
}

impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code { method, .. } => write!(f, "Code {{ method: {method:?}, code: redacted }}"),
            Self::RecoveryCode(_) => f.write_str("RecoveryCode(redacted)"),
            Self::OneTimePass(_) => f.write_str("OneTimePass(redacted)"),
            Self::Passkey(_) => f.write_str("Passkey(..)"),
        }
    }
}

/// A remembered-device token.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceToken {
    /// The token (a JWT): a bearer secret.
    pub token: SecretString,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// A finished sign-in: the factor and the tokens issued for it.
#[derive(Debug, Clone, Serialize)]
pub struct SignedIn {
    /// The second factor.
    pub verified: Verified,
    /// The MFA session token (a JWT): a bearer secret.
    pub session: SecretString,
    /// When the session expires.
    pub session_expires_at: UnixTime,
    /// The remembered-device token, when "don't ask again" was chosen.
    pub device: Option<DeviceToken>,
}

/// A second factor is still needed (or "Set it up now", or nothing when MFA is off).
#[derive(Debug, Clone, Serialize)]
pub struct LoginStep {
    /// What the user must do next.
    pub next: NextStep,
    /// The login token to present at the next step: a bearer secret.
    pub token: SecretString,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// What [`Engine::start_sign_in`] decided.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SignInStep {
    /// A remembered device skipped the second factor.
    SignedIn(SignedIn),
    /// The user must take the next step with the login token.
    Next(LoginStep),
}

/// Who is calling, from a login or session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInCaller {
    /// The user.
    pub user_id: String,
    /// Whether the second factor was verified (a session token).
    pub mfa: bool,
    /// How the first factor was done.
    pub first_factor: FirstFactor,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// When the second factor was verified (session tokens only).
    pub auth_time: Option<UnixTime>,
}

/// A confirmed registration, with the sign-in it finished when it was the
/// second factor of a sign-in ("Set it up now").
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    /// The new method.
    pub confirmed: Confirmed,
    /// The session, when the caller had only passed the first factor.
    pub signed_in: Option<SignedIn>,
}

impl Engine {
    /// The first factor was accepted: decide the next step. A valid
    /// remembered-device token of this user skips the second factor when one
    /// is due; any other device token is ignored (it may be stale).
    pub fn start_sign_in(
        &self,
        rec: &UserRecord,
        first: FirstFactor,
        device_token: Option<&str>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> SignInStep {
        let next = self.enrollment_check(rec, now);
        if matches!(next, NextStep::Verify { .. })
            && let Some(t) = device_token
            && let Ok(device) = self.verify_device_token(rec, t, now)
        {
            return SignInStep::SignedIn(self.signed_in(
                rec,
                Verified::by_device(device.iat),
                first,
                false,
                now,
                rng,
                audit,
            ));
        }
        let exp = now + LOGIN_LIFETIME_SECS;
        let mut claims = self.claims(
            &rec.user_id,
            first.amr().iter().map(|a| a.to_string()).collect(),
            now,
            LOGIN_LIFETIME_SECS,
            TokenKind::Login,
            None,
            rng,
        );
        claims.ses_epoch = Some(rec.session_epoch);
        SignInStep::Next(LoginStep {
            next,
            token: SecretString::new(token::sign(&self.keys, &claims)),
            expires_at: exp,
        })
    }

    /// Who a login or session token belongs to. Refuses device tokens,
    /// expired, forged and foreign tokens.
    pub fn sign_in_caller(&self, token: &str, now: UnixTime) -> Result<SignInCaller, Error> {
        let (claims, mfa) = self.standing_claims(token, now)?;
        Ok(caller_of(claims, mfa))
    }

    pub(super) fn standing_claims(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<(SessionClaims, bool), Error> {
        let p = &self.policy;
        match token::verify(
            &self.keys,
            token,
            &p.issuer,
            &p.audience,
            TokenKind::Login,
            now,
        ) {
            Ok(c) => Ok((c, false)),
            Err(Error::WrongTokenKind) => token::verify(
                &self.keys,
                token,
                &p.issuer,
                &p.audience,
                TokenKind::Session,
                now,
            )
            .map(|c| (c, true)),
            Err(e) => Err(e),
        }
    }

    /// The caller's standing for this record: the first factor and whether a
    /// second one was verified. A token of another user, or of an older
    /// session epoch (the user's sessions were revoked since), is refused.
    pub(super) fn standing(
        &self,
        rec: &UserRecord,
        standing: Standing<'_>,
        now: UnixTime,
    ) -> Result<(FirstFactor, bool), Error> {
        self.standing_caller(rec, standing, now)
            .map(|c| (c.first_factor, c.mfa))
    }

    /// [`Engine::standing`] with everything the token says.
    pub(super) fn standing_caller(
        &self,
        rec: &UserRecord,
        standing: Standing<'_>,
        now: UnixTime,
    ) -> Result<SignInCaller, Error> {
        match standing {
            Standing::External => Ok(SignInCaller {
                user_id: rec.user_id.clone(),
                mfa: false,
                first_factor: FirstFactor::External,
                expires_at: now,
                auth_time: None,
            }),
            Standing::Token(t) => {
                let (claims, mfa) = self.standing_claims(t, now)?;
                if claims.sub != rec.user_id || claims.ses_epoch.unwrap_or(0) != rec.session_epoch {
                    return Err(Error::TokenRevoked);
                }
                Ok(caller_of(claims, mfa))
            }
        }
    }

    /// The second factor of a sign-in: checks the caller's login (or
    /// session) token, verifies the code or recovery code, and issues the
    /// session, plus a remembered-device token when `remember_device`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one user action: who, what they typed and their choice, plus the engine's time, randomness and audit"
    )]
    pub fn finish_sign_in(
        &self,
        rec: &mut UserRecord,
        standing: Standing<'_>,
        proof: Proof<'_>,
        remember_device: bool,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<SignedIn, Error> {
        let (first, _) = self.standing(rec, standing, now)?;
        let verified = match proof {
            Proof::Code { method, code } => self.verify(rec, method, code, now, audit)?,
            Proof::RecoveryCode(code) => self.verify_recovery_code(rec, code, now, audit)?,
            Proof::OneTimePass(pass) => self.verify_one_time_pass(rec, pass, now, audit)?,
            Proof::Passkey(response) => self.verify_passkey(rec, response, now, audit)?,
        };
        Ok(self.signed_in(rec, verified, first, remember_device, now, rng, audit))
    }

    /// Prove the registration in progress with a code. Without a verified
    /// second factor this is allowed only while the user must set up a method
    /// ("Set it up now"), and then it is the second factor of the sign-in: the
    /// session is issued in the same call.
    #[allow(
        clippy::too_many_arguments,
        reason = "one user action: who, what they typed and their choice, plus the engine's time, randomness and audit"
    )]
    pub fn finish_registration(
        &self,
        rec: &mut UserRecord,
        standing: Standing<'_>,
        code: &str,
        remember_device: bool,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Registered, Error> {
        let (first, mfa) = self.standing(rec, standing, now)?;
        if !mfa {
            self.check_may_register(rec, now)?;
        }
        let confirmed = self.confirm_registration(rec, code, now, rng, audit)?;
        let second = if mfa {
            None
        } else {
            let method_type = rec.method(confirmed.method_id)?.kind.method_type();
            Some(Verified::by_registration(
                confirmed.method_id,
                method_type,
                confirmed.matched,
            ))
        };
        Ok(self.registered(
            rec,
            confirmed,
            second,
            first,
            remember_device,
            now,
            rng,
            audit,
        ))
    }

    /// The end of a registration. With a verified session the method is
    /// only added; during "Set it up now" (`second`: what the new method
    /// proved) it is also the sign-in's second factor, and the session is
    /// issued in the same call.
    #[allow(
        clippy::too_many_arguments,
        reason = "private helper: the registration and the sign-in it may finish, plus the engine's time, randomness and audit"
    )]
    pub(super) fn registered(
        &self,
        rec: &UserRecord,
        confirmed: Confirmed,
        second: Option<Verified>,
        first: FirstFactor,
        remember_device: bool,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Registered {
        let signed_in = second
            .map(|verified| self.signed_in(rec, verified, first, remember_device, now, rng, audit));
        Registered {
            confirmed,
            signed_in,
        }
    }

    /// Whether a caller who passed only the first factor may add a method:
    /// only when the sign-in asks them to set one up.
    pub fn check_may_register(&self, rec: &UserRecord, now: UnixTime) -> Result<(), Error> {
        match self.enrollment_check(rec, now) {
            NextStep::Register { .. } | NextStep::Reregister { .. } => Ok(()),
            _ => Err(Error::MfaRequired),
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "private helper: the proof and the choice, plus the engine's time, randomness and audit"
    )]
    pub(super) fn signed_in(
        &self,
        rec: &UserRecord,
        verified: Verified,
        first: FirstFactor,
        remember_device: bool,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> SignedIn {
        let primary: Vec<&str> = first.amr().into_iter().collect();
        let session = self.issue_session(rec, &verified, &primary, now, rng, audit);
        let device = remember_device.then(|| {
            let (token, expires_at) = self.issue_device_token(rec, &verified, now, rng, audit);
            DeviceToken {
                token: SecretString::new(token),
                expires_at,
            }
        });
        SignedIn {
            verified,
            session: SecretString::new(session),
            session_expires_at: now + u64::from(self.policy.session_lifetime_secs),
            device,
        }
    }
}

fn caller_of(claims: SessionClaims, mfa: bool) -> SignInCaller {
    SignInCaller {
        first_factor: FirstFactor::from_amr(&claims.amr),
        auth_time: mfa.then_some(claims.auth_time.unwrap_or(claims.iat)),
        user_id: claims.sub,
        mfa,
        expires_at: claims.exp,
    }
}
