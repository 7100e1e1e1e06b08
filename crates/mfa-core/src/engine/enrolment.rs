//! Enrolment: "Set it up now", registering and confirming methods, the default method.

use crate::audit::{AuditEvent, AuditKind, FailureReason};
use crate::challenge::{Challenge, Delivery, Target, compose, random_code};
use crate::contact::{EmailAddress, PhoneNumber};
use crate::otp::OtpMatch;
use crate::otp::{self, Generator, Hotp, Totp};
use crate::otpauth::{OtpAuthUri, OtpKind};
use crate::policy::MethodType;
use crate::record::{
    MethodId, MfaState, Pending, PhoneChannel, StoredKind, StoredMethod, UserRecord,
};
use crate::recovery::RecoveryCodes;
use crate::recovery::RecoverySet;
use crate::secret::{SecretBytes, SecretString};
use crate::send_budget::destination_tag;
use crate::throttle::{AfterFailure, Factor};
use crate::{Error, RandomSource, UnixTime};
use serde::{Deserialize, Serialize};

use super::{Ctx, Engine, factor_of};

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
        /// Whether an admin's one-time pass is available.
        one_time_pass: bool,
    },
    /// None of the user's methods is allowed any more: the user proves it is
    /// them with one of those methods, a recovery code or an admin's one-time
    /// pass, and then sets up one of `allowed` (the password alone never may).
    Replace {
        /// Methods the user may set up.
        allowed: Vec<MethodType>,
        /// The user's methods that can still prove it is them (not locked).
        methods: Vec<MethodId>,
        /// Whether recovery codes are available.
        recovery_codes: bool,
        /// Whether an admin's one-time pass is available.
        one_time_pass: bool,
    },
    /// Every method is locked.
    Locked {
        /// When the earliest lock ends.
        until: UnixTime,
    },
    /// Every method is locked until an admin unlocks the user (the policy's
    /// `failure_cap` of consecutive failures was reached).
    LockedOut,
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

impl Engine {
    /// What the sign-in must do next for this user. Does not change the record.
    pub fn enrollment_check(&self, rec: &UserRecord, now: UnixTime) -> NextStep {
        if rec.state == MfaState::Disabled {
            return NextStep::Continue;
        }
        if rec.throttle.locked_out() {
            return NextStep::LockedOut;
        }
        if rec.reregister_since.is_some() {
            return NextStep::Reregister {
                allowed: self.allowed(),
            };
        }
        let registered: Vec<&StoredMethod> =
            rec.methods.iter().filter(|m| self.usable(m)).collect();
        let recovery = rec.recovery_codes_left() > 0
            && rec.throttle.locked_until(Factor::Recovery, now).is_none();
        let pass = rec.one_time_pass_until(now).is_some()
            && rec.throttle.locked_until(Factor::Recovery, now).is_none();
        if registered.is_empty() {
            if rec.methods.is_empty() && rec.recovery_codes_left() == 0 {
                return NextStep::Register {
                    allowed: self.allowed(),
                };
            }
            return NextStep::Replace {
                allowed: self.allowed(),
                methods: rec
                    .methods
                    .iter()
                    .filter(|m| rec.throttle.locked_until(factor_of(&m.kind), now).is_none())
                    .map(|m| m.id)
                    .collect(),
                recovery_codes: recovery,
                one_time_pass: pass,
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
        if open.is_empty() && !recovery && !pass {
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
                one_time_pass: pass,
            },
            // Only recovery codes or a pass are usable: offer them through the default id of a locked method.
            None => NextStep::Verify {
                default: rec.default_method.unwrap_or(registered[0].id),
                methods: Vec::new(),
                recovery_codes: recovery,
                one_time_pass: pass,
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
    pub(super) fn check_room(&self, ctx: &Ctx<'_>) -> Result<(), Error> {
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
        self.start_pending_replacing(ctx, kind, None);
    }

    fn start_pending_replacing(
        &self,
        ctx: &mut Ctx<'_>,
        kind: StoredKind,
        replaces: Option<MethodId>,
    ) {
        ctx.rec.pending = Some(Pending {
            kind,
            started_at: ctx.now,
            expires_at: ctx.now + u64::from(self.policy.registration_lifetime_secs),
            replaces,
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
            e.check_room(ctx)?;
            e.phone_registration(ctx, number, channel, None, rng)
        })
    }

    /// Change the authentication phone `replaces` to `number` (or to
    /// another channel): the new number is proven with a code like any new
    /// phone, and only then is the old one removed (a default stays the
    /// default). Until then the old phone keeps working, so a mistyped
    /// number never locks the user out. `UnknownMethod` unless `replaces`
    /// is one of the user's phones.
    #[allow(
        clippy::too_many_arguments,
        reason = "the engine's operation shape: record, what, when, randomness, audit"
    )]
    pub fn begin_phone_change(
        &self,
        rec: &mut UserRecord,
        replaces: MethodId,
        number: PhoneNumber,
        channel: PhoneChannel,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Registration, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let is_phone = ctx
                .rec
                .methods
                .iter()
                .any(|m| m.id == replaces && matches!(m.kind, StoredKind::Phone { .. }));
            if !is_phone {
                return Err(Error::UnknownMethod);
            }
            e.phone_registration(ctx, number, channel, Some(replaces), rng)
        })
    }

