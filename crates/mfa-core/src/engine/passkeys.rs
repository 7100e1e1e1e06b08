//! Passkeys and security keys as a sign-in method: registering one (at
//! "Set it up now" or from Security info) and signing in with one, over the
//! sans-IO ceremonies of [`crate::webauthn`]. The ceremony in progress is
//! kept in the user's record and used once: the host stores the record after
//! each call, as for every other method.
use serde::Serialize;

use crate::audit::AuditEvent;
use crate::record::UserRecord;
use crate::{Error, RandomSource, UnixTime};

use super::{Engine, Registered, Standing, Verified};

/// Longest passkey name, in characters.
pub const MAX_PASSKEY_NAME_CHARS: usize = 64;

/// The options a passkey ceremony starts with, for
/// `PublicKeyCredential.parseCreationOptionsFromJSON` (registering) or
/// `parseRequestOptionsFromJSON` (signing in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PasskeyOptions {
    /// `PublicKeyCredentialCreationOptionsJSON` or
    /// `PublicKeyCredentialRequestOptionsJSON`, as JSON text.
    pub options: String,
    /// When the ceremony's challenge expires.
    pub expires_at: UnixTime,
}

#[cfg(not(feature = "webauthn"))]
fn unavailable<T>() -> Result<T, Error> {
    Err(Error::MethodNotAllowed { method: "passkey" })
}

#[cfg(not(feature = "webauthn"))]
impl Engine {
    /// Passkeys need the `webauthn` feature: without it, refused.
    pub fn begin_passkey(
        &self,
        _rec: &mut UserRecord,
        _now: UnixTime,
        _rng: &mut dyn RandomSource,
        _audit: &mut Vec<AuditEvent>,
    ) -> Result<PasskeyOptions, Error> {
        unavailable()
    }

    /// Passkeys need the `webauthn` feature: without it, refused.
    #[allow(
        clippy::too_many_arguments,
        reason = "the same call as with the feature"
    )]
    pub fn finish_passkey_registration(
        &self,
        _rec: &mut UserRecord,
        _standing: Standing<'_>,
        _response: &str,
        _name: &str,
        _remember_device: bool,
        _now: UnixTime,
        _rng: &mut dyn RandomSource,
        _audit: &mut Vec<AuditEvent>,
    ) -> Result<Registered, Error> {
        unavailable()
    }

    /// Passkeys need the `webauthn` feature: without it, refused.
    pub fn begin_passkey_sign_in(
        &self,
        _rec: &mut UserRecord,
        _standing: Standing<'_>,
        _now: UnixTime,
        _rng: &mut dyn RandomSource,
        _audit: &mut Vec<AuditEvent>,
    ) -> Result<PasskeyOptions, Error> {
        unavailable()
    }

    pub(super) fn verify_passkey(
        &self,
        _rec: &mut UserRecord,
        _response: &str,
        _now: UnixTime,
        _audit: &mut Vec<AuditEvent>,
    ) -> Result<Verified, Error> {
        unavailable()
    }
}

#[cfg(feature = "webauthn")]
mod ceremonies {
    use super::*;
    use crate::audit::{AuditKind, FailureReason};
    use crate::encoding::{b64url, b64url_decode};
    use crate::policy::MethodType;
    use crate::record::{PasskeyCeremony, StoredKind, StoredPasskey};
    use crate::throttle::Factor;
    use crate::webauthn::{
        self, AssertionResponse, Ceremony, CeremonyPolicy, CounterPolicy, CredentialDescriptor,
        RegistrationResponse, RelyingParty, StoredCredential, User, UserVerification,
    };

    use super::super::{Confirmed, Ctx};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn passkeys(rec: &UserRecord) -> impl Iterator<Item = &StoredPasskey> {
        rec.methods.iter().filter_map(|m| match &m.kind {
            StoredKind::Passkey(p) => Some(p),
            _ => None,
        })
    }

    fn descriptors(rec: &UserRecord) -> Vec<CredentialDescriptor> {
        passkeys(rec)
            .map(|p| CredentialDescriptor {
                id: p.credential_id.clone(),
                transports: p.transports.clone(),
            })
            .collect()
    }

