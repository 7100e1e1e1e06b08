//! The exported interfaces: each function opens its arguments, calls the
//! engine, and translates the answer.
use std::cell::RefCell;

use mfa_core as core;

use crate::Component;
use crate::bindings::exports::mfa::engine::admin as wadmin;
use crate::bindings::exports::mfa::engine::app_passwords as wapp;
use crate::bindings::exports::mfa::engine::contacts as wcontacts;
use crate::bindings::exports::mfa::engine::engine as wengine;
use crate::bindings::exports::mfa::engine::enrolment as wenrol;
use crate::bindings::exports::mfa::engine::otp as wotp;
use crate::bindings::exports::mfa::engine::tokens as wtokens;
use crate::bindings::exports::mfa::engine::types as w;
use crate::bindings::exports::mfa::engine::verification as wverify;
use crate::convert::*;

/// Randomness from the host through WASI `random_get`.
pub(crate) struct WasiRandom;

impl core::RandomSource for WasiRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            // The host offers no randomness: continuing would create guessable
            // secrets. Abort traps the call, and the host reports it as such.
            std::process::abort();
        }
    }
}

/// The `engine` resource: a validated engine.
pub(crate) struct EngineRes {
    pub(crate) engine: core::Engine,
}

/// The `user-record` resource: a record being worked on, with the audit events
/// produced since it was opened or last saved.
pub(crate) struct RecordRes {
    state: RefCell<RecordState>,
}

struct RecordState {
    rec: core::UserRecord,
    events: Vec<core::AuditEvent>,
    saved_revision: u64,
}

impl RecordRes {
    fn new(rec: core::UserRecord) -> Self {
        let saved_revision = rec.revision();
        Self {
            state: RefCell::new(RecordState {
                rec,
                events: Vec::new(),
                saved_revision,
            }),
        }
    }
}

/// Run an engine operation on a borrowed engine and record.
pub(crate) fn with<T>(
    engine: wengine::EngineBorrow<'_>,
    user: wengine::UserRecordBorrow<'_>,
    f: impl FnOnce(&core::Engine, &mut core::UserRecord, &mut Vec<core::AuditEvent>) -> T,
) -> T {
    let engine = &engine.get::<EngineRes>().engine;
    let mut state = user.get::<RecordRes>().state.borrow_mut();
    let RecordState { rec, events, .. } = &mut *state;
    f(engine, rec, events)
}

impl wengine::Guest for Component {
    type Engine = EngineRes;
    type UserRecord = RecordRes;
}

impl wengine::GuestEngine for EngineRes {
    fn create(config: wengine::Config) -> Result<wengine::Engine, w::Error> {
        let keys = core::Keys::from_json(&config.keys).map_err(into_error)?;
        let engine = core::Engine::new(policy_in(config.policy), keys).map_err(into_error)?;
        Ok(wengine::Engine::new(EngineRes { engine }))
    }

    fn default_policy() -> w::Policy {
        policy_out(&core::Policy::default())
    }

    fn generate_keys() -> String {
        core::Keys::generate(&mut WasiRandom).to_json()
    }

    fn rotate_key(keys: String, kind: wengine::KeyKind) -> Result<wengine::RotatedKeys, w::Error> {
        let mut keys = core::Keys::from_json(&keys).map_err(into_error)?;
        let kid = match kind {
            wengine::KeyKind::Signing => keys.rotate_signing(&mut WasiRandom),
            wengine::KeyKind::Sealing => keys.rotate_sealing(&mut WasiRandom),
        };
        Ok(wengine::RotatedKeys {
            keys: keys.to_json(),
            kid,
        })
    }

    fn retire_signing_key(keys: String, kid: String) -> Result<String, w::Error> {
        let mut keys = core::Keys::from_json(&keys).map_err(into_error)?;
        keys.retire_signing(&kid).map_err(into_error)?;
        Ok(keys.to_json())
    }

    fn policy(&self) -> w::Policy {
        policy_out(self.engine.policy())
    }

