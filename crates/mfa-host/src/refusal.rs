//! The reasons the engine refuses an operation ([`Refusal`], the WIT `refusal`
//! variant), typed for hosts to match on, with the engine's stable codes.
use crate::bindings::exports::mfa::engine::types as w;
use crate::{MethodType, UnixTime};

/// Why the engine refused an operation: the WIT `refusal` variant, with the
/// same cases as the engine. [`Refusal::code`] gives the engine's stable code.
/// No case carries a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// An argument was out of range or badly formed.
    InvalidInput {
        /// The argument or configuration field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The code is not made of the expected number of digits.
    MalformedCode {
        /// Digits expected.
        expected_digits: u8,
    },
    /// The code is well formed but does not match.
    WrongCode,
    /// While registering an authenticator app: the code is the code of a
    /// time `offset_secs` away (the phone's clock is off).
    ClockDrift {
        /// Seconds between the phone's clock and the engine's (negative: behind).
        offset_secs: i64,
    },
    /// The code was already used.
    Replay,
    /// The sent code has expired.
    CodeExpired,
    /// No code was sent for this method, or it was already used.
    NoActiveCode,
    /// The code was entered wrongly too many times.
    AttemptsExhausted,
    /// Too many failures in a row: retry after `until`.
    RetryLater {
        /// When the next attempt is accepted.
        until: UnixTime,
    },
    /// The factor is locked until `until`.
    Locked {
        /// When the lock ends by itself.
        until: UnixTime,
    },
    /// Too many failed second factors in a row: only an admin can unlock the user.
    LockedOut,
    /// The one-time pass is wrong, used or expired.
    InvalidOneTimePass,
    /// Too many codes were sent lately: the next can be sent at `until`.
    SendLimit {
        /// When a code can be sent again.
        until: UnixTime,
    },
    /// The policy does not allow this method.
    MethodNotAllowed {
        /// The method.
        method: MethodType,
    },
    /// No registered method has this id, or it is not of the expected kind.
    UnknownMethod,
    /// The user's only usable method cannot be removed while MFA is on.
    LastMethod,
    /// There is no registration in progress to confirm.
    NoPendingRegistration,
    /// The registration in progress expired.
    RegistrationExpired,
    /// The policy does not allow creating app passwords.
    AppPasswordsDisabled,
    /// The user already has the maximum number of app passwords.
    AppPasswordLimit {
        /// The limit.
        max: u32,
    },
    /// The name is already used by another app password of this user.
    DuplicateName,
    /// Not an app password in the format the system generates.
    MalformedAppPassword,
    /// No app password of this user has this id.
    UnknownAppPassword,
    /// The app password does not match.
    WrongAppPassword,
    /// The app password was deleted.
    AppPasswordRevoked,
    /// The app password has expired.
    AppPasswordExpired,
    /// The app password is not valid for this scope.
    OutOfScope {
        /// The scope asked for.
        scope: String,
    },
    /// The recovery code is not in the expected format.
    MalformedRecoveryCode,
    /// The recovery code is wrong or was already used.
    WrongRecoveryCode,
    /// The user has no recovery codes.
    NoRecoveryCodes,
    /// A sealed secret could not be opened.
    SealBroken {
        /// Why.
        reason: String,
    },
    /// The keys are unusable.
    InvalidKeys {
        /// What is wrong.
        reason: String,
    },
    /// The policy is inconsistent.
    InvalidPolicy {
        /// What is wrong.
        reason: String,
    },
    /// The token is not a well-formed token of this system.
    MalformedToken {
        /// What is wrong.
        reason: String,
    },
    /// The token's signature does not verify.
    BadSignature,
    /// The token has expired.
    TokenExpired,
    /// The token is of the other kind.
    WrongTokenKind,
    /// The token was revoked.
    TokenRevoked,
    /// This step needs a verified second factor; the caller passed only the first.
    MfaRequired,
    /// The caller does not hold the admin role.
    NotAdmin,
    /// An admin tried to take their own admin role.
    OwnAdminRole,
    /// This change needs a second factor verified within the policy's window.
    ReauthRequired {
        /// The window in seconds.
        window_secs: u32,
    },
    /// The otpauth URI could not be read.
    InvalidUri {
        /// What is wrong.
        reason: String,
    },
    /// A shared secret is unusable.
    InvalidSecret {
        /// What is wrong.
        reason: String,
    },
    /// The stored record could not be read.
    CorruptRecord {
        /// What is wrong.
        reason: String,
    },
    /// The stored hash is not an argon2id PHC string the engine can check.
    InvalidHash {
        /// What is wrong.
        reason: String,
    },
    /// A passkey registration or sign-in was refused.
    PasskeyRefused {
        /// The failed check (`challenge_mismatch`, `origin_not_allowed`, `bad_signature`, …).
        check: String,
    },
    /// An engine error without a case of its own in this version.
    Other {
        /// The engine's code.
        code: String,
    },
}

