//! Translation between the WIT types and the engine's types. Nothing here decides.
use mfa_core as core;

use crate::bindings::exports::mfa::engine::engine as wengine;
use crate::bindings::exports::mfa::engine::enrolment as wenrol;
use crate::bindings::exports::mfa::engine::otp as wotp;
use crate::bindings::exports::mfa::engine::types as w;

/// The one place where engine errors become the WIT `error`: the reason and
/// the engine's own message.
pub(crate) fn into_error(e: core::Error) -> w::Error {
    let message = e.to_string();
    w::Error {
        reason: refusal_out(e),
        message,
    }
}

fn refusal_out(e: core::Error) -> w::Refusal {
    use core::Error as E;
    match e {
        E::InvalidInput { field, reason } => w::Refusal::InvalidInput(w::InputError {
            field: field.to_string(),
            reason,
        }),
        E::MalformedCode { expected_digits } => w::Refusal::MalformedCode(expected_digits),
        E::WrongCode => w::Refusal::WrongCode,
        E::ClockDrift { offset_secs } => w::Refusal::ClockDrift(offset_secs),
        E::Replay => w::Refusal::Replay,
        E::CodeExpired => w::Refusal::CodeExpired,
        E::NoActiveCode => w::Refusal::NoActiveCode,
        E::AttemptsExhausted => w::Refusal::AttemptsExhausted,
        E::RetryLater { until } => w::Refusal::RetryLater(until),
        E::Locked { until } => w::Refusal::Locked(until),
        E::LockedOut => w::Refusal::LockedOut,
        E::SendLimit { until } => w::Refusal::SendLimit(until),
        E::MethodNotAllowed { method } => {
            match core::MethodType::ALL.iter().find(|m| m.as_str() == method) {
                Some(m) => w::Refusal::MethodNotAllowed(method_type_out(*m)),
                None => w::Refusal::Other(E::MethodNotAllowed { method }.code().to_string()),
            }
        }
        E::UnknownMethod => w::Refusal::UnknownMethod,
        E::LastMethod => w::Refusal::LastMethod,
        E::NoPendingRegistration => w::Refusal::NoPendingRegistration,
        E::RegistrationExpired => w::Refusal::RegistrationExpired,
        E::AppPasswordsDisabled => w::Refusal::AppPasswordsDisabled,
        E::AppPasswordLimit { max } => w::Refusal::AppPasswordLimit(max),
        E::DuplicateName => w::Refusal::DuplicateName,
        E::MalformedAppPassword => w::Refusal::MalformedAppPassword,
        E::UnknownAppPassword => w::Refusal::UnknownAppPassword,
        E::WrongAppPassword => w::Refusal::WrongAppPassword,
        E::AppPasswordRevoked => w::Refusal::AppPasswordRevoked,
        E::AppPasswordExpired => w::Refusal::AppPasswordExpired,
        E::OutOfScope { scope } => w::Refusal::OutOfScope(scope),
        E::MalformedRecoveryCode => w::Refusal::MalformedRecoveryCode,
        E::WrongRecoveryCode => w::Refusal::WrongRecoveryCode,
        E::NoRecoveryCodes => w::Refusal::NoRecoveryCodes,
        E::InvalidOneTimePass => w::Refusal::InvalidOneTimePass,
        E::SealBroken { reason } => w::Refusal::SealBroken(reason.to_string()),
        E::InvalidKeys { reason } => w::Refusal::InvalidKeys(reason),
        E::InvalidPolicy { reason } => w::Refusal::InvalidPolicy(reason),
        E::MalformedToken { reason } => w::Refusal::MalformedToken(reason.to_string()),
        E::BadSignature => w::Refusal::BadSignature,
        E::TokenExpired => w::Refusal::TokenExpired,
        E::WrongTokenKind => w::Refusal::WrongTokenKind,
        E::TokenRevoked => w::Refusal::TokenRevoked,
        E::MfaRequired => w::Refusal::MfaRequired,
        E::NotAdmin => w::Refusal::NotAdmin,
        E::OwnAdminRole => w::Refusal::OwnAdminRole,
        E::ReauthRequired { window_secs } => w::Refusal::ReauthRequired(window_secs),
        E::InvalidUri { reason } => w::Refusal::InvalidUri(reason),
        E::InvalidSecret { reason } => w::Refusal::InvalidSecret(reason),
        E::CorruptRecord { reason } => w::Refusal::CorruptRecord(reason),
        E::InvalidHash { reason } => w::Refusal::InvalidHash(reason.to_string()),
        E::Passkey { kind, .. } => w::Refusal::PasskeyRefused(kind.to_string()),
        other => w::Refusal::Other(other.code().to_string()),
    }
}

