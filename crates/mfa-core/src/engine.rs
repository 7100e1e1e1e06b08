//! The engine: every rule of enrolment, verification, app passwords, tokens and
//! admin operations, over a [`UserRecord`].
use serde::{Deserialize, Serialize};

use crate::app_password::{
    self, AppPasswordCredential, AppPasswordMatch, NewAppPassword, ParsedAppPassword,
};
use crate::audit::{AuditEvent, AuditKind, FailureReason};
use crate::challenge::{Challenge, Delivery, Target, compose, random_code};
use crate::contact::{EmailAddress, PhoneNumber};
use crate::hash::hash_password;
use crate::keys::Keys;
use crate::otp::{self, Generator, Hotp, OtpMatch, Totp};
use crate::otpauth::{OtpAuthUri, OtpKind};
use crate::policy::{MethodType, Policy};
use crate::record::{
    MethodId, MfaState, Pending, PhoneChannel, StoredKind, StoredMethod, UserRecord,
};
use crate::recovery::{RecoveryCodes, RecoverySet};
use crate::secret::{SecretBytes, SecretString};
use crate::throttle::{AfterFailure, Factor};
use crate::token::{self, Jwks, SessionClaims, TokenKind};
use crate::{Error, RandomSource, UnixTime};

/// New authenticator secrets are 160 bits (RFC 4226 §4 recommends it).
const NEW_SECRET_BYTES: usize = 20;
/// Imported secrets shorter than this need `allow_short_secrets`.
const MIN_SECRET_BYTES: usize = 16;
/// Most sign-in methods one user may register: a record with every method
/// stays far below the size hosts read, so it can never lock its user out.
pub const MAX_METHODS: usize = 16;
/// Highest HOTP counter an imported token may start at (2^53 − 1: exact in
/// JavaScript, and far from the end of the counter's range).
pub const MAX_HOTP_COUNTER: u64 = (1 << 53) - 1;

/// What the sign-in must do next, from [`Engine::enrollment_check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum NextStep {
    /// Nothing: MFA is off for this user.
    Continue,
    /// "Set it up now": the user must register a method.
    Register {
        /// Methods the user may choose from.
        allowed: Vec<MethodType>,
    },
    /// The admin required the user to provide contact methods again.
    Reregister {
        /// Methods the user may choose from.
        allowed: Vec<MethodType>,
    },
    /// Ask for a second factor.
    Verify {
        /// The default method.
        default: MethodId,
        /// Every usable method (not locked, still allowed by policy).
        methods: Vec<MethodId>,
        /// Whether recovery codes are available.
        recovery_codes: bool,
    },
    /// Every method is locked.
    Locked {
        /// When the earliest lock ends.
        until: UnixTime,
    },
}

/// A registration that has started.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Registration {
    /// Show the QR code of `uri` (or the manual key) and ask for a code from the app.
    Authenticator {
        /// The otpauth URI (secret inside).
        uri: SecretString,
        /// The secret in base32 groups, for manual entry.
        manual_key: SecretString,
        /// Issuer and account as the app will show them.
        issuer: String,
        /// Account label.
        account: String,
        /// When the registration expires.
        expires_at: UnixTime,
    },
    /// A code was sent; deliver it and ask for it.
    CodeSent {
        /// What to deliver.
        delivery: Delivery,
    },
}

/// A successful second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The method used (absent for a recovery code).
    pub method_id: Option<MethodId>,
    /// Its type (absent for a recovery code).
    pub method_type: Option<MethodType>,
    /// For authenticator codes: which step or counter matched.
    pub matched: Option<OtpMatch>,
    /// RFC 8176 `amr` values for this factor.
    pub amr: Vec<String>,
    /// Recovery codes left, when one was used.
    pub recovery_codes_left: Option<u8>,
}

/// The result of confirming a registration.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmed {
    /// The new method.
    pub method_id: MethodId,
    /// For authenticator apps: the step offset of the code, to warn about a wrong phone clock.
    pub matched: Option<OtpMatch>,
    /// Recovery codes, handed out when the first registration completes.
    pub recovery_codes: Option<RecoveryCodes>,
}

/// The engine: a validated [`Policy`] and the [`Keys`]. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    policy: Policy,
    keys: Keys,
}

struct Ctx<'a> {
    rec: &'a mut UserRecord,
    audit: &'a mut Vec<AuditEvent>,
    now: UnixTime,
}

impl Ctx<'_> {
    fn event(&mut self, kind: AuditKind, method: Option<MethodType>) {
        self.audit.push(AuditEvent {
            at: self.now,
            user_id: self.rec.user_id.clone(),
            actor: None,
            method,
            kind,
        });
    }
    fn admin_event(&mut self, actor: &str, kind: AuditKind) {
        self.audit.push(AuditEvent {
            at: self.now,
            user_id: self.rec.user_id.clone(),
            actor: Some(actor.to_string()),
            method: None,
            kind,
        });
    }
    fn touch(&mut self) {
        self.rec.touch(self.now);
    }
}

fn factor_of(kind: &StoredKind) -> Factor {
    match kind {
        StoredKind::Totp { .. } | StoredKind::Hotp { .. } => Factor::Authenticator,
        StoredKind::Phone { .. } => Factor::Phone,
        StoredKind::Email { .. } => Factor::Email,
    }
}

fn amr_of(t: MethodType) -> Vec<String> {
    let v = match t {
        MethodType::AuthenticatorApp | MethodType::Email => "otp",
        MethodType::Text => "sms",
        MethodType::Call => "tel",
    };
    vec![v.to_string()]
}