impl Refusal {
    /// The engine's stable identifier of the error kind (`snake_case`), equal
    /// to `mfa_core::Error::code` for the same refusal.
    pub fn code(&self) -> &str {
        match self {
            Self::Other { code } => code,
            known => known.static_code().unwrap_or("other"),
        }
    }

    /// [`Refusal::code`] as a static string, for every case but
    /// [`Refusal::Other`] (whose code is whatever the engine sent).
    pub fn static_code(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::MalformedCode { .. } => "malformed_code",
            Self::WrongCode => "wrong_code",
            Self::ClockDrift { .. } => "clock_drift",
            Self::Replay => "replay",
            Self::CodeExpired => "code_expired",
            Self::NoActiveCode => "no_active_code",
            Self::AttemptsExhausted => "attempts_exhausted",
            Self::RetryLater { .. } => "retry_later",
            Self::Locked { .. } => "locked",
            Self::LockedOut => "locked_out",
            Self::InvalidOneTimePass => "invalid_one_time_pass",
            Self::SendLimit { .. } => "send_limit",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::UnknownMethod => "unknown_method",
            Self::LastMethod => "last_method",
            Self::NoPendingRegistration => "no_pending_registration",
            Self::RegistrationExpired => "registration_expired",
            Self::AppPasswordsDisabled => "app_passwords_disabled",
            Self::AppPasswordLimit { .. } => "app_password_limit",
            Self::DuplicateName => "duplicate_name",
            Self::MalformedAppPassword => "malformed_app_password",
            Self::UnknownAppPassword => "unknown_app_password",
            Self::WrongAppPassword => "wrong_app_password",
            Self::AppPasswordRevoked => "app_password_revoked",
            Self::AppPasswordExpired => "app_password_expired",
            Self::OutOfScope { .. } => "out_of_scope",
            Self::MalformedRecoveryCode => "malformed_recovery_code",
            Self::WrongRecoveryCode => "wrong_recovery_code",
            Self::NoRecoveryCodes => "no_recovery_codes",
            Self::SealBroken { .. } => "seal_broken",
            Self::InvalidKeys { .. } => "invalid_keys",
            Self::InvalidPolicy { .. } => "invalid_policy",
            Self::MalformedToken { .. } => "malformed_token",
            Self::BadSignature => "bad_signature",
            Self::TokenExpired => "token_expired",
            Self::WrongTokenKind => "wrong_token_kind",
            Self::TokenRevoked => "token_revoked",
            Self::MfaRequired => "mfa_required",
            Self::NotAdmin => "not_admin",
            Self::OwnAdminRole => "own_admin_role",
            Self::ReauthRequired { .. } => "reauth_required",
            Self::InvalidUri { .. } => "invalid_uri",
            Self::InvalidSecret { .. } => "invalid_secret",
            Self::CorruptRecord { .. } => "corrupt_record",
            Self::InvalidHash { .. } => "invalid_hash",
            Self::PasskeyRefused { .. } => "passkey_refused",
            Self::Other { .. } => return None,
        })
    }
}