/// Map a fallible engine result.
pub(crate) fn res<T, U>(r: Result<T, core::Error>, f: impl FnOnce(T) -> U) -> Result<U, w::Error> {
    r.map(f).map_err(into_error)
}

pub(crate) fn method_type_out(m: core::MethodType) -> w::MethodType {
    match m {
        core::MethodType::AuthenticatorApp => w::MethodType::AuthenticatorApp,
        core::MethodType::Text => w::MethodType::Text,
        core::MethodType::Call => w::MethodType::Call,
        core::MethodType::Email => w::MethodType::Email,
        core::MethodType::Passkey => w::MethodType::Passkey,
    }
}

pub(crate) fn method_type_in(m: w::MethodType) -> core::MethodType {
    match m {
        w::MethodType::AuthenticatorApp => core::MethodType::AuthenticatorApp,
        w::MethodType::Text => core::MethodType::Text,
        w::MethodType::Call => core::MethodType::Call,
        w::MethodType::Email => core::MethodType::Email,
        w::MethodType::Passkey => core::MethodType::Passkey,
    }
}

pub(crate) fn algorithm_out(a: core::Algorithm) -> w::Algorithm {
    match a {
        core::Algorithm::Sha1 => w::Algorithm::Sha1,
        core::Algorithm::Sha256 => w::Algorithm::Sha256,
        core::Algorithm::Sha512 => w::Algorithm::Sha512,
    }
}

pub(crate) fn algorithm_in(a: w::Algorithm) -> core::Algorithm {
    match a {
        w::Algorithm::Sha1 => core::Algorithm::Sha1,
        w::Algorithm::Sha256 => core::Algorithm::Sha256,
        w::Algorithm::Sha512 => core::Algorithm::Sha512,
    }
}

pub(crate) fn totp_out(t: core::Totp) -> w::TotpParams {
    w::TotpParams {
        algorithm: algorithm_out(t.algorithm),
        digits: t.digits,
        period: t.period,
    }
}

pub(crate) fn totp_in(t: w::TotpParams) -> core::Totp {
    core::Totp {
        algorithm: algorithm_in(t.algorithm),
        digits: t.digits,
        period: t.period,
    }
}

pub(crate) fn hotp_out(h: core::Hotp) -> w::HotpParams {
    w::HotpParams {
        algorithm: algorithm_out(h.algorithm),
        digits: h.digits,
    }
}

pub(crate) fn hotp_in(h: w::HotpParams) -> core::Hotp {
    core::Hotp {
        algorithm: algorithm_in(h.algorithm),
        digits: h.digits,
    }
}

pub(crate) fn otp_match_out(m: core::OtpMatch) -> w::OtpMatch {
    w::OtpMatch {
        counter: m.counter,
        offset: m.offset,
    }
}

pub(crate) fn argon2_out(a: core::Argon2Params) -> w::Argon2Params {
    w::Argon2Params {
        m_kib: a.m_kib,
        t: a.t,
        p: a.p,
    }
}

pub(crate) fn argon2_in(a: w::Argon2Params) -> core::Argon2Params {
    core::Argon2Params {
        m_kib: a.m_kib,
        t: a.t,
        p: a.p,
    }
}

pub(crate) fn mfa_state_out(s: core::MfaState) -> w::MfaState {
    match s {
        core::MfaState::Disabled => w::MfaState::Disabled,
        core::MfaState::Enabled => w::MfaState::Enabled,
        core::MfaState::Enforced => w::MfaState::Enforced,
    }
}

pub(crate) fn mfa_state_in(s: w::MfaState) -> core::MfaState {
    match s {
        w::MfaState::Disabled => core::MfaState::Disabled,
        w::MfaState::Enabled => core::MfaState::Enabled,
        w::MfaState::Enforced => core::MfaState::Enforced,
    }
}

pub(crate) fn channel_out(c: core::PhoneChannel) -> w::PhoneChannel {
    match c {
        core::PhoneChannel::Text => w::PhoneChannel::Text,
        core::PhoneChannel::Call => w::PhoneChannel::Call,
    }
}

