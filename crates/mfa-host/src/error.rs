//! Errors: the engine's refusals ([`EngineError`], the WIT `error` variant) and
//! the host's own failures ([`Error`]).
use core::fmt;
use std::time::Duration;

use crate::bindings::exports::mfa::engine::types as w;
use crate::{MethodType, UnixTime};

/// Why the engine refused an operation: the WIT `error` variant, with the same
/// reasons as the engine. [`EngineError::code`] gives the engine's stable code.
/// No case carries a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineError {
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
    /// An engine error without a case of its own in this version.
    Other {
        /// The engine's code.
        code: String,
        /// Its message.
        message: String,
    },
}

impl EngineError {
    /// The engine's stable identifier of the error kind (`snake_case`), equal
    /// to `mfa_core::Error::code` for the same refusal.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::MalformedCode { .. } => "malformed_code",
            Self::WrongCode => "wrong_code",
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
            Self::ReauthRequired { .. } => "reauth_required",
            Self::InvalidUri { .. } => "invalid_uri",
            Self::InvalidSecret { .. } => "invalid_secret",
            Self::CorruptRecord { .. } => "corrupt_record",
            Self::InvalidHash { .. } => "invalid_hash",
            Self::Other { code, .. } => code,
        }
    }
}

fn method_name(m: MethodType) -> &'static str {
    match m {
        MethodType::AuthenticatorApp => "authenticator app",
        MethodType::Text => "text message",
        MethodType::Call => "phone call",
        MethodType::Email => "e-mail",
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Self::MalformedCode { expected_digits } => {
                write!(f, "the code must be {expected_digits} digits")
            }
            Self::WrongCode => f.write_str("the code is not correct"),
            Self::Replay => f.write_str("this code was already used; wait for the next one"),
            Self::CodeExpired => f.write_str("the code has expired; ask for a new one"),
            Self::NoActiveCode => f.write_str("no code was sent for this method; ask for one first"),
            Self::AttemptsExhausted => {
                f.write_str("too many wrong attempts for this code; ask for a new one")
            }
            Self::RetryLater { until } => {
                write!(f, "too many failed attempts; try again after {until} (unix time)")
            }
            Self::Locked { until } => write!(
                f,
                "locked after too many failed attempts until {until} (unix time); an administrator can unlock it sooner"
            ),
            Self::LockedOut => f.write_str(
                "locked after too many failed attempts in a row; ask an administrator to unlock your account",
            ),
            Self::InvalidOneTimePass => f.write_str(
                "the one-time pass is not valid: it is wrong, was already used or has expired; ask your administrator for a new one",
            ),
            Self::SendLimit { until } => write!(
                f,
                "too many codes were sent; you can ask for another after {until} (unix time)"
            ),
            Self::MethodNotAllowed { method } => write!(
                f,
                "your organisation does not allow the {} method",
                method_name(*method)
            ),
            Self::UnknownMethod => f.write_str("no such verification method is registered"),
            Self::NoPendingRegistration => {
                f.write_str("no registration is in progress; start the set-up again")
            }
            Self::RegistrationExpired => {
                f.write_str("the registration took too long and expired; start the set-up again")
            }
            Self::AppPasswordsDisabled => {
                f.write_str("your organisation does not allow creating app passwords")
            }
            Self::AppPasswordLimit { max } => write!(
                f,
                "you already have {max} app passwords, the most allowed; delete one you no longer use"
            ),
            Self::DuplicateName => f.write_str("you already have an app password with this name"),
            Self::MalformedAppPassword => f.write_str(
                "this is not an app password generated by the system (check for a mistyped character)",
            ),
            Self::UnknownAppPassword => f.write_str("no such app password exists for this user"),
            Self::WrongAppPassword => f.write_str("the app password is not correct"),
            Self::AppPasswordRevoked => f.write_str("this app password was deleted"),
            Self::AppPasswordExpired => f.write_str("this app password has expired"),
            Self::OutOfScope { scope } if scope.is_empty() => f.write_str(
                "this app password is limited to its scopes and may not be used where no scope is named",
            ),
            Self::OutOfScope { scope } => {
                write!(f, "this app password may not be used for \"{scope}\"")
            }
            Self::MalformedRecoveryCode => {
                f.write_str("a recovery code is 12 letters and digits, like abcd-efgh-jkmn")
            }
            Self::WrongRecoveryCode => {
                f.write_str("the recovery code is not valid or was already used")
            }
            Self::NoRecoveryCodes => f.write_str("no recovery codes have been issued"),
            Self::SealBroken { reason } => write!(f, "stored secret cannot be opened: {reason}"),
            Self::InvalidKeys { reason } => write!(f, "invalid keys: {reason}"),
            Self::InvalidPolicy { reason } => write!(f, "invalid policy: {reason}"),
            Self::MalformedToken { reason } => write!(f, "malformed token: {reason}"),
            Self::BadSignature => f.write_str("token signature does not verify"),
            Self::TokenExpired => f.write_str("token has expired; sign in again"),
            Self::WrongTokenKind => f.write_str("token is of the wrong kind for this use"),
            Self::TokenRevoked => f.write_str("token was revoked; sign in again"),
            Self::ReauthRequired { window_secs } => write!(
                f,
                "verify your second factor again: this change needs a verification in the last {} minutes",
                window_secs.div_ceil(60)
            ),
            Self::MfaRequired => f.write_str(
                "verify your second factor first; adding methods needs a verified session",
            ),
            Self::InvalidUri { reason } => write!(f, "invalid otpauth URI: {reason}"),
            Self::InvalidSecret { reason } => write!(f, "invalid secret: {reason}"),
            Self::CorruptRecord { reason } => {
                write!(f, "stored user record is unreadable: {reason}")
            }
            Self::InvalidHash { reason } => write!(f, "invalid stored hash: {reason}"),
            Self::Other { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<w::Error> for EngineError {
    fn from(e: w::Error) -> Self {
        match e {
            w::Error::InvalidInput(i) => Self::InvalidInput {
                field: i.field,
                reason: i.reason,
            },
            w::Error::MalformedCode(d) => Self::MalformedCode { expected_digits: d },
            w::Error::WrongCode => Self::WrongCode,
            w::Error::Replay => Self::Replay,
            w::Error::CodeExpired => Self::CodeExpired,
            w::Error::NoActiveCode => Self::NoActiveCode,
            w::Error::AttemptsExhausted => Self::AttemptsExhausted,
            w::Error::RetryLater(until) => Self::RetryLater { until },
            w::Error::Locked(until) => Self::Locked { until },
            w::Error::LockedOut => Self::LockedOut,
            w::Error::InvalidOneTimePass => Self::InvalidOneTimePass,
            w::Error::SendLimit(until) => Self::SendLimit { until },
            w::Error::MethodNotAllowed(method) => Self::MethodNotAllowed { method },
            w::Error::UnknownMethod => Self::UnknownMethod,
            w::Error::NoPendingRegistration => Self::NoPendingRegistration,
            w::Error::RegistrationExpired => Self::RegistrationExpired,
            w::Error::AppPasswordsDisabled => Self::AppPasswordsDisabled,
            w::Error::AppPasswordLimit(max) => Self::AppPasswordLimit { max },
            w::Error::DuplicateName => Self::DuplicateName,
            w::Error::MalformedAppPassword => Self::MalformedAppPassword,
            w::Error::UnknownAppPassword => Self::UnknownAppPassword,
            w::Error::WrongAppPassword => Self::WrongAppPassword,
            w::Error::AppPasswordRevoked => Self::AppPasswordRevoked,
            w::Error::AppPasswordExpired => Self::AppPasswordExpired,
            w::Error::OutOfScope(scope) => Self::OutOfScope { scope },
            w::Error::MalformedRecoveryCode => Self::MalformedRecoveryCode,
            w::Error::WrongRecoveryCode => Self::WrongRecoveryCode,
            w::Error::NoRecoveryCodes => Self::NoRecoveryCodes,
            w::Error::SealBroken(reason) => Self::SealBroken { reason },
            w::Error::InvalidKeys(reason) => Self::InvalidKeys { reason },
            w::Error::InvalidPolicy(reason) => Self::InvalidPolicy { reason },
            w::Error::MalformedToken(reason) => Self::MalformedToken { reason },
            w::Error::BadSignature => Self::BadSignature,
            w::Error::TokenExpired => Self::TokenExpired,
            w::Error::WrongTokenKind => Self::WrongTokenKind,
            w::Error::TokenRevoked => Self::TokenRevoked,
            w::Error::MfaRequired => Self::MfaRequired,
            w::Error::ReauthRequired(window_secs) => Self::ReauthRequired { window_secs },
            w::Error::InvalidUri(reason) => Self::InvalidUri { reason },
            w::Error::InvalidSecret(reason) => Self::InvalidSecret { reason },
            w::Error::CorruptRecord(reason) => Self::CorruptRecord { reason },
            w::Error::InvalidHash(reason) => Self::InvalidHash { reason },
            w::Error::Other(d) => Self::Other {
                code: d.code,
                message: d.message,
            },
        }
    }
}

/// Everything a call through the host can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The engine refused before the operation ran (unreadable record, bad
    /// configuration) or, for calls without a record, refused the operation.
    Engine(EngineError),
    /// The call ran past its deadline and was stopped. The instance was discarded.
    Timeout {
        /// The deadline in force.
        limit: Duration,
    },
    /// The call needed more memory than the limit. The instance was discarded.
    MemoryLimit {
        /// The limit in bytes.
        limit_bytes: usize,
    },
    /// The component crashed (a trap). The instance was discarded.
    Trap {
        /// What wasmtime reported.
        message: String,
    },
    /// An argument is larger than the host accepts, refused before the call.
    InputTooLarge {
        /// Which argument.
        what: &'static str,
        /// The most accepted, in bytes or items.
        max: usize,
    },
    /// The component could not be read, compiled or linked.
    Load {
        /// Why.
        reason: String,
    },
    /// The host's own settings are unusable.
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// A stable identifier of the error kind (`snake_case`): the engine's
    /// code for its refusals, otherwise one of `timeout`, `memory_limit`,
    /// `trap`, `input_too_large`, `load` and `config`.
    pub fn code(&self) -> &str {
        match self {
            Self::Engine(e) => e.code(),
            Self::Timeout { .. } => "timeout",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::Trap { .. } => "trap",
            Self::InputTooLarge { .. } => "input_too_large",
            Self::Load { .. } => "load",
            Self::Config { .. } => "config",
        }
    }

    /// The engine's refusal, if that is what this is.
    pub fn engine(&self) -> Option<&EngineError> {
        match self {
            Self::Engine(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(e) => e.fmt(f),
            Self::Timeout { limit } => write!(
                f,
                "the engine call ran longer than its {} ms deadline and was stopped",
                limit.as_millis()
            ),
            Self::MemoryLimit { limit_bytes } => write!(
                f,
                "the engine call needed more than its {} MiB memory limit and was stopped",
                limit_bytes >> 20
            ),
            Self::Trap { message } => write!(f, "the engine component crashed: {message}"),
            Self::InputTooLarge { what, max } => {
                write!(f, "{what} is too large (at most {max})")
            }
            Self::Load { reason } => write!(f, "cannot load the engine component: {reason}"),
            Self::Config { reason } => write!(f, "invalid host configuration: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Engine(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

impl From<w::Error> for Error {
    fn from(e: w::Error) -> Self {
        Self::Engine(e.into())
    }
}