    fn jwks(&self) -> Vec<wengine::Jwk> {
        self.engine.jwks().keys.into_iter().map(jwk_out).collect()
    }
}

impl wengine::GuestUserRecord for RecordRes {
    fn create(user_id: String, now: u64) -> Result<wengine::UserRecord, w::Error> {
        // A record is keyed by the canonical user id, so a host that skipped
        // `gateway.canonical-user` cannot make `Alice` a second user.
        let canonical = core::UserId::parse(&user_id).map_err(|e| match e {
            core::Error::InvalidInput { reason, .. } => into_error(core::Error::InvalidInput {
                field: "user_id",
                reason,
            }),
            other => into_error(other),
        })?;
        if canonical.as_str() != user_id {
            return Err(into_error(core::Error::InvalidInput {
                field: "user_id",
                reason: format!(
                    "must be in canonical form ({canonical}): use gateway.canonical-user first"
                ),
            }));
        }
        Ok(wengine::UserRecord::new(RecordRes::new(
            core::UserRecord::new(&user_id, now),
        )))
    }

    fn open(stored: Vec<u8>) -> Result<wengine::UserRecord, w::Error> {
        let text = std::str::from_utf8(&stored).map_err(|e| {
            into_error(core::Error::CorruptRecord {
                reason: format!("not UTF-8 text (byte {})", e.valid_up_to()),
            })
        })?;
        let rec = core::UserRecord::from_json(text).map_err(into_error)?;
        Ok(wengine::UserRecord::new(RecordRes::new(rec)))
    }

    fn summary(&self, now: u64) -> wengine::RecordSummary {
        let state = self.state.borrow();
        let rec = &state.rec;
        wengine::RecordSummary {
            user_id: rec.user_id().to_string(),
            revision: rec.revision(),
            state: mfa_state_out(rec.state()),
            admin: rec.is_admin(),
            must_reregister: rec.must_reregister(),
            methods: rec.methods().into_iter().map(method_out).collect(),
            default_method: rec.default_method(),
            app_passwords: rec.app_passwords().into_iter().map(app_info_out).collect(),
            recovery_codes_left: rec.recovery_codes_left(),
            device_epoch: rec.device_epoch(),
            updated_at: rec.updated_at(),
            factors: FACTORS
                .iter()
                .filter_map(|f| {
                    let failures = rec.consecutive_failures(*f);
                    let locked_until = rec.locked_until(*f, now);
                    (failures > 0 || locked_until.is_some()).then(|| wengine::FactorState {
                        factor: factor_out(*f),
                        failures,
                        locked_until,
                    })
                })
                .collect(),
            locked_out: rec.locked_out(),
            one_time_pass_until: rec.one_time_pass_until(now),
            passkey_handle: rec.passkey_handle().map(str::to_string),
        }
    }

    fn revision(&self) -> u64 {
        self.state.borrow().rec.revision()
    }

    fn save(&self) -> wengine::Saved {
        let mut state = self.state.borrow_mut();
        let revision = state.rec.revision();
        let stored = (revision != state.saved_revision).then(|| state.rec.to_json().into_bytes());
        state.saved_revision = revision;
        let events = std::mem::take(&mut state.events)
            .into_iter()
            .map(audit_out)
            .collect();
        wengine::Saved {
            stored,
            revision,
            events,
        }
    }
}

fn registration_code(r: core::Registration) -> Result<w::Delivery, w::Error> {
    match r {
        core::Registration::CodeSent { delivery } => Ok(delivery_out(delivery)),
        core::Registration::Authenticator { .. } => Err(w::Error {
            reason: w::Refusal::Other("unexpected_registration".into()),
            message: "the engine started an authenticator registration where a code was expected"
                .into(),
        }),
    }
}

impl wenrol::Guest for Component {
    fn enrollment_check(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        now: u64,
    ) -> wenrol::NextStep {
        with(engine, user, |e, rec, _| {
            next_step_out(e.enrollment_check(rec, now))
        })
    }