pub(crate) fn channel_in(c: w::PhoneChannel) -> core::PhoneChannel {
    match c {
        w::PhoneChannel::Text => core::PhoneChannel::Text,
        w::PhoneChannel::Call => core::PhoneChannel::Call,
    }
}

pub(crate) const FACTORS: [core::Factor; 6] = [
    core::Factor::Authenticator,
    core::Factor::Phone,
    core::Factor::Email,
    core::Factor::Recovery,
    core::Factor::AppPassword,
    core::Factor::Passkey,
];

pub(crate) fn factor_out(f: core::Factor) -> w::Factor {
    match f {
        core::Factor::Authenticator => w::Factor::Authenticator,
        core::Factor::Phone => w::Factor::Phone,
        core::Factor::Email => w::Factor::Email,
        core::Factor::Recovery => w::Factor::Recovery,
        core::Factor::AppPassword => w::Factor::AppPassword,
        core::Factor::Passkey => w::Factor::Passkey,
    }
}

pub(crate) fn token_kind_out(k: core::TokenKind) -> w::TokenKind {
    match k {
        core::TokenKind::Session => w::TokenKind::Session,
        core::TokenKind::Device => w::TokenKind::Device,
        core::TokenKind::Login => w::TokenKind::Login,
        core::TokenKind::PasskeySignIn => w::TokenKind::PasskeySignIn,
    }
}

pub(crate) fn token_kind_in(k: w::TokenKind) -> core::TokenKind {
    match k {
        w::TokenKind::Session => core::TokenKind::Session,
        w::TokenKind::Device => core::TokenKind::Device,
        w::TokenKind::Login => core::TokenKind::Login,
        w::TokenKind::PasskeySignIn => core::TokenKind::PasskeySignIn,
    }
}

pub(crate) fn policy_out(p: &core::Policy) -> w::Policy {
    w::Policy {
        issuer: p.issuer.clone(),
        audience: p.audience.clone(),
        allowed_methods: p
            .allowed_methods
            .iter()
            .copied()
            .map(method_type_out)
            .collect(),
        app_passwords_allowed: p.app_passwords_allowed,
        max_app_passwords: p.max_app_passwords,
        remember_device_days: p.remember_device_days,
        session_lifetime_secs: p.session_lifetime_secs,
        totp: totp_out(p.totp),
        totp_window: p.totp_window,
        hotp_look_ahead: p.hotp_look_ahead,
        hotp_resync_window: p.hotp_resync_window,
        allow_short_secrets: p.allow_short_secrets,
        code_digits: p.code_digits,
        code_lifetime_secs: p.code_lifetime_secs,
        code_attempts: p.code_attempts,
        registration_lifetime_secs: p.registration_lifetime_secs,
        recovery_code_count: p.recovery_code_count,
        free_failures: p.free_failures,
        backoff_base_secs: p.backoff_base_secs,
        backoff_max_secs: p.backoff_max_secs,
        lockout_threshold: p.lockout_threshold,
        lockout_secs: p.lockout_secs,
        argon2: argon2_out(p.argon2),
        organisation_domains: p.organisation_domains.clone(),
        send_gap_secs: p.send_gap_secs,
        sends_per_hour: p.sends_per_hour,
        sends_per_day: p.sends_per_day,
        phone_country_codes: p.phone_country_codes.clone(),
        failure_cap: p.failure_cap,
        reauth_window_secs: p.reauth_window_secs,
        passkeys: w::PasskeyPolicy {
            rp_id: p.passkeys.rp_id.clone(),
            rp_name: p.passkeys.rp_name.clone(),
            origins: p.passkeys.origins.clone(),
            require_user_verification: p.passkeys.require_user_verification,
            allowed_aaguids: p.passkeys.allowed_aaguids.clone(),
            accept_sign_count_regression: p.passkeys.accept_sign_count_regression,
            max_per_user: p.passkeys.max_per_user,
        },
    }
}