    /// A name a person gave a key: trimmed, 1 to 64 characters, no control characters.
    fn passkey_name(name: &str, rec: &UserRecord) -> Result<String, Error> {
        let name = name.trim();
        if name.is_empty() {
            return Ok(format!("Passkey {}", passkeys(rec).count() + 1));
        }
        if name.chars().count() > MAX_PASSKEY_NAME_CHARS {
            return Err(Error::input(
                "name",
                format!("a passkey's name is at most {MAX_PASSKEY_NAME_CHARS} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::input(
                "name",
                "a passkey's name cannot contain control characters",
            ));
        }
        Ok(name.to_string())
    }

    impl Engine {
        pub(in crate::engine) fn relying_party(&self) -> Result<RelyingParty, Error> {
            if !self.policy.allows(MethodType::Passkey) {
                return Err(Error::MethodNotAllowed { method: "passkey" });
            }
            self.policy.passkeys.relying_party(&self.policy.issuer)
        }

        pub(in crate::engine) fn ceremony_policy(&self) -> Result<CeremonyPolicy, Error> {
            let p = &self.policy.passkeys;
            Ok(CeremonyPolicy {
                user_verification: if p.require_user_verification {
                    UserVerification::Required
                } else {
                    UserVerification::Preferred
                },
                allowed_aaguids: p.aaguids()?,
                sign_count_regression: if p.accept_sign_count_regression {
                    CounterPolicy::Audit
                } else {
                    CounterPolicy::Refuse
                },
                lifetime_secs: u64::from(self.policy.registration_lifetime_secs).min(300),
                ..CeremonyPolicy::default()
            })
        }

        /// Take the ceremony in progress (it is used once, whatever the answer).
        /// A response of the other kind is refused by the ceremony itself
        /// (`WrongCeremony`), after the ceremony was used up.
        fn take_ceremony(ctx: &mut Ctx<'_>) -> Result<Ceremony, Error> {
            let c = ctx
                .rec
                .passkey_ceremony
                .take()
                .ok_or(webauthn::WebauthnError::CeremonyExpired)?;
            ctx.touch();
            let uv = if c.user_verification_required {
                UserVerification::Required
            } else {
                UserVerification::Preferred
            };
            let allow: Vec<Vec<u8>> = c.allow.iter().filter_map(|a| b64url_decode(a)).collect();
            let allow: Vec<&[u8]> = allow.iter().map(Vec::as_slice).collect();
            let ceremony = if c.registering {
                Ceremony::recorded_registration(&c.challenge, c.expires_at, uv)
            } else {
                Ceremony::recorded_authentication(&c.challenge, c.expires_at, uv, &allow)
            };
            Ok(ceremony)
        }

        fn keep_ceremony(ctx: &mut Ctx<'_>, ceremony: &Ceremony, registering: bool) {
            ctx.rec.passkey_ceremony = Some(PasskeyCeremony {
                registering,
                challenge: ceremony.challenge.clone(),
                expires_at: ceremony.expires_at(),
                user_verification_required: ceremony.user_verification
                    == UserVerification::Required,
                allow: ceremony.allow.iter().map(|a| b64url(a)).collect(),
            });
            ctx.touch();
        }

        /// Start registering a passkey or security key: the options for
        /// `navigator.credentials.create` (the user's keys excluded, a
        /// resident key preferred, user verification per the policy). The
        /// host authorises the caller first ([`super::super::Action::AddMethod`]).
        /// A new start replaces a ceremony in progress.
        pub fn begin_passkey(
            &self,
            rec: &mut UserRecord,
            now: UnixTime,
            rng: &mut dyn RandomSource,
            audit: &mut Vec<AuditEvent>,
        ) -> Result<PasskeyOptions, Error> {
            let rp = self.relying_party()?;
            let policy = self.ceremony_policy()?;
            self.with(rec, now, audit, |e, ctx| {
                e.check_room(ctx)?;
                let max = e.policy.passkeys.max_per_user;
                if passkeys(ctx.rec).count() >= usize::from(max) {
                    return Err(Error::input(
                        "passkey",
                        format!("at most {max} passkeys can be registered; remove one first"),
                    ));
                }
                let handle = match ctx.rec.passkey_handle.as_deref().and_then(b64url_decode) {
                    Some(h) => h,
                    None => {
                        let mut h = vec![0u8; 32];
                        rng.fill(&mut h);
                        ctx.rec.passkey_handle = Some(b64url(&h));
                        h
                    }
                };
                let user_id = ctx.rec.user_id.clone();
                let user = User {
                    handle: &handle,
                    name: &user_id,
                    display_name: &user_id,
                };
                let (ceremony, options) = webauthn::start_registration(
                    &rp,
                    &policy,
                    user,
                    &descriptors(ctx.rec),
                    now,
                    rng,
                )?;
                Self::keep_ceremony(ctx, &ceremony, true);
                ctx.event(AuditKind::RegistrationStarted, Some(MethodType::Passkey));
                Ok(PasskeyOptions {
                    options: options.to_string(),
                    expires_at: ceremony.expires_at(),
                })
            })
        }

        /// Finish registering a passkey with the browser's
        /// `RegistrationResponseJSON`, and name it (empty: "Passkey N").
        /// Like [`Engine::finish_registration`]: during "Set it up now" the
        /// new key is the sign-in's second factor and the session is issued
        /// in the same call.
        #[allow(
            clippy::too_many_arguments,
            reason = "one user action: who, what the browser answered, the name and the choice, plus the engine's time, randomness and audit"
        )]
        pub fn finish_passkey_registration(
            &self,
            rec: &mut UserRecord,
            standing: Standing<'_>,
            response: &str,
            name: &str,
            remember_device: bool,
            now: UnixTime,
            rng: &mut dyn RandomSource,
            audit: &mut Vec<AuditEvent>,
        ) -> Result<Registered, Error> {
            let (first, mfa) = self.standing(rec, standing, now)?;
            if !mfa {
                self.check_may_register(rec, now)?;
            }
            let rp = self.relying_party()?;
            let policy = self.ceremony_policy()?;
            let name = passkey_name(name, rec)?;
            let (id, backup_eligible, user_verified, recovery_codes) =
                self.with(rec, now, audit, |e, ctx| {
                    let ceremony = Self::take_ceremony(ctx)?;
                    ctx.rec.throttle.check(Factor::Passkey, now)?;
                    let registered: Vec<Vec<u8>> =
                        passkeys(ctx.rec).map(|p| p.credential_id.clone()).collect();
                    let registered: Vec<&[u8]> = registered.iter().map(Vec::as_slice).collect();
                    let checked = RegistrationResponse::from_json(response).and_then(|r| {
                        webauthn::finish_registration(&rp, &ceremony, &policy, &registered, &r, now)
                    });
                    let cred = match checked {
                        Ok(c) => c,
                        Err(err) => {
                            let err = Error::from(err);
                            e.failed(ctx, Factor::Passkey, &err, Some(MethodType::Passkey));
                            return Err(err);
                        }
                    };
                    ctx.rec.throttle.succeed(Factor::Passkey);
                    let (backup_eligible, user_verified) =
                        (cred.backup_eligible, cred.user_verified);
                    let kind = StoredKind::Passkey(StoredPasskey {
                        name,
                        credential_id: cred.credential_id,
                        public_key: cred.public_key,
                        algorithm: cred.algorithm.id(),
                        aaguid: hex(&cred.aaguid),
                        sign_count: cred.sign_count,
                        backup_eligible: cred.backup_eligible,
                        backed_up: cred.backed_up,
                        user_verified: cred.user_verified,
                        transports: cred.transports,
                    });
                    let (id, codes) = e.add_method(ctx, kind, None, rng)?;
                    Ok((id, backup_eligible, user_verified, codes))
                })?;
            let confirmed = Confirmed {
                method_id: id,
                matched: None,
                recovery_codes,
            };
            let second = (!mfa).then(|| Verified::by_passkey(id, backup_eligible, user_verified));
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

        /// Start a sign-in with one of the user's passkeys: the options for
        /// `navigator.credentials.get`, offering the user's keys. The caller
        /// presents the login token of this user (or a session, to verify
        /// again); the answer goes to [`Engine::finish_sign_in`] as
        /// [`super::super::Proof::Passkey`].
        pub fn begin_passkey_sign_in(
            &self,
            rec: &mut UserRecord,
            standing: Standing<'_>,
            now: UnixTime,
            rng: &mut dyn RandomSource,
            audit: &mut Vec<AuditEvent>,
        ) -> Result<PasskeyOptions, Error> {
            self.standing(rec, standing, now)?;
            let rp = self.relying_party()?;
            let policy = self.ceremony_policy()?;
            self.with(rec, now, audit, |_, ctx| {
                let allow = descriptors(ctx.rec);
                if allow.is_empty() {
                    return Err(Error::UnknownMethod);
                }
                ctx.rec.throttle.check(Factor::Passkey, now)?;
                let (ceremony, options) =
                    webauthn::start_authentication(&rp, &policy, &allow, now, rng);
                Self::keep_ceremony(ctx, &ceremony, false);
                Ok(PasskeyOptions {
                    options: options.to_string(),
                    expires_at: ceremony.expires_at(),
                })
            })
        }

        /// Check the browser's `AuthenticationResponseJSON` against the
        /// ceremony in progress and the key it names; store the new sign
        /// count. A count that went back is refused, or audited when the
        /// policy accepts it.
        pub(in crate::engine) fn verify_passkey(
            &self,
            rec: &mut UserRecord,
            response: &str,
            now: UnixTime,
            audit: &mut Vec<AuditEvent>,
        ) -> Result<Verified, Error> {
            let rp = self.relying_party()?;
            let policy = self.ceremony_policy()?;
            self.with(rec, now, audit, |e, ctx| {
                let ceremony = Self::take_ceremony(ctx)?;
                e.check_assertion(ctx, &rp, &ceremony, &policy, response, true)
            })
        }

        /// Check an `AuthenticationResponseJSON` against `ceremony` and the
        /// user's key it names, and store the key's new sign count. Failures
        /// are audited, and count against the user's passkey throttle when
        /// `count_failures` (a caller who passed the password; anyone can
        /// send a passwordless answer naming a user, and must not lock them).
        pub(in crate::engine) fn check_assertion(
            &self,
            ctx: &mut Ctx<'_>,
            rp: &RelyingParty,
            ceremony: &Ceremony,
            policy: &CeremonyPolicy,
            response: &str,
            count_failures: bool,
        ) -> Result<Verified, Error> {
            let now = ctx.now;
            let e = self;
            {
                ctx.rec.throttle.check(Factor::Passkey, now)?;
                let parsed = AssertionResponse::from_json(response);
                let handle = ctx
                    .rec
                    .passkey_handle
                    .as_deref()
                    .and_then(b64url_decode)
                    .unwrap_or_default();
                let found = parsed.as_ref().ok().and_then(|r| {
                    ctx.rec.methods.iter().find_map(|m| match &m.kind {
                        StoredKind::Passkey(p) if p.credential_id == r.credential_id => {
                            Some((m.id, p.clone()))
                        }
                        _ => None,
                    })
                });
                let checked = match (&parsed, &found) {
                    (Err(err), _) => Err(err.clone()),
                    (Ok(_), None) => Err(webauthn::WebauthnError::UnknownCredential),
                    (Ok(r), Some((_, p))) => webauthn::finish_authentication(
                        rp,
                        ceremony,
                        policy,
                        StoredCredential {
                            credential_id: &p.credential_id,
                            public_key: &p.public_key,
                            sign_count: p.sign_count,
                            user_handle: &handle,
                            backup_eligible: p.backup_eligible,
                        },
                        r,
                        now,
                    ),
                };
                let result = match checked {
                    Ok(r) => r,
                    Err(err) => {
                        let err = Error::from(err);
                        if count_failures {
                            e.failed(ctx, Factor::Passkey, &err, Some(MethodType::Passkey));
                        } else {
                            ctx.event(
                                AuditKind::VerificationFailed {
                                    reason: FailureReason::from(&err),
                                },
                                Some(MethodType::Passkey),
                            );
                        }
                        return Err(err);
                    }
                };
                let (id, stored) = found.ok_or(Error::UnknownMethod)?;
                let m = ctx.rec.method_mut(id)?;
                if let StoredKind::Passkey(p) = &mut m.kind {
                    p.sign_count = result.sign_count;
                    p.backed_up = result.backed_up;
                }
                m.last_used_at = Some(now);
                ctx.rec.throttle.succeed(Factor::Passkey);
                ctx.touch();
                if result.counter_regressed {
                    ctx.event(
                        AuditKind::PasskeySignCountRegressed { method_id: id },
                        Some(MethodType::Passkey),
                    );
                }
                ctx.event(
                    AuditKind::VerificationSucceeded {
                        method_id: Some(id),
                    },
                    Some(MethodType::Passkey),
                );
                Ok(Verified::by_passkey(
                    id,
                    stored.backup_eligible,
                    result.user_verified,
                ))
            }
        }
    }
}
