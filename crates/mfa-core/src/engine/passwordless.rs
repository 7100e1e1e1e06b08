//! Passwordless sign-in with a passkey, for a person not known yet: the
//! browser offers the site's passkeys in the user-name field's autofill
//! (conditional mediation) or in its own dialog, and the key that answers
//! names its user by the user handle it was created for.
//!
//! There is no record to keep the ceremony in before the user is known, so
//! the engine signs it: [`Engine::begin_passkey_discovery`] returns the
//! options with a short-lived token of kind [`crate::TokenKind::PasskeySignIn`]
//! whose `jti` is the challenge. The host finds the user by
//! [`Engine::passkey_user_handle`] (its store indexes
//! [`UserRecord::passkey_handle`]) and hands both to
//! [`Engine::finish_passkey_discovery`], which checks the token, the key,
//! user verification, and that this ceremony was not answered before (the
//! user's record keeps the ones answered until they expire), then issues
//! the session. The host stores the record after each call, as for every
//! other method.
use serde::Serialize;

use crate::audit::AuditEvent;
use crate::record::UserRecord;
use crate::{Error, RandomSource, UnixTime};

use super::{Engine, SignedIn};

/// Passwordless sign-ins one user may have answered within one ceremony
/// lifetime (five minutes at most); more are refused until the oldest
/// expires.
pub const MAX_RECENT_PASSKEY_SIGN_INS: usize = 16;

/// The start of a passwordless sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeyDiscovery {
    /// `PublicKeyCredentialRequestOptionsJSON` as JSON text: no
    /// `allowCredentials` (any of the site's passkeys may answer), user
    /// verification required.
    pub options: String,
    /// When the request expires.
    pub expires_at: UnixTime,
    /// The signed ceremony (a JWT of kind [`crate::TokenKind::PasskeySignIn`]) to
    /// present with the answer. It proves nothing about anyone.
    pub ceremony: String,
}

#[cfg(not(feature = "webauthn"))]
impl Engine {
    /// Passkeys need the `webauthn` feature: without it, refused.
    pub fn begin_passkey_discovery(
        &self,
        _now: UnixTime,
        _rng: &mut dyn RandomSource,
    ) -> Result<PasskeyDiscovery, Error> {
        Err(Error::MethodNotAllowed { method: "passkey" })
    }

    /// Passkeys need the `webauthn` feature: without it, refused.
    pub fn passkey_user_handle(&self, _response: &str) -> Result<String, Error> {
        Err(Error::MethodNotAllowed { method: "passkey" })
    }

    /// Passkeys need the `webauthn` feature: without it, refused.
    #[allow(
        clippy::too_many_arguments,
        reason = "the same call as with the feature"
    )]
    pub fn finish_passkey_discovery(
        &self,
        _rec: &mut UserRecord,
        _ceremony: &str,
        _response: &str,
        _remember_device: bool,
        _now: UnixTime,
        _rng: &mut dyn RandomSource,
        _audit: &mut Vec<AuditEvent>,
    ) -> Result<SignedIn, Error> {
        Err(Error::MethodNotAllowed { method: "passkey" })
    }
}

#[cfg(feature = "webauthn")]
mod ceremonies {
    use super::*;
    use crate::audit::AuditKind;
    use crate::encoding::{b64url, b64url_decode};
    use crate::policy::MethodType;
    use crate::record::UsedCeremony;
    use crate::token::{self, TokenKind};
    use crate::webauthn::{self, AssertionResponse, Ceremony, UserVerification, WebauthnError};

    use super::super::FirstFactor;

    impl Engine {
        fn discovery_policy(&self) -> Result<webauthn::CeremonyPolicy, Error> {
            Ok(webauthn::CeremonyPolicy {
                user_verification: UserVerification::Required,
                ..self.ceremony_policy()?
            })
        }