pub(crate) fn policy_in(p: w::Policy) -> core::Policy {
    core::Policy {
        issuer: p.issuer,
        audience: p.audience,
        allowed_methods: p.allowed_methods.into_iter().map(method_type_in).collect(),
        app_passwords_allowed: p.app_passwords_allowed,
        max_app_passwords: p.max_app_passwords,
        remember_device_days: p.remember_device_days,
        session_lifetime_secs: p.session_lifetime_secs,
        totp: totp_in(p.totp),
        totp_window: p.totp_window,
        hotp_look_ahead: p.hotp_look_ahead,
        hotp_resync_window: p.hotp_resync_window,
        allow_short_secrets: p.allow_short_secrets,
        code_digits: p.code_digits,
        code_lifetime_secs: p.code_lifetime_secs,
        code_attempts: p.code_attempts,
        registration_lifetime_secs: p.registration_lifetime_secs,
        recovery_code_count: p.recovery_code_count,
        free_failures: p.free_failures,
        backoff_base_secs: p.backoff_base_secs,
        backoff_max_secs: p.backoff_max_secs,
        lockout_threshold: p.lockout_threshold,
        lockout_secs: p.lockout_secs,
        argon2: argon2_in(p.argon2),
        organisation_domains: p.organisation_domains,
        send_gap_secs: p.send_gap_secs,
        sends_per_hour: p.sends_per_hour,
        sends_per_day: p.sends_per_day,
        phone_country_codes: p.phone_country_codes,
        failure_cap: p.failure_cap,
        reauth_window_secs: p.reauth_window_secs,
        passkeys: core::PasskeyPolicy {
            rp_id: p.passkeys.rp_id,
            rp_name: p.passkeys.rp_name,
            origins: p.passkeys.origins,
            require_user_verification: p.passkeys.require_user_verification,
            allowed_aaguids: p.passkeys.allowed_aaguids,
            accept_sign_count_regression: p.passkeys.accept_sign_count_regression,
            max_per_user: p.passkeys.max_per_user,
        },
    }
}

/// A passkey ceremony's options.
pub(crate) fn passkey_options_out(o: core::PasskeyOptions) -> w::PasskeyOptions {
    w::PasskeyOptions {
        options: o.options,
        expires_at: o.expires_at,
    }
}

fn failure_out(r: core::FailureReason) -> w::FailureReason {
    use core::FailureReason as F;
    match r {
        F::Wrong => w::FailureReason::Wrong,
        F::Malformed => w::FailureReason::Malformed,
        F::Replay => w::FailureReason::Replay,
        F::Expired => w::FailureReason::Expired,
        F::AttemptsExhausted => w::FailureReason::AttemptsExhausted,
        F::Throttled => w::FailureReason::Throttled,
        F::Locked => w::FailureReason::Locked,
        F::Unknown => w::FailureReason::Unknown,
        F::Revoked => w::FailureReason::Revoked,
        F::OutOfScope => w::FailureReason::OutOfScope,
        _ => w::FailureReason::Other,
    }
}

/// The serialised name of a tagged enum value (`event` or `warning` tag), for
/// cases this version of the contract does not know.
fn tag_name<T: serde::Serialize>(value: &T, tag: &str) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.get(tag).and_then(|t| t.as_str().map(str::to_string)))
        .unwrap_or_else(|| "unknown".to_string())
}

