//! Verification: the second factor at sign-in (codes, sent codes, recovery codes, HOTP resync).

use crate::audit::{AuditEvent, AuditKind, FailureReason};
use crate::challenge::{Delivery, Target};
use crate::otp::{self, Generator, OtpMatch};
use crate::policy::MethodType;
use crate::record::{MethodId, StoredKind, UserRecord};
use crate::recovery::{RecoveryCodes, RecoverySet};
use crate::throttle::Factor;
use crate::{Error, RandomSource, UnixTime};
use serde::Serialize;

use super::{Engine, factor_of};

/// A successful second factor: a proof only the engine makes (its fields are
/// private), so a session can only follow a real verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    method_id: Option<MethodId>,
    method_type: Option<MethodType>,
    matched: Option<OtpMatch>,
    amr: Vec<String>,
    recovery_codes_left: Option<u8>,
    /// When the factor was verified, when not now (a remembered device).
    #[serde(skip)]
    verified_at: Option<UnixTime>,
}

impl Verified {
    /// The method used (absent for a recovery code and a remembered device).
    pub fn method_id(&self) -> Option<MethodId> {
        self.method_id
    }
    /// Its type (absent for a recovery code and a remembered device).
    pub fn method_type(&self) -> Option<MethodType> {
        self.method_type
    }
    /// For authenticator codes: which step or counter matched.
    pub fn matched(&self) -> Option<OtpMatch> {
        self.matched
    }
    /// RFC 8176 `amr` values for this factor.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }
    /// Recovery codes left, when one was used.
    pub fn recovery_codes_left(&self) -> Option<u8> {
        self.recovery_codes_left
    }
    /// When the factor was verified: `now` unless it was a remembered
    /// device, whose factor was verified when it was remembered.
    pub(super) fn verified_at(&self, now: UnixTime) -> UnixTime {
        self.verified_at.unwrap_or(now)
    }
    /// Proving a new method while setting it up.
    pub(super) fn by_registration(
        method_id: MethodId,
        method_type: MethodType,
        matched: Option<OtpMatch>,
    ) -> Self {
        Self {
            method_id: Some(method_id),
            method_type: Some(method_type),
            matched,
            amr: amr_of(method_type),
            recovery_codes_left: None,
            verified_at: None,
        }
    }
    /// A passkey: RFC 8176 `swk` for a synced key (it may be backed up),
    /// `hwk` for a device-bound one, and `user` when it verified the person.
    #[cfg_attr(
        not(feature = "webauthn"),
        allow(
            dead_code,
            reason = "passkeys are verified only with the webauthn feature"
        )
    )]
    pub(super) fn by_passkey(method_id: MethodId, backup_eligible: bool, uv: bool) -> Self {
        let mut amr = vec![if backup_eligible { "swk" } else { "hwk" }.to_string()];
        if uv {
            amr.push("user".to_string());
        }
        Self {
            method_id: Some(method_id),
            method_type: Some(MethodType::Passkey),
            matched: None,
            amr,
            recovery_codes_left: None,
            verified_at: None,
        }
    }
    /// A remembered device: the factor was verified when it was remembered
    /// (`remembered_at`, the device token's `iat`).
    pub(super) fn by_device(remembered_at: UnixTime) -> Self {
        Self {
            verified_at: Some(remembered_at),
            ..Self::without_method(Vec::new(), None)
        }
    }
    /// A factor that is not a registered method: a recovery code (with the
    /// codes left), a one-time pass, a remembered device.
    fn without_method(amr: Vec<String>, recovery_codes_left: Option<u8>) -> Self {
        Self {
            method_id: None,
            method_type: None,
            matched: None,
            amr,
            recovery_codes_left,
            verified_at: None,
        }
    }
}

impl Engine {
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
            if !e.provable(ctx.rec, m) {
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
            if !e.provable(ctx.rec, m) {
                return Err(Error::MethodNotAllowed {
                    method: method_type.as_str(),
                });
            }
            if matches!(m.kind, StoredKind::Passkey(_)) {
                return Err(Error::input(
                    "method",
                    "this method is a passkey: sign in with the key, not a code",
                ));
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
                        verified_at: None,
                    })
                }
                Err(err) => {
                    e.failed(ctx, factor, &err, Some(method_type));
                    Err(err)
                }
            }
        })
    }

    /// Use an admin's one-time pass as the second factor. It works once,
    /// until it expires; failures count with recovery codes.
    pub fn verify_one_time_pass(
        &self,
        rec: &mut UserRecord,
        pass: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<Verified, Error> {
        self.with(rec, now, audit, |e, ctx| {
            ctx.rec.throttle.check(Factor::Recovery, now)?;
            let user_id = ctx.rec.user_id.clone();
            let stored = ctx.rec.one_time_pass.as_ref().filter(|p| p.live(now));
            let matched = match stored {
                Some(p) => p.matches(&e.keys, &user_id, pass)?,
                None => false,
            };
            if !matched {
                e.failed(ctx, Factor::Recovery, &Error::InvalidOneTimePass, None);
                return Err(Error::InvalidOneTimePass);
            }
            ctx.rec.one_time_pass = None;
            ctx.rec.throttle.succeed(Factor::Recovery);
            ctx.touch();
            ctx.event(AuditKind::OneTimePassUsed, None);
            ctx.event(AuditKind::VerificationSucceeded { method_id: None }, None);
            Ok(Verified::without_method(vec!["otp".into()], None))
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
                    Ok(Verified::without_method(
                        vec!["otp".into()],
                        Some(remaining),
                    ))
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
}

fn amr_of(t: MethodType) -> Vec<String> {
    let v = match t {
        MethodType::AuthenticatorApp | MethodType::Email => "otp",
        MethodType::Text => "sms",
        MethodType::Call => "tel",
        // Registering a passkey proves a key (RFC 8176 `hwk`); signing in
        // with one tells a synced key (`swk`) from a device-bound one.
        MethodType::Passkey => "hwk",
    };
    vec![v.to_string()]
}