impl Engine {
    /// An engine for this policy and these keys; the policy is validated.
    pub fn new(policy: Policy, keys: Keys) -> Result<Self, Error> {
        policy.validate()?;
        Ok(Self { policy, keys })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The public signing keys as a JWKS.
    pub fn jwks(&self) -> Jwks {
        Jwks::from_keys(&self.keys)
    }

    fn with<T>(
        &self,
        rec: &mut UserRecord,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
        f: impl FnOnce(&Self, &mut Ctx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut ctx = Ctx { rec, audit, now };
        let r = f(self, &mut ctx);
        ctx.rec.finish();
        r
    }

    fn allowed(&self) -> Vec<MethodType> {
        MethodType::ALL
            .iter()
            .copied()
            .filter(|m| self.policy.allows(*m))
            .collect()
    }

    fn usable(&self, m: &StoredMethod) -> bool {
        self.policy.allows(m.kind.method_type())
            || matches!(m.kind, StoredKind::Phone { .. })
                && (self.policy.allows(MethodType::Text) || self.policy.allows(MethodType::Call))
    }

    // ----- enrolment ------------------------------------------------------

    /// What the sign-in must do next for this user. Does not change the record.
    pub fn enrollment_check(&self, rec: &UserRecord, now: UnixTime) -> NextStep {
        if rec.state == MfaState::Disabled {
            return NextStep::Continue;
        }
        if rec.reregister_since.is_some() {
            return NextStep::Reregister {
                allowed: self.allowed(),
            };
        }
        let registered: Vec<&StoredMethod> =
            rec.methods.iter().filter(|m| self.usable(m)).collect();
        if registered.is_empty() {
            return NextStep::Register {
                allowed: self.allowed(),
            };
        }
        let mut open = Vec::new();
        let mut earliest: Option<UnixTime> = None;
        for m in &registered {
            match rec.throttle.locked_until(factor_of(&m.kind), now) {
                Some(until) => earliest = Some(earliest.map_or(until, |e: UnixTime| e.min(until))),
                None => open.push(m.id),
            }
        }
        let recovery = rec.recovery_codes_left() > 0
            && rec.throttle.locked_until(Factor::Recovery, now).is_none();
        if open.is_empty() && !recovery {
            return NextStep::Locked {
                until: earliest.unwrap_or(now),
            };
        }
        let default = rec
            .default_method
            .filter(|d| open.contains(d))
            .or_else(|| open.first().copied());
        match default {
            Some(default) => NextStep::Verify {
                default,
                methods: open,
                recovery_codes: recovery,
            },
            // Only recovery codes are usable: offer them through the default id of a locked method.
            None => NextStep::Verify {
                default: rec.default_method.unwrap_or(registered[0].id),
                methods: Vec::new(),
                recovery_codes: true,
            },
        }
    }

    fn check_allowed(&self, t: MethodType) -> Result<(), Error> {
        if self.policy.allows(t) {
            Ok(())
        } else {
            Err(Error::MethodNotAllowed { method: t.as_str() })
        }
    }

    /// Refuse a new method when the user already has [`MAX_METHODS`] (those a
    /// re-registration will replace do not count).
    fn check_room(&self, ctx: &Ctx<'_>) -> Result<(), Error> {
        let kept = match ctx.rec.reregister_since {
            Some(since) => ctx
                .rec
                .methods
                .iter()
                .filter(|m| m.added_at > since)
                .count(),
            None => ctx.rec.methods.len(),
        };
        if kept >= MAX_METHODS {
            return Err(Error::input(
                "method",
                format!(
                    "at most {MAX_METHODS} sign-in methods can be registered; remove one first"
                ),
            ));
        }
        Ok(())
    }

    fn start_pending(&self, ctx: &mut Ctx<'_>, kind: StoredKind) {
        ctx.rec.pending = Some(Pending {
            kind,
            started_at: ctx.now,
            expires_at: ctx.now + u64::from(self.policy.registration_lifetime_secs),
        });
        if matches!(
            ctx.rec.challenge,
            Some(Challenge {
                target: Target::Registration,
                ..
            })
        ) {
            ctx.rec.challenge = None;
        }
        ctx.touch();
        ctx.event(AuditKind::RegistrationStarted, None);
    }

    /// Start registering an authenticator app with a new 160-bit secret. `account`
    /// is the label the app shows (defaults to the user id).
    pub fn begin_authenticator(
        &self,
        rec: &mut UserRecord,
        account: Option<&str>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Registration, Error> {
        self.with(rec, now, audit, |e, ctx| {
            e.check_allowed(MethodType::AuthenticatorApp)?;
            e.check_room(ctx)?;
            let secret = SecretBytes::random(rng, NEW_SECRET_BYTES);
            let account = account
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .unwrap_or(&ctx.rec.user_id)
                .to_string();
            let params = e.policy.totp;
            let uri = OtpAuthUri::new(
                OtpKind::Totp {
                    period: params.period,
                },
                Some(e.policy.issuer.clone()),
                account.clone(),
                params.algorithm,
                params.digits,
                secret.expose(),
            );
            let seed = e.keys.seal(&ctx.rec.user_id, secret.expose(), rng);
            e.start_pending(
                ctx,
                StoredKind::Totp {
                    params,
                    seed,
                    last_step: None,
                },
            );
            Ok(Registration::Authenticator {
                uri: uri.to_uri(),
                manual_key: uri.secret_base32(),
                issuer: e.policy.issuer.clone(),
                account,
                expires_at: ctx.rec.pending.as_ref().map_or(now, |p| p.expires_at),
            })
        })
    }

    /// Start registering an existing generator from its otpauth URI (for example a
    /// hardware HOTP token). Secrets under 128 bits need `allow_short_secrets`.
    pub fn begin_import(
        &self,
        rec: &mut UserRecord,
        uri: &str,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |e, ctx| {
            e.check_allowed(MethodType::AuthenticatorApp)?;
            e.check_room(ctx)?;
            let (parsed, _warnings) = OtpAuthUri::parse(uri)?;
            if let OtpKind::Hotp { counter } = parsed.kind
                && counter > MAX_HOTP_COUNTER
            {
                return Err(Error::input(
                    "counter",
                    format!(
                        "a HOTP counter must be at most {MAX_HOTP_COUNTER}; this token's counter is too close to the end of its range"
                    ),
                ));
            }
            if parsed.secret().len() < MIN_SECRET_BYTES && !e.policy.allow_short_secrets {
                return Err(Error::InvalidSecret {
                    reason: format!(
                        "the secret has {} bits; at least 128 are required unless the policy allows short secrets",
                        parsed.secret().len() * 8
                    ),
                });
            }
            let seed = e.keys.seal(&ctx.rec.user_id, parsed.secret(), rng);
            let kind = match parsed.kind {
                OtpKind::Totp { period } => StoredKind::Totp {
                    params: Totp { algorithm: parsed.algorithm, digits: parsed.digits, period },
                    seed,
                    last_step: None,
                },
                OtpKind::Hotp { counter } => StoredKind::Hotp {
                    params: Hotp { algorithm: parsed.algorithm, digits: parsed.digits },
                    seed,
                    counter,
                },
            };
            e.start_pending(ctx, kind);
            Ok(())
        })
    }

    /// Start registering an authentication phone; returns the code to deliver.
    pub fn begin_phone(
        &self,
        rec: &mut UserRecord,
        number: PhoneNumber,
        channel: PhoneChannel,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Registration, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let t = if channel == PhoneChannel::Text {
                MethodType::Text
            } else {
                MethodType::Call
            };
            e.check_allowed(t)?;
            e.check_room(ctx)?;
            e.start_pending(ctx, StoredKind::Phone { number, channel });
            let delivery = e.send(ctx, Target::Registration, rng)?;
            Ok(Registration::CodeSent { delivery })
        })
    }