fn audit_kind_out(k: core::AuditKind) -> w::AuditKind {
    use core::AuditKind as K;
    match k {
        K::MfaStateChanged { from, to } => w::AuditKind::MfaStateChanged(w::StateChange {
            from: mfa_state_out(from),
            to: mfa_state_out(to),
        }),
        K::RegistrationStarted => w::AuditKind::RegistrationStarted,
        K::MethodAdded { method_id } => w::AuditKind::MethodAdded(method_id),
        K::MethodRemoved { method_id } => w::AuditKind::MethodRemoved(method_id),
        K::DefaultMethodChanged { method_id } => w::AuditKind::DefaultMethodChanged(method_id),
        K::Registered => w::AuditKind::Registered,
        K::CodeSent => w::AuditKind::CodeSent,
        K::VerificationSucceeded { method_id } => w::AuditKind::VerificationSucceeded(method_id),
        K::VerificationFailed { reason } => w::AuditKind::VerificationFailed(failure_out(reason)),
        K::ReplayRefused => w::AuditKind::ReplayRefused,
        K::Locked { factor, until } => w::AuditKind::Locked(w::FactorLock {
            factor: factor_out(factor),
            until,
        }),
        K::Unlocked => w::AuditKind::Unlocked,
        K::HotpResynchronised { method_id } => w::AuditKind::HotpResynchronised(method_id),
        K::RecoveryCodesIssued { count } => w::AuditKind::RecoveryCodesIssued(count),
        K::RecoveryCodeUsed { remaining } => w::AuditKind::RecoveryCodeUsed(remaining),
        K::AppPasswordCreated { id, name } => {
            w::AuditKind::AppPasswordCreated(w::AppPasswordRef { id, name })
        }
        K::AppPasswordUsed { id } => w::AuditKind::AppPasswordUsed(id),
        K::AppPasswordRejected { reason } => w::AuditKind::AppPasswordRejected(failure_out(reason)),
        K::AppPasswordDeleted { id } => w::AuditKind::AppPasswordDeleted(id),
        K::AllAppPasswordsDeleted { count } => w::AuditKind::AllAppPasswordsDeleted(count),
        K::ReregistrationRequired => w::AuditKind::ReregistrationRequired,
        K::RememberedDevicesRestored => w::AuditKind::RememberedDevicesRestored,
        K::SessionsRevoked { epoch } => w::AuditKind::SessionsRevoked(epoch),
        K::MethodsReset => w::AuditKind::MethodsReset,
        K::SessionIssued => w::AuditKind::SessionIssued,
        K::DeviceRemembered { expires_at } => w::AuditKind::DeviceRemembered(expires_at),
        K::SecretsResealed => w::AuditKind::SecretsResealed,
        K::AdminRoleChanged { admin } => w::AuditKind::AdminRoleChanged(admin),
        K::PasskeySignCountRegressed { method_id } => {
            w::AuditKind::PasskeySignCountRegressed(method_id)
        }
        other_kind => w::AuditKind::Other(tag_name(&other_kind, "event")),
    }
}

pub(crate) fn audit_out(e: core::AuditEvent) -> w::AuditEvent {
    w::AuditEvent {
        at: e.at,
        user_id: e.user_id,
        actor: e.actor,
        method: e.method.map(method_type_out),
        kind: audit_kind_out(e.kind),
    }
}

pub(crate) fn delivery_out(d: core::Delivery) -> w::Delivery {
    w::Delivery {
        channel: method_type_out(d.channel),
        destination: d.destination,
        masked_destination: d.masked_destination,
        code: d.code.expose().to_string(),
        subject: d.subject,
        message: d.message.expose().to_string(),
        expires_at: d.expires_at,
    }
}

pub(crate) fn recovery_out(r: core::RecoveryCodes) -> w::RecoveryCodes {
    w::RecoveryCodes {
        codes: r.codes.iter().map(|c| c.expose().to_string()).collect(),
        issued_at: r.issued_at,
    }
}

pub(crate) fn verified_out(v: core::Verified) -> w::Verified {
    w::Verified {
        method_id: v.method_id(),
        method_type: v.method_type().map(method_type_out),
        matched: v.matched().map(otp_match_out),
        amr: v.amr().to_vec(),
        recovery_codes_left: v.recovery_codes_left(),
    }
}

pub(crate) fn credential_out(c: core::AppPasswordCredential) -> w::AppPasswordCredential {
    w::AppPasswordCredential {
        user: c.user,
        id: c.id,
        hash: c.hash,
        scopes: c.scopes,
        expires_at: c.expires_at,
    }
}

pub(crate) fn credential_in(c: w::AppPasswordCredential) -> core::AppPasswordCredential {
    core::AppPasswordCredential {
        user: c.user,
        id: c.id,
        hash: c.hash,
        scopes: c.scopes,
        expires_at: c.expires_at,
    }
}

pub(crate) fn app_match_out(m: core::AppPasswordMatch) -> w::AppPasswordMatch {
    w::AppPasswordMatch {
        id: m.id,
        name: m.name,
        scopes: m.scopes,
        needs_rehash: m.needs_rehash,
    }
}

pub(crate) fn claims_out(c: core::SessionClaims) -> w::SessionClaims {
    w::SessionClaims {
        iss: c.iss,
        sub: c.sub,
        aud: c.aud,
        iat: c.iat,
        exp: c.exp,
        jti: c.jti,
        amr: c.amr,
        token_use: token_kind_out(c.token_use),
        dev_epoch: c.dev_epoch,
    }
}

pub(crate) fn confirmed_out(c: core::Confirmed) -> wenrol::Confirmed {
    wenrol::Confirmed {
        method_id: c.method_id,
        matched: c.matched.map(otp_match_out),
        recovery_codes: c.recovery_codes.map(recovery_out),
    }
}