    fn begin_authenticator(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        account: Option<String>,
        now: u64,
    ) -> Result<wenrol::AuthenticatorSetup, w::Error> {
        with(engine, user, |e, rec, audit| {
            match e.begin_authenticator(rec, account.as_deref(), now, &mut WasiRandom, audit) {
                Ok(core::Registration::Authenticator {
                    uri,
                    manual_key,
                    issuer,
                    account,
                    expires_at,
                }) => Ok(wenrol::AuthenticatorSetup {
                    uri: uri.expose().to_string(),
                    manual_key: manual_key.expose().to_string(),
                    issuer,
                    account,
                    expires_at,
                }),
                Ok(core::Registration::CodeSent { .. }) => Err(w::Error {
                    reason: w::Refusal::Other("unexpected_registration".into()),
                    message:
                        "the engine sent a code where an authenticator registration was expected"
                            .into(),
                }),
                Err(err) => Err(into_error(err)),
            }
        })
    }

    fn begin_import(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        uri: String,
        now: u64,
    ) -> Result<(), w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.begin_import(rec, &uri, now, &mut WasiRandom, audit),
                |()| (),
            )
        })
    }

    fn begin_phone(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        phone: wenrol::PhoneNumber,
        channel: w::PhoneChannel,
        now: u64,
    ) -> Result<w::Delivery, w::Error> {
        let number =
            core::PhoneNumber::parse(&phone.country_code, &phone.national).map_err(into_error)?;
        with(engine, user, |e, rec, audit| {
            e.begin_phone(
                rec,
                number,
                channel_in(channel),
                now,
                &mut WasiRandom,
                audit,
            )
            .map_err(into_error)
            .and_then(registration_code)
        })
    }

    fn change_phone(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        replaces: u32,
        phone: wenrol::PhoneNumber,
        channel: w::PhoneChannel,
        now: u64,
    ) -> Result<w::Delivery, w::Error> {
        let number =
            core::PhoneNumber::parse(&phone.country_code, &phone.national).map_err(into_error)?;
        with(engine, user, |e, rec, audit| {
            e.begin_phone_change(
                rec,
                replaces,
                number,
                channel_in(channel),
                now,
                &mut WasiRandom,
                audit,
            )
            .map_err(into_error)
            .and_then(registration_code)
        })
    }

    fn begin_email(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        address: String,
        now: u64,
    ) -> Result<w::Delivery, w::Error> {
        with(engine, user, |e, rec, audit| {
            e.begin_email(rec, &address, now, &mut WasiRandom, audit)
                .map_err(into_error)
                .and_then(registration_code)
        })
    }

    fn begin_passkey(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        now: u64,
    ) -> Result<w::PasskeyOptions, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.begin_passkey(rec, now, &mut WasiRandom, audit),
                passkey_options_out,
            )
        })
    }

    fn resend_registration_code(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        now: u64,
    ) -> Result<w::Delivery, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.resend_registration_code(rec, now, &mut WasiRandom, audit),
                delivery_out,
            )
        })
    }

    fn confirm_registration(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        code: String,
        now: u64,
    ) -> Result<wenrol::Confirmed, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.confirm_registration(rec, &code, now, &mut WasiRandom, audit),
                confirmed_out,
            )
        })
    }

    fn set_default_method(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        id: u32,
        now: u64,
    ) -> Result<(), w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.set_default_method(rec, id, now, audit), |()| ())
        })
    }

    fn remove_method(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        id: u32,
        now: u64,
    ) -> Result<(), w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.remove_method(rec, id, now, audit), |()| ())
        })
    }
}