    /// Start registering an authentication e-mail address; returns the code to deliver.
    pub fn begin_email(
        &self,
        rec: &mut UserRecord,
        address: &str,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Registration, Error> {
        self.with(rec, now, audit, |e, ctx| {
            e.check_allowed(MethodType::Email)?;
            e.check_room(ctx)?;
            let address = EmailAddress::parse(address, &e.policy.organisation_domains)?;
            e.start_pending(ctx, StoredKind::Email { address });
            let delivery = e.send(ctx, Target::Registration, rng)?;
            Ok(Registration::CodeSent { delivery })
        })
    }

    /// Send the registration code again (a new code replaces the old one).
    pub fn resend_registration_code(
        &self,
        rec: &mut UserRecord,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Delivery, Error> {
        self.with(rec, now, audit, |e, ctx| {
            e.send(ctx, Target::Registration, rng)
        })
    }

    fn send(
        &self,
        ctx: &mut Ctx<'_>,
        target: Target,
        rng: &mut dyn RandomSource,
    ) -> Result<Delivery, Error> {
        let kind = match target {
            Target::Registration => {
                let p = ctx
                    .rec
                    .pending
                    .as_ref()
                    .ok_or(Error::NoPendingRegistration)?;
                if ctx.now >= p.expires_at {
                    return Err(Error::RegistrationExpired);
                }
                p.kind.clone()
            }
            Target::SignIn(id) => ctx.rec.method(id)?.kind.clone(),
        };
        let (channel, destination, masked) = match &kind {
            StoredKind::Phone { number, channel } => {
                let t = if *channel == PhoneChannel::Text {
                    MethodType::Text
                } else {
                    MethodType::Call
                };
                (t, number.e164(), number.masked())
            }
            StoredKind::Email { address } => (
                MethodType::Email,
                address.as_str().to_string(),
                address.masked(),
            ),
            _ => return Err(Error::UnknownMethod),
        };
        ctx.rec.throttle.check(factor_of(&kind), ctx.now)?;
        let code = random_code(rng, self.policy.code_digits);
        let (subject, message) = compose(
            channel,
            &code,
            &self.policy.issuer,
            self.policy.code_lifetime_secs,
        );
        let challenge = Challenge::new(
            target,
            channel,
            &code,
            &ctx.rec.user_id,
            &self.keys,
            ctx.now,
            self.policy.code_lifetime_secs,
            self.policy.code_attempts,
            rng,
        );
        let expires_at = challenge.expires_at;
        ctx.rec.challenge = Some(challenge);
        ctx.touch();
        ctx.event(AuditKind::CodeSent, Some(channel));
        Ok(Delivery {
            channel,
            destination,
            masked_destination: masked,
            code: SecretString::new(code),
            subject,
            message: SecretString::new(message),
            expires_at,
        })
    }

    /// Check a code against the current challenge for `target`.
    fn check_challenge(&self, ctx: &mut Ctx<'_>, target: Target, code: &str) -> Result<(), Error> {
        let digits = self.policy.code_digits;
        let normalized = otp::normalize_code(code, digits)?;
        let now = ctx.now;
        let ch = match ctx.rec.challenge.as_mut() {
            Some(c) if c.target == target => c,
            _ => return Err(Error::NoActiveCode),
        };
        if now >= ch.expires_at || !ch.checkable(&self.keys) {
            ctx.rec.challenge = None;
            ctx.touch();
            return Err(Error::CodeExpired);
        }
        if ch.attempts_left == 0 {
            return Err(Error::AttemptsExhausted);
        }
        if ch.matches(&self.keys, &ctx.rec.user_id, &normalized) {
            ctx.rec.challenge = None;
            ctx.touch();
            Ok(())
        } else {
            ch.attempts_left -= 1;
            let exhausted = ch.attempts_left == 0;
            ctx.touch();
            Err(if exhausted {
                Error::AttemptsExhausted
            } else {
                Error::WrongCode
            })
        }
    }

    /// Prove the registration in progress with a code (from the app, or the one sent).
    /// Completing the first registration hands out recovery codes and moves the
    /// user from `enabled` to `enforced`.
    pub fn confirm_registration(
        &self,
        rec: &mut UserRecord,
        code: &str,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<crate::engine::Confirmed, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let pending = ctx
                .rec
                .pending
                .clone()
                .ok_or(Error::NoPendingRegistration)?;
            if now >= pending.expires_at {
                ctx.rec.pending = None;
                ctx.touch();
                return Err(Error::RegistrationExpired);
            }
            let factor = factor_of(&pending.kind);
            ctx.rec.throttle.check(factor, now)?;
            let mut kind = pending.kind.clone();
            let checked = match &mut kind {
                StoredKind::Totp {
                    params,
                    seed,
                    last_step,
                } => {
                    let secret = e.keys.unseal(&ctx.rec.user_id, seed)?;
                    let g = Generator::new(secret.expose(), params.algorithm, params.digits);
                    otp::verify_totp(&g, params, code, now, e.policy.totp_window, None).map(|m| {
                        *last_step = Some(m.counter);
                        Some(m)
                    })
                }
                StoredKind::Hotp {
                    params,
                    seed,
                    counter,
                } => {
                    let secret = e.keys.unseal(&ctx.rec.user_id, seed)?;
                    let g = Generator::new(secret.expose(), params.algorithm, params.digits);
                    otp::verify_hotp(&g, params, code, *counter, e.policy.hotp_look_ahead).map(
                        |m| {
                            *counter = m.counter.saturating_add(1);
                            Some(m)
                        },
                    )
                }
                _ => e
                    .check_challenge(ctx, Target::Registration, code)
                    .map(|()| None),
            };
            let matched = match checked {
                Ok(m) => m,
                Err(err) => {
                    e.failed(ctx, factor, &err, Some(kind.method_type()));
                    return Err(err);
                }
            };
            ctx.rec.throttle.succeed(factor);
            let id = ctx.rec.next_method_id.max(1);
            ctx.rec.next_method_id = id.saturating_add(1);
            let method_type = kind.method_type();
            // Re-registering replaces the methods from before the admin's request.
            if let Some(since) = ctx.rec.reregister_since.take() {
                let old: Vec<MethodId> = ctx
                    .rec
                    .methods
                    .iter()
                    .filter(|m| m.added_at <= since)
                    .map(|m| m.id)
                    .collect();
                ctx.rec.methods.retain(|m| m.added_at > since);
                for mid in old {
                    ctx.event(AuditKind::MethodRemoved { method_id: mid }, None);
                }
                if ctx
                    .rec
                    .default_method
                    .is_some_and(|d| !ctx.rec.methods.iter().any(|m| m.id == d))
                {
                    ctx.rec.default_method = None;
                }
            }
            let first = ctx.rec.methods.is_empty();
            ctx.rec.methods.push(StoredMethod {
                id,
                kind,
                added_at: now,
                last_used_at: None,
            });
            ctx.rec.pending = None;
            if ctx.rec.default_method.is_none() {
                ctx.rec.default_method = Some(id);
            }
            ctx.touch();
            ctx.event(AuditKind::MethodAdded { method_id: id }, Some(method_type));
            let mut recovery_codes = None;
            if first {
                if ctx.rec.state == MfaState::Enabled {
                    ctx.rec.state = MfaState::Enforced;
                }
                if ctx.rec.recovery_codes_left() == 0 {
                    let (set, codes) = RecoverySet::generate(
                        e.policy.recovery_code_count,
                        &e.policy.argon2,
                        now,
                        rng,
                    )?;
                    ctx.rec.recovery = Some(set);
                    ctx.event(
                        AuditKind::RecoveryCodesIssued {
                            count: e.policy.recovery_code_count,
                        },
                        None,
                    );
                    recovery_codes = Some(codes);
                }
                ctx.event(AuditKind::Registered, Some(method_type));
            }
            Ok(Confirmed {
                method_id: id,
                matched,
                recovery_codes,
            })
        })
    }

