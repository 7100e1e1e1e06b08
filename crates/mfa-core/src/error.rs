//! The one error type of the engine.
use core::fmt;

use crate::UnixTime;

/// Everything that can go wrong in the engine, each with a message a person can
/// act on. Messages never contain a secret (no code, seed or password).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An argument was out of range or badly formed; `field` names it.
    InvalidInput {
        /// The argument or configuration field that was refused.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The code is not made of the expected number of digits.
    MalformedCode {
        /// How many digits were expected.
        expected_digits: u8,
    },
    /// The code is well formed but does not match.
    WrongCode,
    /// While registering an authenticator app: the code is not correct now
    /// but is the code of a time `offset_secs` away (the phone's clock is off).
    ClockDrift {
        /// Seconds between the phone's clock and the engine's (negative: behind).
        offset_secs: i64,
    },
    /// The code was already used (its time step or counter is not newer than the last accepted one).
    Replay,
    /// The code sent by text, call or email has expired; ask for a new one.
    CodeExpired,
    /// No code was sent for this method, or it was already used.
    NoActiveCode,
    /// The code was entered wrongly too many times; ask for a new one.
    AttemptsExhausted,
    /// Too many failures in a row: wait until `until` before trying again.
    RetryLater {
        /// When the next attempt will be accepted.
        until: UnixTime,
    },
    /// This factor is locked after too many consecutive failures.
    Locked {
        /// When the lock ends by itself (an admin can unlock sooner).
        until: UnixTime,
    },
    /// Too many failed second factors in a row, over every method: only an
    /// administrator can unlock the user now.
    LockedOut,
    /// Too many codes were sent lately (to this user, this destination or from
    /// this address): the next one can be sent at `until`.
    SendLimit {
        /// When a code can be sent again.
        until: UnixTime,
    },
    /// The organisation's policy does not allow this method.
    MethodNotAllowed {
        /// The method's name.
        method: &'static str,
    },
    /// No registered method has this id, or it is not of the expected kind.
    UnknownMethod,
    /// The method is the user's only usable one while MFA is on: removing it
    /// would leave nothing to sign in with; add another first.
    LastMethod,
    /// There is no registration in progress to confirm.
    NoPendingRegistration,
    /// The registration in progress expired; start again.
    RegistrationExpired,
    /// The organisation's policy does not allow creating app passwords.
    AppPasswordsDisabled,
    /// The user already has the maximum number of app passwords.
    AppPasswordLimit {
        /// The limit.
        max: u32,
    },
    /// The name is already used by another app password of this user.
    DuplicateName,
    /// The presented app password is not in the format the system generates (or a character was mistyped).
    MalformedAppPassword,
    /// No app password of this user has this id.
    UnknownAppPassword,
    /// The app password does not match.
    WrongAppPassword,
    /// The app password was deleted.
    AppPasswordRevoked,
    /// The app password has expired.
    AppPasswordExpired,
    /// The app password is not valid for this use.
    OutOfScope {
        /// The scope that was asked for.
        scope: String,
    },
    /// The recovery code is not in the expected format.
    MalformedRecoveryCode,
    /// The recovery code is not valid (wrong, or already used).
    WrongRecoveryCode,
    /// The user has no recovery codes.
    NoRecoveryCodes,
    /// The one-time pass is wrong, was already used or has expired (or none was issued).
    InvalidOneTimePass,
    /// A sealed secret could not be opened: it was tampered with, copied from another user, or sealed with an unknown key.
    SealBroken {
        /// Why it could not be opened.
        reason: &'static str,
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
        reason: &'static str,
    },
    /// The token's signature does not verify with any known key.
    BadSignature,
    /// The token has expired.
    TokenExpired,
    /// The token is of another kind (a device token where a session token is expected, or the reverse).
    WrongTokenKind,
    /// The token was revoked: an admin restored MFA on all remembered devices, or it belongs to another user.
    TokenRevoked,
    /// This step needs a verified second factor (an MFA session), and the
    /// caller has passed only the first one.
    MfaRequired,
    /// The caller is signed in with MFA but does not hold the admin role.
    NotAdmin,
    /// An admin tried to take their own admin role (another admin must, so
    /// that someone is always left to give it back).
    OwnAdminRole,
    /// This change needs a second factor verified in the last `window_secs`
    /// seconds: verify again, then repeat it.
    ReauthRequired {
        /// The policy's window.
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
    /// The stored hash is not an argon2id PHC string this engine can check.
    InvalidHash {
        /// What is wrong.
        reason: &'static str,
    },
    /// A passkey registration or sign-in was refused: `kind` names the
    /// check that failed (`challenge_mismatch`, `origin_not_allowed`,
    /// `bad_signature`, `sign_count_regressed`, …) and `reason` says it in
    /// words. Never contains a challenge, signature or key.
    Passkey {
        /// The failed check, `snake_case`.
        kind: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// A short stable identifier of the error kind (`snake_case`), for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
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
            Self::InvalidOneTimePass => "invalid_one_time_pass",
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
            Self::Passkey { .. } => "passkey_refused",
        }
    }

    pub(crate) fn input(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            Self::MalformedCode { expected_digits } => {
                write!(f, "the code must be {expected_digits} digits")
            }
            Self::WrongCode => f.write_str("the code is not correct"),
            Self::ClockDrift { offset_secs } => {
                let minutes = offset_secs.unsigned_abs().div_ceil(60);
                let side = if *offset_secs < 0 { "behind" } else { "ahead" };
                write!(
                    f,
                    "the code is from a clock about {minutes} min {side}: set the phone's date and time to automatic, then try a new code"
                )
            }
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
            Self::SendLimit { until } => write!(
                f,
                "too many codes were sent; you can ask for another after {until} (unix time)"
            ),
            Self::MethodNotAllowed { method } => {
                write!(f, "your organisation does not allow the {method} method")
            }
            Self::UnknownMethod => f.write_str("no such verification method is registered"),
            Self::LastMethod => f.write_str(
                "this is your only sign-in method: add another one before removing it",
            ),
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
            Self::WrongRecoveryCode => f.write_str("the recovery code is not valid or was already used"),
            Self::NoRecoveryCodes => f.write_str("no recovery codes have been issued"),
            Self::InvalidOneTimePass => f.write_str(
                "the one-time pass is not valid: it is wrong, was already used or has expired; ask your administrator for a new one",
            ),
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
                "verify your second factor first: this needs a session signed in with MFA",
            ),
            Self::NotAdmin => f.write_str(
                "this account is not an admin: ask an admin to give it the admin role",
            ),
            Self::OwnAdminRole => {
                f.write_str("you cannot take your own admin role: ask another admin")
            }
            Self::InvalidUri { reason } => write!(f, "invalid otpauth URI: {reason}"),
            Self::InvalidSecret { reason } => write!(f, "invalid secret: {reason}"),
            Self::CorruptRecord { reason } => write!(f, "stored user record is unreadable: {reason}"),
            Self::InvalidHash { reason } => write!(f, "invalid stored hash: {reason}"),
            Self::Passkey { reason, .. } => f.write_str(reason),
        }
    }
}

impl std::error::Error for Error {}