    fn phone_registration(
        &self,
        ctx: &mut Ctx<'_>,
        number: PhoneNumber,
        channel: PhoneChannel,
        replaces: Option<MethodId>,
        rng: &mut dyn RandomSource,
    ) -> Result<Registration, Error> {
        let t = if channel == PhoneChannel::Text {
            MethodType::Text
        } else {
            MethodType::Call
        };
        self.check_allowed(t)?;
        if !self.policy.allows_phone(&number.e164()) {
            return Err(Error::input(
                "phone",
                "your organisation does not allow authentication phones in this country or region; use a number from another one, or another method",
            ));
        }
        let to = destination_tag(&self.keys, &ctx.rec.user_id, &number.e164());
        ctx.rec.sends.check(&self.policy, to, ctx.now)?;
        self.start_pending_replacing(ctx, StoredKind::Phone { number, channel }, replaces);
        let delivery = self.send(ctx, Target::Registration, rng)?;
        Ok(Registration::CodeSent { delivery })
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
            let to = destination_tag(&e.keys, &ctx.rec.user_id, address.as_str());
            ctx.rec.sends.check(&e.policy, to, now)?;
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

    pub(super) fn send(
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
        let to = destination_tag(&self.keys, &ctx.rec.user_id, &destination);
        ctx.rec.sends.check(&self.policy, to, ctx.now)?;
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
        ctx.rec.sends.record(&self.policy, to, ctx.now);
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
    pub(super) fn check_challenge(
        &self,
        ctx: &mut Ctx<'_>,
        target: Target,
        code: &str,
    ) -> Result<(), Error> {
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
                    otp::verify_totp(&g, params, code, now, e.policy.totp_window, None)
                        .map_err(|err| otp::explain_drift(&g, params, code, now, err))
                        .map(|m| {
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
            ctx.rec.pending = None;
            let (id, recovery_codes) = e.add_method(ctx, kind, pending.replaces, rng)?;
            Ok(Confirmed {
                method_id: id,
                matched,
                recovery_codes,
            })
        })
    }

    /// Add a proven method: a re-registration replaces the methods from
    /// before the admin's request, a changed phone replaces the old one,
    /// and the first method turns MFA on and hands out recovery codes.
    pub(super) fn add_method(
        &self,
        ctx: &mut Ctx<'_>,
        kind: StoredKind,
        replaces: Option<MethodId>,
        rng: &mut dyn RandomSource,
    ) -> Result<(MethodId, Option<RecoveryCodes>), Error> {
        let now = ctx.now;
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
        if ctx.rec.default_method.is_none() {
            ctx.rec.default_method = Some(id);
        }
        ctx.touch();
        ctx.event(AuditKind::MethodAdded { method_id: id }, Some(method_type));
        // A changed phone: the old one goes now that the new one is proven.
        if let Some(old) = replaces
            && ctx.rec.methods.iter().any(|m| m.id == old)
        {
            ctx.rec.methods.retain(|m| m.id != old);
            if ctx.rec.default_method == Some(old) {
                ctx.rec.default_method = Some(id);
            }
            ctx.event(AuditKind::MethodRemoved { method_id: old }, None);
        }
        let mut recovery_codes = None;
        if first {
            if ctx.rec.state == MfaState::Enabled {
                ctx.rec.state = MfaState::Enforced;
            }
            if ctx.rec.recovery_codes_left() == 0 {
                let (set, codes) = RecoverySet::generate(
                    self.policy.recovery_code_count,
                    &self.policy.argon2,
                    now,
                    rng,
                )?;
                ctx.rec.recovery = Some(set);
                ctx.event(
                    AuditKind::RecoveryCodesIssued {
                        count: self.policy.recovery_code_count,
                    },
                    None,
                );
                recovery_codes = Some(codes);
            }
            ctx.event(AuditKind::Registered, Some(method_type));
        }
        Ok((id, recovery_codes))
    }

    pub(super) fn failed(
        &self,
        ctx: &mut Ctx<'_>,
        factor: Factor,
        err: &Error,
        method: Option<MethodType>,
    ) {
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
        match ctx.rec.throttle.fail(factor, ctx.now, &self.policy) {
            AfterFailure::Locked(until) => ctx.event(AuditKind::Locked { factor, until }, method),
            AfterFailure::LockedOut(failures) => {
                ctx.event(AuditKind::LockedOut { failures }, method)
            }
            AfterFailure::Counted | AfterFailure::BackOff(_) => {}
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

    /// Remove a method. Removing the default makes the oldest remaining one the
    /// default. While MFA is on, the last method the policy allows cannot be
    /// removed ([`Error::LastMethod`]): add another first.
    pub fn remove_method(
        &self,
        rec: &mut UserRecord,
        id: MethodId,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |e, ctx| {
            let t = ctx.rec.method(id)?.kind.method_type();
            // While MFA is on, never the last method the policy lets the
            // user sign in with: that would leave no second factor.
            let usable = |m: &StoredMethod| e.policy.allows(m.kind.method_type());
            if ctx.rec.state != MfaState::Disabled
                && e.policy.allows(t)
                && !ctx.rec.methods.iter().any(|m| m.id != id && usable(m))
            {
                return Err(Error::LastMethod);
            }
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
}