impl From<w::Refusal> for Refusal {
    fn from(e: w::Refusal) -> Self {
        match e {
            w::Refusal::InvalidInput(i) => Self::InvalidInput {
                field: i.field,
                reason: i.reason,
            },
            w::Refusal::MalformedCode(d) => Self::MalformedCode { expected_digits: d },
            w::Refusal::WrongCode => Self::WrongCode,
            w::Refusal::ClockDrift(offset_secs) => Self::ClockDrift { offset_secs },
            w::Refusal::Replay => Self::Replay,
            w::Refusal::CodeExpired => Self::CodeExpired,
            w::Refusal::NoActiveCode => Self::NoActiveCode,
            w::Refusal::AttemptsExhausted => Self::AttemptsExhausted,
            w::Refusal::RetryLater(until) => Self::RetryLater { until },
            w::Refusal::Locked(until) => Self::Locked { until },
            w::Refusal::LockedOut => Self::LockedOut,
            w::Refusal::InvalidOneTimePass => Self::InvalidOneTimePass,
            w::Refusal::SendLimit(until) => Self::SendLimit { until },
            w::Refusal::MethodNotAllowed(method) => Self::MethodNotAllowed { method },
            w::Refusal::UnknownMethod => Self::UnknownMethod,
            w::Refusal::LastMethod => Self::LastMethod,
            w::Refusal::NoPendingRegistration => Self::NoPendingRegistration,
            w::Refusal::RegistrationExpired => Self::RegistrationExpired,
            w::Refusal::AppPasswordsDisabled => Self::AppPasswordsDisabled,
            w::Refusal::AppPasswordLimit(max) => Self::AppPasswordLimit { max },
            w::Refusal::DuplicateName => Self::DuplicateName,
            w::Refusal::MalformedAppPassword => Self::MalformedAppPassword,
            w::Refusal::UnknownAppPassword => Self::UnknownAppPassword,
            w::Refusal::WrongAppPassword => Self::WrongAppPassword,
            w::Refusal::AppPasswordRevoked => Self::AppPasswordRevoked,
            w::Refusal::AppPasswordExpired => Self::AppPasswordExpired,
            w::Refusal::OutOfScope(scope) => Self::OutOfScope { scope },
            w::Refusal::MalformedRecoveryCode => Self::MalformedRecoveryCode,
            w::Refusal::WrongRecoveryCode => Self::WrongRecoveryCode,
            w::Refusal::NoRecoveryCodes => Self::NoRecoveryCodes,
            w::Refusal::SealBroken(reason) => Self::SealBroken { reason },
            w::Refusal::InvalidKeys(reason) => Self::InvalidKeys { reason },
            w::Refusal::InvalidPolicy(reason) => Self::InvalidPolicy { reason },
            w::Refusal::MalformedToken(reason) => Self::MalformedToken { reason },
            w::Refusal::BadSignature => Self::BadSignature,
            w::Refusal::TokenExpired => Self::TokenExpired,
            w::Refusal::WrongTokenKind => Self::WrongTokenKind,
            w::Refusal::TokenRevoked => Self::TokenRevoked,
            w::Refusal::MfaRequired => Self::MfaRequired,
            w::Refusal::NotAdmin => Self::NotAdmin,
            w::Refusal::OwnAdminRole => Self::OwnAdminRole,
            w::Refusal::ReauthRequired(window_secs) => Self::ReauthRequired { window_secs },
            w::Refusal::InvalidUri(reason) => Self::InvalidUri { reason },
            w::Refusal::InvalidSecret(reason) => Self::InvalidSecret { reason },
            w::Refusal::CorruptRecord(reason) => Self::CorruptRecord { reason },
            w::Refusal::InvalidHash(reason) => Self::InvalidHash { reason },
            w::Refusal::PasskeyRefused(check) => Self::PasskeyRefused { check },
            w::Refusal::Other(code) => Self::Other { code },
        }
    }
}