pub(crate) fn next_step_out(n: core::NextStep) -> wenrol::NextStep {
    use core::NextStep as N;
    let types = |v: Vec<core::MethodType>| v.into_iter().map(method_type_out).collect();
    match n {
        N::Continue => wenrol::NextStep::Continue,
        N::Register { allowed } => wenrol::NextStep::Register(types(allowed)),
        N::Reregister { allowed } => wenrol::NextStep::Reregister(types(allowed)),
        N::Verify {
            default,
            methods,
            recovery_codes,
            one_time_pass,
        } => wenrol::NextStep::Verify(wenrol::VerifyOptions {
            default,
            methods,
            recovery_codes,
            one_time_pass,
        }),
        N::Replace {
            allowed,
            methods,
            recovery_codes,
            one_time_pass,
        } => wenrol::NextStep::Replace(wenrol::ReplaceOptions {
            allowed: types(allowed),
            methods,
            recovery_codes,
            one_time_pass,
        }),
        N::Locked { until } => wenrol::NextStep::Locked(until),
        N::LockedOut => wenrol::NextStep::LockedOut,
    }
}

fn method_kind_out(k: core::MethodKind) -> wengine::MethodKind {
    match k {
        core::MethodKind::Totp { params } => wengine::MethodKind::Totp(totp_out(params)),
        core::MethodKind::Hotp { params } => wengine::MethodKind::Hotp(hotp_out(params)),
        core::MethodKind::Phone { masked, channel } => {
            wengine::MethodKind::Phone(wengine::MaskedPhone {
                masked,
                channel: channel_out(channel),
            })
        }
        core::MethodKind::Email { masked } => wengine::MethodKind::Email(masked),
        core::MethodKind::Passkey {
            name,
            aaguid,
            backup_eligible,
            backed_up,
            user_verified,
        } => wengine::MethodKind::Passkey(wengine::PasskeyInfo {
            name,
            aaguid,
            backup_eligible,
            backed_up,
            user_verified,
        }),
    }
}

pub(crate) fn method_out(m: core::Method) -> wengine::Method {
    wengine::Method {
        id: m.id,
        method_type: method_type_out(m.method_type),
        kind: method_kind_out(m.kind),
        is_default: m.is_default,
        added_at: m.added_at,
        last_used_at: m.last_used_at,
    }
}

pub(crate) fn app_info_out(a: core::AppPasswordInfo) -> wengine::AppPasswordInfo {
    wengine::AppPasswordInfo {
        id: a.id,
        name: a.name,
        scopes: a.scopes,
        created_at: a.created_at,
        expires_at: a.expires_at,
        last_used_at: a.last_used_at,
    }
}

pub(crate) fn jwk_out(k: core::Jwk) -> wengine::Jwk {
    wengine::Jwk {
        kid: k.kid,
        kty: k.kty,
        crv: k.crv,
        x: k.x,
        alg: k.alg,
        use_: k.use_,
    }
}

fn warning_out(w: core::UriWarning) -> wotp::UriWarning {
    use core::UriWarning as U;
    match w {
        U::ShortSecret { bits } => wotp::UriWarning::ShortSecret(bits),
        U::IssuerMismatch => wotp::UriWarning::IssuerMismatch,
        U::MissingIssuer => wotp::UriWarning::MissingIssuer,
        U::OftenIgnored { parameter } => wotp::UriWarning::OftenIgnored(parameter),
        U::UnknownParameter { parameter } => wotp::UriWarning::UnknownParameter(parameter),
        other_warning => wotp::UriWarning::Other(tag_name(&other_warning, "warning")),
    }
}

pub(crate) fn otpauth_out(u: core::OtpAuthUri, warnings: Vec<core::UriWarning>) -> wotp::Otpauth {
    wotp::Otpauth {
        kind: match u.kind {
            core::OtpKind::Totp { period } => wotp::OtpKind::Totp(period),
            core::OtpKind::Hotp { counter } => wotp::OtpKind::Hotp(counter),
        },
        issuer: u.issuer.clone(),
        account: u.account.clone(),
        algorithm: algorithm_out(u.algorithm),
        digits: u.digits,
        secret: u.secret().to_vec(),
        warnings: warnings.into_iter().map(warning_out).collect(),
    }
}