    fn failed(&self, ctx: &mut Ctx<'_>, factor: Factor, err: &Error, method: Option<MethodType>) {
        if matches!(
            err,
            Error::MalformedCode { .. } | Error::NoActiveCode | Error::CodeExpired
        ) {
            ctx.event(
                AuditKind::VerificationFailed {
                    reason: FailureReason::from(err),
                },
                method,
            );
            return;
        }
        if *err == Error::Replay {
            // A replay needs a code that was valid moments ago: it is a double
            // submission or a stolen code, not a guess, so it does not count
            // towards the lock (and concurrent duplicates cannot lock a user out).
            ctx.event(AuditKind::ReplayRefused, method);
            return;
        }
        ctx.event(
            AuditKind::VerificationFailed {
                reason: FailureReason::from(err),
            },
            method,
        );
        if let AfterFailure::Locked(until) = ctx.rec.throttle.fail(factor, ctx.now, &self.policy) {
            ctx.event(AuditKind::Locked { factor, until }, method);
        }
        ctx.touch();
    }

    /// Choose the default method.
    pub fn set_default_method(
        &self,
        rec: &mut UserRecord,
        id: MethodId,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |_, ctx| {
            ctx.rec.method(id)?;
            if ctx.rec.default_method != Some(id) {
                ctx.rec.default_method = Some(id);
                ctx.touch();
                ctx.event(AuditKind::DefaultMethodChanged { method_id: id }, None);
            }
            Ok(())
        })
    }

    /// Remove a method. Removing the default makes the oldest remaining one the default.
    pub fn remove_method(
        &self,
        rec: &mut UserRecord,
        id: MethodId,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |_, ctx| {
            let t = ctx.rec.method(id)?.kind.method_type();
            ctx.rec.methods.retain(|m| m.id != id);
            if ctx.rec.default_method == Some(id) {
                ctx.rec.default_method = ctx.rec.methods.first().map(|m| m.id);
            }
            if matches!(ctx.rec.challenge, Some(Challenge { target: Target::SignIn(c), .. }) if c == id) {
                ctx.rec.challenge = None;
            }
            ctx.touch();
            ctx.event(AuditKind::MethodRemoved { method_id: id }, Some(t));
            Ok(())
        })
    }

    // ----- verification ---------------------------------------------------

    /// Send a sign-in code to a phone or e-mail method (default method when `None`).
    /// A new code replaces any earlier one.
    pub fn send_code(
        &self,
        rec: &mut UserRecord,
        method: Option<MethodId>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Delivery, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let id = method
                .or(ctx.rec.default_method)
                .ok_or(Error::UnknownMethod)?;
            let m = ctx.rec.method(id)?;
            if !e.usable(m) {
                return Err(Error::MethodNotAllowed {
                    method: m.kind.method_type().as_str(),
                });
            }
            e.send(ctx, Target::SignIn(id), rng)
        })
    }

    /// Verify a second factor with a registered method (default method when `None`):
    /// an authenticator code, or the code sent by text, call or e-mail.
    pub fn verify(
        &self,
        rec: &mut UserRecord,
        method: Option<MethodId>,
        code: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Verified, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let id = method
                .or(ctx.rec.default_method)
                .ok_or(Error::UnknownMethod)?;
            let m = ctx.rec.method(id)?;
            let method_type = m.kind.method_type();
            if !e.usable(m) {
                return Err(Error::MethodNotAllowed {
                    method: method_type.as_str(),
                });
            }
            let factor = factor_of(&m.kind);
            ctx.rec.throttle.check(factor, now)?;
            let user_id = ctx.rec.user_id.clone();
            let result = match &m.kind {
                StoredKind::Totp {
                    params,
                    seed,
                    last_step,
                } => {
                    let secret = e.keys.unseal(&user_id, seed)?;
                    let g = Generator::new(secret.expose(), params.algorithm, params.digits);
                    otp::verify_totp(&g, params, code, now, e.policy.totp_window, *last_step)
                        .map(Some)
                }
                StoredKind::Hotp {
                    params,
                    seed,
                    counter,
                } => {
                    let secret = e.keys.unseal(&user_id, seed)?;
                    let g = Generator::new(secret.expose(), params.algorithm, params.digits);
                    otp::verify_hotp(&g, params, code, *counter, e.policy.hotp_look_ahead).map(Some)
                }
                _ => e
                    .check_challenge(ctx, Target::SignIn(id), code)
                    .map(|()| None),
            };
            match result {
                Ok(matched) => {
                    let m = ctx.rec.method_mut(id)?;
                    match (&mut m.kind, matched) {
                        (StoredKind::Totp { last_step, .. }, Some(mm)) => {
                            *last_step = Some(mm.counter)
                        }
                        (StoredKind::Hotp { counter, .. }, Some(mm)) => {
                            *counter = mm.counter.saturating_add(1)
                        }
                        _ => {}
                    }
                    m.last_used_at = Some(now);
                    ctx.rec.throttle.succeed(factor);
                    ctx.touch();
                    ctx.event(
                        AuditKind::VerificationSucceeded {
                            method_id: Some(id),
                        },
                        Some(method_type),
                    );
                    Ok(Verified {
                        method_id: Some(id),
                        method_type: Some(method_type),
                        matched,
                        amr: amr_of(method_type),
                        recovery_codes_left: None,
                    })
                }
                Err(err) => {
                    e.failed(ctx, factor, &err, Some(method_type));
                    Err(err)
                }
            }
        })
    }

    /// Use a recovery code as the second factor. Each code works once.
    pub fn verify_recovery_code(
        &self,
        rec: &mut UserRecord,
        code: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Verified, Error> {
        self.with(rec, now, audit, |e, ctx| {
            ctx.rec.throttle.check(Factor::Recovery, now)?;
            let mut set = ctx.rec.recovery.clone().ok_or(Error::NoRecoveryCodes)?;
            match set.redeem(code, &e.policy.argon2, now) {
                Ok(remaining) => {
                    ctx.rec.recovery = Some(set);
                    ctx.rec.throttle.succeed(Factor::Recovery);
                    ctx.touch();
                    ctx.event(AuditKind::RecoveryCodeUsed { remaining }, None);
                    ctx.event(AuditKind::VerificationSucceeded { method_id: None }, None);
                    Ok(Verified {
                        method_id: None,
                        method_type: None,
                        matched: None,
                        amr: vec!["otp".into()],
                        recovery_codes_left: Some(remaining),
                    })
                }
                Err(err) => {
                    if err == Error::MalformedRecoveryCode {
                        ctx.event(
                            AuditKind::VerificationFailed {
                                reason: FailureReason::Malformed,
                            },
                            None,
                        );
                    } else {
                        e.failed(ctx, Factor::Recovery, &err, None);
                    }
                    Err(err)
                }
            }
        })
    }

    /// Issue a new set of recovery codes; the old set stops working.
    pub fn regenerate_recovery_codes(
        &self,
        rec: &mut UserRecord,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<RecoveryCodes, Error> {
        self.with(rec, now, audit, |e, ctx| {
            if ctx.rec.methods.is_empty() {
                return Err(Error::UnknownMethod);
            }
            let (set, codes) =
                RecoverySet::generate(e.policy.recovery_code_count, &e.policy.argon2, now, rng)?;
            ctx.rec.recovery = Some(set);
            ctx.rec.throttle.succeed(Factor::Recovery);
            ctx.touch();
            ctx.event(
                AuditKind::RecoveryCodesIssued {
                    count: e.policy.recovery_code_count,
                },
                None,
            );
            Ok(codes)
        })
    }

    /// Resynchronise a HOTP method from two consecutive codes.
    pub fn resync_hotp(
        &self,
        rec: &mut UserRecord,
        id: MethodId,
        first: &str,
        second: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<OtpMatch, Error> {
        self.with(rec, now, audit, |e, ctx| {
            ctx.rec.throttle.check(Factor::Authenticator, now)?;
            let user_id = ctx.rec.user_id.clone();
            let StoredKind::Hotp {
                params,
                seed,
                counter,
            } = &ctx.rec.method(id)?.kind
            else {
                return Err(Error::UnknownMethod);
            };
            let secret = e.keys.unseal(&user_id, seed)?;
            let g = Generator::new(secret.expose(), params.algorithm, params.digits);
            match otp::resync_hotp(
                &g,
                params,
                first,
                second,
                *counter,
                e.policy.hotp_resync_window,
            ) {
                Ok(m) => {
                    if let StoredKind::Hotp { counter, .. } = &mut ctx.rec.method_mut(id)?.kind {
                        *counter = m.counter.saturating_add(1);
                    }
                    ctx.rec.throttle.succeed(Factor::Authenticator);
                    ctx.touch();
                    ctx.event(
                        AuditKind::HotpResynchronised { method_id: id },
                        Some(MethodType::AuthenticatorApp),
                    );
                    Ok(m)
                }
                Err(err) => {
                    e.failed(
                        ctx,
                        Factor::Authenticator,
                        &err,
                        Some(MethodType::AuthenticatorApp),
                    );
                    Err(err)
                }
            }
        })
    }

    // ----- tokens ---------------------------------------------------------

    #[allow(
        clippy::too_many_arguments,
        reason = "private helper that fills every standard claim"
    )]
    fn claims(
        &self,
        user: &str,
        amr: Vec<String>,
        now: UnixTime,
        lifetime: u64,
        kind: TokenKind,
        epoch: Option<u32>,
        rng: &mut dyn RandomSource,
    ) -> SessionClaims {
        SessionClaims {
            iss: self.policy.issuer.clone(),
            sub: user.to_string(),
            aud: self.policy.audience.clone(),
            iat: now,
            exp: now + lifetime,
            jti: token::new_jti(rng),
            amr,
            token_use: kind,
            dev_epoch: epoch,
        }
    }

    /// Issue an MFA session token after a verified second factor. `primary_amr`
    /// lists how the first factor was done (e.g. `["pwd"]`).
    pub fn issue_session(
        &self,
        rec: &UserRecord,
        verified: &Verified,
        primary_amr: &[&str],
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> String {
        let mut amr: Vec<String> = primary_amr.iter().map(|s| s.to_string()).collect();
        for a in verified
            .amr
            .iter()
            .chain(std::iter::once(&"mfa".to_string()))
        {
            if !amr.contains(a) {
                amr.push(a.clone());
            }
        }
        let claims = self.claims(
            &rec.user_id,
            amr,
            now,
            u64::from(self.policy.session_lifetime_secs),
            TokenKind::Session,
            None,
            rng,
        );
        audit.push(AuditEvent {
            at: now,
            user_id: rec.user_id.clone(),
            actor: None,
            method: verified.method_type,
            kind: AuditKind::SessionIssued,
        });
        token::sign(&self.keys, &claims)
    }

    /// Issue a remembered-device token ("don't ask again on this device"), valid
    /// for the policy's number of days or until the admin restores MFA on all
    /// remembered devices. Returns the token and its expiry.
    pub fn issue_device_token(
        &self,
        rec: &UserRecord,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> (String, UnixTime) {
        let lifetime = u64::from(self.policy.remember_device_days) * 86_400;
        let claims = self.claims(
            &rec.user_id,
            vec!["mfa".into()],
            now,
            lifetime,
            TokenKind::Device,
            Some(rec.device_epoch),
            rng,
        );
        audit.push(AuditEvent {
            at: now,
            user_id: rec.user_id.clone(),
            actor: None,
            method: None,
            kind: AuditKind::DeviceRemembered {
                expires_at: claims.exp,
            },
        });
        (token::sign(&self.keys, &claims), claims.exp)
    }

    /// Verify an MFA session token.
    pub fn verify_session(&self, token: &str, now: UnixTime) -> Result<SessionClaims, Error> {
        token::verify(
            &self.keys,
            token,
            &self.policy.issuer,
            &self.policy.audience,
            TokenKind::Session,
            now,
        )
    }

    /// Verify a remembered-device token for this user: refused after the admin
    /// restored MFA on all remembered devices, or when MFA was reset.
    pub fn verify_device_token(
        &self,
        rec: &UserRecord,
        token: &str,
        now: UnixTime,
    ) -> Result<SessionClaims, Error> {
        let claims = token::verify(
            &self.keys,
            token,
            &self.policy.issuer,
            &self.policy.audience,
            TokenKind::Device,
            now,
        )?;
        if claims.sub != rec.user_id || claims.dev_epoch != Some(rec.device_epoch) {
            return Err(Error::TokenRevoked);
        }
        Ok(claims)
    }

    // ----- app passwords --------------------------------------------------

    /// Create an app password. The password is in the result only: it is never
    /// stored, only its argon2id hash.
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the user's form: name, scopes and expiry, plus the engine's time, randomness and audit"
    )]
    pub fn create_app_password(
        &self,
        rec: &mut UserRecord,
        name: &str,
        scopes: &[String],
        expires_at: Option<UnixTime>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<NewAppPassword, Error> {
        self.with(rec, now, audit, |e, ctx| {
            if !e.policy.app_passwords_allowed {
                return Err(Error::AppPasswordsDisabled);
            }
            let name = app_password::check_name(name)?;
            let scopes = app_password::check_scopes(scopes)?;
            if expires_at.is_some_and(|x| x <= now) {
                return Err(Error::input("expires_at", "must be in the future"));
            }
            let live: Vec<_> = ctx
                .rec
                .app_passwords
                .iter()
                .filter(|a| a.revoked_at.is_none())
                .collect();
            if live.len() as u32 >= e.policy.max_app_passwords {
                return Err(Error::AppPasswordLimit {
                    max: e.policy.max_app_passwords,
                });
            }
            if live
                .iter()
                .any(|a| a.name.to_lowercase() == name.to_lowercase())
            {
                return Err(Error::DuplicateName);
            }
            let taken: Vec<&str> = ctx
                .rec
                .app_passwords
                .iter()
                .map(|a| a.id.as_str())
                .collect();
            let (entry, password) = app_password::new_entry(
                &e.policy.argon2,
                name.clone(),
                scopes.clone(),
                expires_at,
                now,
                &taken,
                rng,
            )?;
            let credential = AppPasswordCredential {
                user: ctx.rec.user_id.clone(),
                id: entry.id.clone(),
                hash: entry.hash.clone(),
                scopes: scopes.clone(),
                expires_at,
            };
            let id = entry.id.clone();
            // Deleted entries are kept for their "revoked" answer; drop the oldest beyond the limit.
            ctx.rec.app_passwords.push(entry);
            let revoked = ctx
                .rec
                .app_passwords
                .iter()
                .filter(|a| a.revoked_at.is_some())
                .count();
            if revoked > e.policy.max_app_passwords as usize
                && let Some(pos) = ctx
                    .rec
                    .app_passwords
                    .iter()
                    .position(|a| a.revoked_at.is_some())
            {
                ctx.rec.app_passwords.remove(pos);
            }
            ctx.touch();
            ctx.event(
                AuditKind::AppPasswordCreated {
                    id: id.clone(),
                    name: name.clone(),
                },
                None,
            );
            Ok(NewAppPassword {
                id,
                name,
                password,
                scopes,
                created_at: now,
                expires_at,
                credential,
            })
        })
    }

    /// Check an app password presented by a client, optionally for a scope.
    /// Garbage and typos are refused before any hashing. On success records
    /// "last used" (to the minute) and rehashes a hash made with old parameters.
    pub fn verify_app_password(
        &self,
        rec: &mut UserRecord,
        presented: &str,
        scope: Option<&str>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<AppPasswordMatch, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let reject = |ctx: &mut Ctx<'_>, err: Error, count: bool| {
                ctx.event(
                    AuditKind::AppPasswordRejected {
                        reason: FailureReason::from(&err),
                    },
                    None,
                );
                if count {
                    if let AfterFailure::Locked(until) =
                        ctx.rec.throttle.fail(Factor::AppPassword, now, &e.policy)
                    {
                        ctx.event(
                            AuditKind::Locked {
                                factor: Factor::AppPassword,
                                until,
                            },
                            None,
                        );
                    }
                    ctx.touch();
                }
                Err(err)
            };
            ctx.rec.throttle.check(Factor::AppPassword, now)?;
            let parsed = match ParsedAppPassword::parse(presented) {
                Ok(p) => p,
                Err(err) => return reject(ctx, err, false),
            };
            let Some(idx) = ctx.rec.app_passwords.iter().position(|a| a.id == parsed.id) else {
                return reject(ctx, Error::UnknownAppPassword, true);
            };
            let entry = &ctx.rec.app_passwords[idx];
            if entry.revoked_at.is_some() {
                return reject(ctx, Error::AppPasswordRevoked, false);
            }
            if entry.expires_at.is_some_and(|x| now >= x) {
                return reject(ctx, Error::AppPasswordExpired, false);
            }
            let check = match parsed.verify_hash(&entry.hash, &e.policy.argon2)? {
                Some(c) => c,
                None => return reject(ctx, Error::WrongAppPassword, true),
            };
            if !app_password::scope_allows(&entry.scopes, scope) {
                return reject(
                    ctx,
                    Error::OutOfScope {
                        scope: scope.unwrap_or_default().to_string(),
                    },
                    false,
                );
            }
            let result = AppPasswordMatch {
                id: entry.id.clone(),
                name: entry.name.clone(),
                scopes: entry.scopes.clone(),
                needs_rehash: check.needs_rehash,
            };
            let mut changed = ctx.rec.throttle.succeed(Factor::AppPassword);
            let entry = &mut ctx.rec.app_passwords[idx];
            changed |= entry.mark_used(now);
            if check.needs_rehash {
                entry.hash = hash_password(
                    &e.policy.argon2,
                    parsed.canonical().expose().as_bytes(),
                    rng,
                )?;
                changed = true;
            }
            if changed {
                ctx.touch();
            }
            ctx.event(
                AuditKind::AppPasswordUsed {
                    id: result.id.clone(),
                },
                None,
            );
            Ok(result)
        })
    }

    /// Delete one app password: it stops working at once (gateways caching
    /// verified credentials stop within their cache lifetime).
    pub fn delete_app_password(
        &self,
        rec: &mut UserRecord,
        id: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |_, ctx| {
            let entry = ctx
                .rec
                .app_passwords
                .iter_mut()
                .find(|a| a.id == id && a.revoked_at.is_none())
                .ok_or(Error::UnknownAppPassword)?;
            entry.revoked_at = Some(now);
            entry.hash.clear();
            ctx.touch();
            ctx.event(AuditKind::AppPasswordDeleted { id: id.to_string() }, None);
            Ok(())
        })
    }

    /// The gateway credential (hash, scopes, expiry) of one live app password.
    pub fn app_password_credential(
        &self,
        rec: &UserRecord,
        id: &str,
    ) -> Result<AppPasswordCredential, Error> {
        let a = rec
            .app_passwords
            .iter()
            .find(|a| a.id == id && a.revoked_at.is_none())
            .ok_or(Error::UnknownAppPassword)?;
        Ok(AppPasswordCredential {
            user: rec.user_id.clone(),
            id: a.id.clone(),
            hash: a.hash.clone(),
            scopes: a.scopes.clone(),
            expires_at: a.expires_at,
        })
    }

    // ----- admin ----------------------------------------------------------

    /// Set the user's MFA state (disabled, enabled, enforced).
    pub fn set_mfa_state(
        &self,
        rec: &mut UserRecord,
        state: MfaState,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            if ctx.rec.state != state {
                let from = ctx.rec.state;
                ctx.rec.state = state;
                ctx.touch();
                ctx.admin_event(actor, AuditKind::MfaStateChanged { from, to: state });
            }
            Ok(())
        });
    }

    /// Require the user to provide contact methods again at the next sign-in.
    pub fn require_reregistration(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.reregister_since = Some(now);
            ctx.rec.pending = None;
            ctx.touch();
            ctx.admin_event(actor, AuditKind::ReregistrationRequired);
            Ok(())
        });
    }

    /// Delete every app password of the user.
    pub fn delete_all_app_passwords(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> u32 {
        let mut count = 0;
        let _ = self.with(rec, now, audit, |_, ctx| {
            for a in ctx
                .rec
                .app_passwords
                .iter_mut()
                .filter(|a| a.revoked_at.is_none())
            {
                a.revoked_at = Some(now);
                a.hash.clear();
                count += 1;
            }
            ctx.touch();
            ctx.admin_event(actor, AuditKind::AllAppPasswordsDeleted { count });
            Ok(())
        });
        count
    }

    /// Restore MFA on all remembered devices: every device token of the user stops working.
    pub fn restore_remembered_devices(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.device_epoch = ctx.rec.device_epoch.wrapping_add(1);
            ctx.touch();
            ctx.admin_event(actor, AuditKind::RememberedDevicesRestored);
            Ok(())
        });
    }

    /// Lift every lock and back-off of the user.
    pub fn unlock(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.throttle.clear();
            ctx.touch();
            ctx.admin_event(actor, AuditKind::Unlocked);
            Ok(())
        });
    }

    /// Remove every method, recovery code and remembered device: the user registers again.
    pub fn reset_methods(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.methods.clear();
            ctx.rec.default_method = None;
            ctx.rec.pending = None;
            ctx.rec.challenge = None;
            ctx.rec.recovery = None;
            ctx.rec.reregister_since = None;
            ctx.rec.throttle.clear();
            ctx.rec.device_epoch = ctx.rec.device_epoch.wrapping_add(1);
            ctx.touch();
            ctx.admin_event(actor, AuditKind::MethodsReset);
            Ok(())
        });
    }

    /// Seal every stored seed again under the active sealing key (after rotation).
    pub fn reseal(
        &self,
        rec: &mut UserRecord,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<u32, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let user = ctx.rec.user_id.clone();
            let active = e.keys.active_sealing_id().to_string();
            let mut n = 0;
            let mut kinds: Vec<&mut StoredKind> =
                ctx.rec.methods.iter_mut().map(|m| &mut m.kind).collect();
            if let Some(p) = ctx.rec.pending.as_mut() {
                kinds.push(&mut p.kind);
            }
            for kind in kinds {
                if let StoredKind::Totp { seed, .. } | StoredKind::Hotp { seed, .. } = kind
                    && seed.kid != active
                {
                    let secret = e.keys.unseal(&user, seed)?;
                    *seed = e.keys.seal(&user, secret.expose(), rng);
                    n += 1;
                }
            }
            if n > 0 {
                ctx.touch();
                ctx.event(AuditKind::SecretsResealed, None);
            }
            Ok(n)
        })
    }
}