        /// Start a passwordless sign-in: options that let any of the site's
        /// passkeys answer (for `mediation: "conditional"` in the user-name
        /// field, or a "Sign in with a passkey" button), with user
        /// verification required since the key is the only factor. Anyone
        /// may call it; it keeps nothing.
        pub fn begin_passkey_discovery(
            &self,
            now: UnixTime,
            rng: &mut dyn RandomSource,
        ) -> Result<PasskeyDiscovery, Error> {
            let rp = self.relying_party()?;
            let policy = self.discovery_policy()?;
            let (ceremony, options) = webauthn::start_authentication(&rp, &policy, &[], now, rng);
            let expires_at = ceremony.expires_at();
            let mut claims = self.claims(
                "",
                Vec::new(),
                now,
                expires_at.saturating_sub(now),
                TokenKind::PasskeySignIn,
                None,
                rng,
            );
            claims.jti = b64url(&ceremony.challenge);
            Ok(PasskeyDiscovery {
                options: options.to_string(),
                expires_at,
                ceremony: token::sign(self.keys(), &claims),
            })
        }

        /// The user handle (base64url) a passwordless sign-in's answer names:
        /// the host looks the user up by it ([`UserRecord::passkey_handle`]).
        /// Nothing is verified yet.
        pub fn passkey_user_handle(&self, response: &str) -> Result<String, Error> {
            let parsed = AssertionResponse::from_json(response)?;
            parsed.user_handle.as_deref().map(b64url).ok_or_else(|| {
                WebauthnError::MalformedResponse {
                    field: "userHandle",
                    reason: "a sign-in without a user name needs the passkey's user handle".into(),
                }
                .into()
            })
        }

        /// Finish a passwordless sign-in for the user the answer named: the
        /// ceremony token must be this engine's, unexpired and not answered
        /// before by this user; the key must be the user's, verify the
        /// person, and sign the ceremony's challenge for an allowed origin.
        /// Issues the session (no password: `amr` is the key's, `hwk` or
        /// `swk`, with `user` and `mfa`), plus a remembered-device token when
        /// `remember_device`.
        #[allow(
            clippy::too_many_arguments,
            reason = "one user action: the ceremony, what the browser answered and the choice, plus the engine's time, randomness and audit"
        )]
        pub fn finish_passkey_discovery(
            &self,
            rec: &mut UserRecord,
            ceremony: &str,
            response: &str,
            remember_device: bool,
            now: UnixTime,
            rng: &mut dyn RandomSource,
            audit: &mut Vec<AuditEvent>,
        ) -> Result<SignedIn, Error> {
            let rp = self.relying_party()?;
            let policy = self.discovery_policy()?;
            let p = self.policy();
            let claims = token::verify(
                self.keys(),
                ceremony,
                &p.issuer,
                &p.audience,
                TokenKind::PasskeySignIn,
                now,
            )
            .map_err(|e| match e {
                Error::TokenExpired => WebauthnError::CeremonyExpired.into(),
                other => other,
            })?;
            let challenge = b64url_decode(&claims.jti).ok_or(Error::MalformedToken {
                reason: "the passkey request's challenge is not base64url",
            })?;
            if rec.throttle.locked_out() {
                return Err(Error::LockedOut);
            }
            if rec.must_reregister() {
                return Err(WebauthnError::PasswordRequired.into());
            }
            let verified = self.with(rec, now, audit, |e, ctx| {
                let before = ctx.rec.used_ceremonies.len();
                ctx.rec.used_ceremonies.retain(|u| u.expires_at > now);
                if ctx.rec.used_ceremonies.len() != before {
                    ctx.touch();
                }
                if ctx.rec.used_ceremonies.iter().any(|u| u.id == claims.jti) {
                    ctx.event(AuditKind::ReplayRefused, Some(MethodType::Passkey));
                    return Err(WebauthnError::CeremonyUsed.into());
                }
                if ctx.rec.used_ceremonies.len() >= MAX_RECENT_PASSKEY_SIGN_INS {
                    let until = ctx.rec.used_ceremonies.iter().map(|u| u.expires_at).min();
                    return Err(Error::RetryLater {
                        until: until.unwrap_or(now),
                    });
                }
                let ceremony = Ceremony::recorded_authentication(
                    &challenge,
                    claims.exp,
                    UserVerification::Required,
                    &[],
                );
                let verified = e.check_assertion(ctx, &rp, &ceremony, &policy, response, false)?;
                ctx.rec.used_ceremonies.push(UsedCeremony {
                    id: claims.jti.clone(),
                    expires_at: claims.exp,
                });
                ctx.touch();
                Ok(verified)
            })?;
            Ok(self.signed_in(
                rec,
                verified,
                FirstFactor::Passkey,
                remember_device,
                now,
                rng,
                audit,
            ))
        }
    }
}