impl wverify::Guest for Component {
    fn send_code(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        method: Option<u32>,
        now: u64,
    ) -> Result<w::Delivery, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.send_code(rec, method, now, &mut WasiRandom, audit),
                delivery_out,
            )
        })
    }

    fn verify(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        method: Option<u32>,
        code: String,
        now: u64,
    ) -> Result<w::Verified, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.verify(rec, method, &code, now, audit), verified_out)
        })
    }

    fn verify_recovery_code(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        code: String,
        now: u64,
    ) -> Result<w::Verified, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.verify_recovery_code(rec, &code, now, audit), verified_out)
        })
    }

    fn regenerate_recovery_codes(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        now: u64,
    ) -> Result<w::RecoveryCodes, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.regenerate_recovery_codes(rec, now, &mut WasiRandom, audit),
                recovery_out,
            )
        })
    }

    fn resync_hotp(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        id: u32,
        first: String,
        second: String,
        now: u64,
    ) -> Result<w::OtpMatch, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.resync_hotp(rec, id, &first, &second, now, audit),
                otp_match_out,
            )
        })
    }
}

impl wapp::Guest for Component {
    fn create(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        request: wapp::AppPasswordRequest,
        now: u64,
    ) -> Result<wapp::NewAppPassword, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.create_app_password(
                    rec,
                    &request.name,
                    &request.scopes,
                    request.expires_at,
                    now,
                    &mut WasiRandom,
                    audit,
                ),
                |n| wapp::NewAppPassword {
                    id: n.id,
                    name: n.name,
                    password: n.password.expose().to_string(),
                    scopes: n.scopes,
                    created_at: n.created_at,
                    expires_at: n.expires_at,
                    credential: credential_out(n.credential),
                },
            )
        })
    }

    fn verify(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        password: String,
        scope: Option<String>,
        now: u64,
    ) -> Result<w::AppPasswordMatch, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.verify_app_password(
                    rec,
                    &password,
                    scope.as_deref(),
                    now,
                    &mut WasiRandom,
                    audit,
                ),
                app_match_out,
            )
        })
    }

    fn delete(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        id: String,
        now: u64,
    ) -> Result<(), w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.delete_app_password(rec, &id, now, audit), |()| ())
        })
    }

    fn credential(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        id: String,
    ) -> Result<w::AppPasswordCredential, w::Error> {
        with(engine, user, |e, rec, _| {
            res(e.app_password_credential(rec, &id), credential_out)
        })
    }

    fn parse(password: String) -> Result<String, w::Error> {
        res(core::ParsedAppPassword::parse(&password), |p| p.id)
    }

    fn verify_credential(
        credential: w::AppPasswordCredential,
        password: String,
        scope: Option<String>,
        now: u64,
        argon2: w::Argon2Params,
    ) -> Result<w::AppPasswordMatch, w::Error> {
        let credential = credential_in(credential);
        res(
            credential.verify(&password, scope.as_deref(), now, &argon2_in(argon2)),
            app_match_out,
        )
    }
}

impl wtokens::Guest for Component {
    fn verify_session(
        engine: wengine::EngineBorrow<'_>,
        token: String,
        now: u64,
    ) -> Result<w::SessionClaims, w::Error> {
        let engine = &engine.get::<EngineRes>().engine;
        res(engine.verify_session(&token, now), claims_out)
    }

    fn verify_device_token(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        token: String,
        now: u64,
    ) -> Result<w::SessionClaims, w::Error> {
        with(engine, user, |e, rec, _| {
            res(e.verify_device_token(rec, &token, now), claims_out)
        })
    }

    fn verify_with_jwks(
        jwks: String,
        issuer: String,
        audience: String,
        kind: w::TokenKind,
        token: String,
        now: u64,
    ) -> Result<w::SessionClaims, w::Error> {
        let jwks = core::Jwks::parse(&jwks).map_err(into_error)?;
        res(
            jwks.verify(&token, &issuer, &audience, token_kind_in(kind), now),
            claims_out,
        )
    }
}

impl wadmin::Guest for Component {
    fn set_mfa_state(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        state: w::MfaState,
        actor: String,
        now: u64,
    ) {
        with(engine, user, |e, rec, audit| {
            e.set_mfa_state(rec, mfa_state_in(state), &actor, now, audit);
        });
    }

