//! Audit events: every security-relevant change, never a secret.
use serde::{Deserialize, Serialize};

use crate::policy::MethodType;
use crate::record::{MethodId, MfaState};
use crate::throttle::Factor;
use crate::{Error, UnixTime};

/// Why a verification failed, in audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureReason {
    /// Well formed but wrong.
    Wrong,
    /// Not in the expected format.
    Malformed,
    /// Already used.
    Replay,
    /// Expired.
    Expired,
    /// The sent code had no attempts left.
    AttemptsExhausted,
    /// Refused during back-off.
    Throttled,
    /// Refused while locked.
    Locked,
    /// No such credential.
    Unknown,
    /// The credential was deleted.
    Revoked,
    /// Not valid for the requested scope.
    OutOfScope,
    /// Any other refusal.
    Other,
}

impl From<&Error> for FailureReason {
    fn from(e: &Error) -> Self {
        match e {
            Error::WrongCode
            | Error::ClockDrift { .. }
            | Error::WrongAppPassword
            | Error::WrongRecoveryCode
            | Error::InvalidOneTimePass => Self::Wrong,
            Error::MalformedCode { .. }
            | Error::MalformedAppPassword
            | Error::MalformedRecoveryCode => Self::Malformed,
            Error::Replay => Self::Replay,
            Error::CodeExpired | Error::AppPasswordExpired => Self::Expired,
            Error::AttemptsExhausted => Self::AttemptsExhausted,
            Error::RetryLater { .. } => Self::Throttled,
            Error::Locked { .. } | Error::LockedOut => Self::Locked,
            Error::UnknownAppPassword | Error::UnknownMethod | Error::NoActiveCode => Self::Unknown,
            Error::AppPasswordRevoked => Self::Revoked,
            Error::OutOfScope { .. } => Self::OutOfScope,
            Error::Passkey { kind, .. } => match *kind {
                "bad_signature" | "challenge_mismatch" | "user_handle_mismatch" => Self::Wrong,
                "unknown_credential" => Self::Unknown,
                "ceremony_expired" => Self::Expired,
                "sign_count_regressed" | "ceremony_used" => Self::Replay,
                "password_required" => Self::Other,
                _ => Self::Malformed,
            },
            _ => Self::Other,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditKind {
    /// An admin changed the user's MFA state.
    MfaStateChanged {
        /// Before.
        from: MfaState,
        /// After.
        to: MfaState,
    },
    /// The user started registering a method.
    RegistrationStarted,
    /// A method was proven and added.
    MethodAdded {
        /// Its id.
        method_id: MethodId,
    },
    /// A method was removed.
    MethodRemoved {
        /// Its id.
        method_id: MethodId,
    },
    /// The default method changed.
    DefaultMethodChanged {
        /// The new default.
        method_id: MethodId,
    },
    /// The user finished registering ("Set it up now" completed).
    Registered,
    /// A code was sent by text, call or e-mail.
    CodeSent,
    /// A second factor was verified.
    VerificationSucceeded {
        /// The method used (absent for recovery codes).
        method_id: Option<MethodId>,
    },
    /// A second factor was refused.
    VerificationFailed {
        /// Why.
        reason: FailureReason,
    },
    /// A code that was already used was presented again.
    ReplayRefused,
    /// A factor was locked after too many failures.
    Locked {
        /// Which factor.
        factor: Factor,
        /// Until when.
        until: UnixTime,
    },
    /// Every second factor is locked until an admin unlocks the user: the
    /// consecutive failures over all factors reached the policy's cap.
    LockedOut {
        /// The consecutive failures counted.
        failures: u32,
    },
    /// An admin lifted every lock.
    Unlocked,
    /// A HOTP token was resynchronised.
    HotpResynchronised {
        /// The method.
        method_id: MethodId,
    },
    /// An admin issued a one-time pass.
    OneTimePassIssued {
        /// When it stops working if unused.
        expires_at: UnixTime,
    },
    /// The user signed in with a one-time pass (it no longer works).
    OneTimePassUsed,
    /// A new set of recovery codes was issued (the old set no longer works).
    RecoveryCodesIssued {
        /// How many.
        count: u8,
    },
    /// A recovery code was used.
    RecoveryCodeUsed {
        /// How many remain.
        remaining: u8,
    },
    /// An app password was created.
    AppPasswordCreated {
        /// Its id.
        id: String,
        /// Its name.
        name: String,
    },
    /// An app password was accepted.
    AppPasswordUsed {
        /// Its id.
        id: String,
    },
    /// An app password was refused.
    AppPasswordRejected {
        /// Why.
        reason: FailureReason,
    },
    /// An app password was deleted.
    AppPasswordDeleted {
        /// Its id.
        id: String,
    },
    /// An admin deleted all app passwords of the user.
    AllAppPasswordsDeleted {
        /// How many were deleted.
        count: u32,
    },
    /// An admin required the user to provide contact methods again.
    ReregistrationRequired,
    /// An admin restored MFA on all remembered devices.
    RememberedDevicesRestored,
    /// Every session and sign-in in progress of the user ended (reset,
    /// restore, password change, "sign out everywhere", MFA disabled).
    SessionsRevoked {
        /// The new session epoch: tokens of an older one are refused.
        epoch: u32,
    },
    /// An admin removed every method of the user.
    MethodsReset,
    /// An MFA session token was issued.
    SessionIssued,
    /// A remembered-device token was issued.
    DeviceRemembered {
        /// When it expires.
        expires_at: UnixTime,
    },
    /// Stored seeds were sealed again under the active key.
    SecretsResealed,
    /// A passkey signed in with a sign count that did not go up (the
    /// policy accepts it): the key may have been copied.
    PasskeySignCountRegressed {
        /// The passkey.
        method_id: MethodId,
    },
    /// An admin gave or took the admin role.
    AdminRoleChanged {
        /// Whether the user now holds it.
        admin: bool,
    },
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When (seconds since the Unix epoch).
    pub at: UnixTime,
    /// Whose record.
    pub user_id: String,
    /// Who acted, for admin operations.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actor: Option<String>,
    /// The kind of method involved, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<MethodType>,
    /// What happened.
    #[serde(flatten)]
    pub kind: AuditKind,
}