    fn set_admin_role(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        admin: bool,
        actor: String,
        now: u64,
    ) -> Result<(), w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.set_admin_role(rec, admin, &actor, now, audit), |()| ())
        })
    }

    fn require_reregistration(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: String,
        now: u64,
    ) {
        with(engine, user, |e, rec, audit| {
            e.require_reregistration(rec, &actor, now, audit);
        });
    }

    fn delete_all_app_passwords(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: String,
        now: u64,
    ) -> u32 {
        with(engine, user, |e, rec, audit| {
            e.delete_all_app_passwords(rec, &actor, now, audit)
        })
    }

    fn restore_remembered_devices(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: String,
        now: u64,
    ) {
        with(engine, user, |e, rec, audit| {
            e.restore_remembered_devices(rec, &actor, now, audit);
        });
    }

    fn unlock(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: String,
        now: u64,
    ) {
        with(engine, user, |e, rec, audit| {
            e.unlock(rec, &actor, now, audit);
        });
    }

    fn reset_methods(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: String,
        now: u64,
    ) {
        with(engine, user, |e, rec, audit| {
            e.reset_methods(rec, &actor, now, audit);
        });
    }

    fn issue_one_time_pass(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: String,
        lifetime_secs: u32,
        now: u64,
    ) -> Result<wadmin::OneTimePass, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.issue_one_time_pass(rec, &actor, lifetime_secs, now, &mut WasiRandom, audit),
                |p| wadmin::OneTimePass {
                    pass: p.pass.expose().to_string(),
                    expires_at: p.expires_at,
                },
            )
        })
    }

    fn reseal(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        now: u64,
    ) -> Result<u32, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(e.reseal(rec, now, &mut WasiRandom, audit), |n| n)
        })
    }
}

impl wotp::Guest for Component {
    fn totp_code(secret: Vec<u8>, params: w::TotpParams, now: u64) -> Result<String, w::Error> {
        #[cfg(feature = "misbehave")]
        crate::misbehave::maybe(&secret);
        res(core::totp_code(&secret, &totp_in(params), now), |c| c)
    }

    fn hotp_code(secret: Vec<u8>, params: w::HotpParams, counter: u64) -> Result<String, w::Error> {
        let h = hotp_in(params);
        res(
            core::hotp_code(&secret, h.algorithm, h.digits, counter),
            |c| c,
        )
    }

    fn check_totp(
        secret: Vec<u8>,
        params: w::TotpParams,
        code: String,
        now: u64,
        window: u8,
    ) -> Result<w::OtpMatch, w::Error> {
        res(
            core::check_totp_code(&secret, &totp_in(params), &code, now, window),
            otp_match_out,
        )
    }

    fn check_hotp(
        secret: Vec<u8>,
        params: w::HotpParams,
        code: String,
        counter: u64,
        look_ahead: u32,
    ) -> Result<w::OtpMatch, w::Error> {
        res(
            core::check_hotp_code(&secret, &hotp_in(params), &code, counter, look_ahead),
            otp_match_out,
        )
    }

    fn parse_otpauth(uri: String) -> Result<wotp::Otpauth, w::Error> {
        res(core::OtpAuthUri::parse(&uri), |(u, warnings)| {
            otpauth_out(u, warnings)
        })
    }
}

impl wcontacts::Guest for Component {
    fn parse_phone(country_code: String, national: String) -> Result<wcontacts::Phone, w::Error> {
        res(
            core::PhoneNumber::parse(&country_code, &national),
            phone_out,
        )
    }

    fn parse_e164(number: String) -> Result<wcontacts::Phone, w::Error> {
        res(core::PhoneNumber::parse_e164(&number), phone_out)
    }

    fn parse_email(
        address: String,
        organisation_domains: Vec<String>,
    ) -> Result<wcontacts::Email, w::Error> {
        res(
            core::EmailAddress::parse(&address, &organisation_domains),
            |a| wcontacts::Email {
                address: a.as_str().to_string(),
                masked: a.masked(),
            },
        )
    }
}

fn phone_out(p: core::PhoneNumber) -> wcontacts::Phone {
    wcontacts::Phone {
        e164: p.e164(),
        masked: p.masked(),
        country_code: p.country_code,
        national: p.national,
    }
}
