//! The per-user record the host stores: one JSON document with a schema version
//! and a revision for compare-and-swap.
use serde::{Deserialize, Serialize};

use crate::app_password::AppPasswordEntry;
use crate::challenge::Challenge;
use crate::contact::{EmailAddress, PhoneNumber};
use crate::keys::Sealed;
use crate::one_time_pass::StoredPass;
use crate::otp::{Hotp, Totp, check_digits};
use crate::policy::MethodType;
use crate::recovery::RecoverySet;
use crate::send_budget::SendLog;
use crate::throttle::Throttle;
use crate::{Error, UnixTime};

/// Schema version written by this engine.
pub const RECORD_SCHEMA: u32 = 1;

/// Largest serialised record accepted (a full record is a few tens of KiB).
const MAX_RECORD_BYTES: usize = 1 << 20;

/// Id of a registered method, unique within one user's record.
pub type MethodId = u32;

/// The user's MFA state, set by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MfaState {
    /// MFA is off for this user.
    #[default]
    Disabled,
    /// MFA is on: the user must register at the next sign-in.
    Enabled,
    /// MFA is on and the user has registered (or the admin enforced it).
    Enforced,
}

/// How the authentication phone receives codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneChannel {
    /// A text message.
    Text,
    /// A voice call that reads the code.
    Call,
}

/// What a stored method is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StoredKind {
    Totp {
        params: Totp,
        seed: Sealed,
        last_step: Option<u64>,
    },
    Hotp {
        params: Hotp,
        seed: Sealed,
        counter: u64,
    },
    Phone {
        number: PhoneNumber,
        channel: PhoneChannel,
    },
    Email {
        address: EmailAddress,
    },
    Passkey(StoredPasskey),
}

/// A registered passkey or security key: its public key and what the
/// authenticator said of itself. Nothing here is secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPasskey {
    /// The name the user gave it ("YubiKey", "This phone").
    pub(crate) name: String,
    #[serde(with = "crate::encoding::serde_b64")]
    pub(crate) credential_id: Vec<u8>,
    /// The COSE_Key as the authenticator sent it.
    #[serde(with = "crate::encoding::serde_b64")]
    pub(crate) public_key: Vec<u8>,
    /// COSE algorithm id (-7 ES256, -8 EdDSA, -257 RS256).
    pub(crate) algorithm: i64,
    /// The authenticator model, 32 hex digits (zeros: not disclosed).
    pub(crate) aaguid: String,
    pub(crate) sign_count: u32,
    /// May be backed up (a synced passkey) — fixed at registration.
    pub(crate) backup_eligible: bool,
    /// Backed up at its last use.
    pub(crate) backed_up: bool,
    /// Whether the authenticator verified the user at registration.
    #[serde(default)]
    pub(crate) user_verified: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) transports: Vec<String>,
}

/// A passkey ceremony waiting for the browser's answer; used once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasskeyCeremony {
    /// Registering a new passkey (else signing in with one).
    pub(crate) registering: bool,
    #[serde(with = "crate::encoding::serde_b64")]
    pub(crate) challenge: Vec<u8>,
    pub(crate) expires_at: UnixTime,
    pub(crate) user_verification_required: bool,
    /// For a sign-in: the credential ids offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) allow: Vec<String>,
}

/// A passwordless sign-in's challenge this user already answered, kept until
/// it expires so that the same answer cannot sign in twice (a synced
/// passkey's sign count stays at zero and cannot show a replay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UsedCeremony {
    /// The ceremony's id (the discovery token's `jti`): public once answered.
    pub(crate) id: String,
    pub(crate) expires_at: UnixTime,
}

impl core::fmt::Debug for PasskeyCeremony {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PasskeyCeremony")
            .field("registering", &self.registering)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl StoredKind {
    pub(crate) fn method_type(&self) -> MethodType {
        match self {
            Self::Totp { .. } | Self::Hotp { .. } => MethodType::AuthenticatorApp,
            Self::Phone {
                channel: PhoneChannel::Text,
                ..
            } => MethodType::Text,
            Self::Phone {
                channel: PhoneChannel::Call,
                ..
            } => MethodType::Call,
            Self::Email { .. } => MethodType::Email,
            Self::Passkey(_) => MethodType::Passkey,
        }
    }

    fn view(&self) -> MethodKind {
        match self {
            Self::Totp { params, .. } => MethodKind::Totp { params: *params },
            Self::Hotp { params, .. } => MethodKind::Hotp { params: *params },
            Self::Phone { number, channel } => MethodKind::Phone {
                masked: number.masked(),
                channel: *channel,
            },
            Self::Email { address } => MethodKind::Email {
                masked: address.masked(),
            },
            Self::Passkey(p) => MethodKind::Passkey {
                name: p.name.clone(),
                aaguid: p.aaguid.clone(),
                backup_eligible: p.backup_eligible,
                backed_up: p.backed_up,
                user_verified: p.user_verified,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredMethod {
    pub(crate) id: MethodId,
    pub(crate) kind: StoredKind,
    pub(crate) added_at: UnixTime,
    #[serde(default)]
    pub(crate) last_used_at: Option<UnixTime>,
}

/// A registration waiting for its proof code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) kind: StoredKind,
    pub(crate) started_at: UnixTime,
    pub(crate) expires_at: UnixTime,
    /// The phone this registration changes: removed once the new one is proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) replaces: Option<MethodId>,
}

/// A registered method as hosts and users see it: no secret, contact details masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    /// Its id.
    pub id: MethodId,
    /// Its type.
    pub method_type: MethodType,
    /// Details.
    pub kind: MethodKind,
    /// Whether it is the default method.
    pub is_default: bool,
    /// When it was proven and added.
    pub added_at: UnixTime,
    /// When it last verified a sign-in.
    pub last_used_at: Option<UnixTime>,
}

/// Details of a registered method, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MethodKind {
    /// Authenticator app, time-based.
    Totp {
        /// Its parameters.
        params: Totp,
    },
    /// Authenticator app or hardware token, counter-based.
    Hotp {
        /// Its parameters.
        params: Hotp,
    },
    /// Authentication phone.
    Phone {
        /// The number with most digits hidden.
        masked: String,
        /// Text or call.
        channel: PhoneChannel,
    },
    /// Authentication e-mail.
    Email {
        /// The address with the local part hidden.
        masked: String,
    },
    /// A passkey or security key.
    Passkey {
        /// The name the user gave it.
        name: String,
        /// The authenticator model, 32 hex digits (zeros: not disclosed).
        aaguid: String,
        /// May be backed up: a synced passkey rather than a device-bound key.
        backup_eligible: bool,
        /// Backed up at its last use.
        backed_up: bool,
        /// The authenticator verified the user (PIN, biometrics) when it was registered.
        user_verified: bool,
    },
}

/// An app password as listed to its owner: never the password or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordInfo {
    /// Short public id (part of the password, used for lookup).
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// Scopes it is limited to (empty: any).
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// When it was last accepted (to the minute).
    pub last_used_at: Option<UnixTime>,
}

/// Everything the engine knows about one user. Hosts store it as JSON
/// ([`UserRecord::to_json`]) next to its [`revision`](UserRecord::revision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub(crate) schema: u32,
    pub(crate) revision: u64,
    pub(crate) user_id: String,
    #[serde(default)]
    pub(crate) state: MfaState,
    /// Whether the user holds the admin role: after signing in with MFA
    /// they may administer every user (`Action::Administer`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) admin: bool,
    /// Set when an admin required the user to provide contact methods again: methods added before this time are replaced by the next registration.
    #[serde(default)]
    pub(crate) reregister_since: Option<UnixTime>,
    #[serde(default)]
    pub(crate) methods: Vec<StoredMethod>,
    #[serde(default)]
    pub(crate) default_method: Option<MethodId>,
    #[serde(default)]
    pub(crate) next_method_id: MethodId,
    #[serde(default)]
    pub(crate) pending: Option<Pending>,
    #[serde(default)]
    pub(crate) challenge: Option<Challenge>,
    #[serde(default)]
    pub(crate) recovery: Option<RecoverySet>,
    #[serde(default)]
    pub(crate) app_passwords: Vec<AppPasswordEntry>,
    #[serde(default)]
    pub(crate) throttle: Throttle,
    /// The random user handle passkeys are created for (base64url), made at
    /// the first passkey registration: never the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) passkey_handle: Option<String>,
    /// The passkey ceremony in progress, until its answer arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) passkey_ceremony: Option<PasskeyCeremony>,
    /// Passwordless sign-ins answered lately, until their ceremonies expire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) used_ceremonies: Vec<UsedCeremony>,
    /// A one-time pass an admin issued, until used or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) one_time_pass: Option<StoredPass>,
    /// When codes were sent lately (the send budget).
    #[serde(default, skip_serializing_if = "SendLog::is_empty")]
    pub(crate) sends: SendLog,
    #[serde(default)]
    pub(crate) device_epoch: u32,
    /// Bumped when every session of the user must end (reset, restore,
    /// password change, "sign out everywhere", MFA disabled): session and
    /// login tokens carry the epoch they were issued in.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) session_epoch: u32,
    pub(crate) created_at: UnixTime,
    #[serde(default)]
    pub(crate) updated_at: UnixTime,
    #[serde(skip)]
    pub(crate) dirty: bool,
}

impl UserRecord {
    /// A new record for `user_id`, MFA disabled, revision 0 (not yet stored).
    pub fn new(user_id: &str, now: UnixTime) -> Self {
        Self {
            schema: RECORD_SCHEMA,
            revision: 0,
            user_id: user_id.to_string(),
            state: MfaState::Disabled,
            admin: false,
            reregister_since: None,
            methods: Vec::new(),
            default_method: None,
            next_method_id: 1,
            pending: None,
            challenge: None,
            recovery: None,
            app_passwords: Vec::new(),
            throttle: Throttle::default(),
            passkey_handle: None,
            passkey_ceremony: None,
            used_ceremonies: Vec::new(),
            one_time_pass: None,
            sends: SendLog::default(),
            device_epoch: 0,
            session_epoch: 0,
            created_at: now,
            updated_at: now,
            dirty: false,
        }
    }

    /// Read a stored record, refusing unknown schema versions and oversized input.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        if json.len() > MAX_RECORD_BYTES {
            return Err(Error::CorruptRecord {
                reason: "larger than 1 MiB".into(),
            });
        }
        let rec: Self = serde_json::from_str(json).map_err(|e| Error::CorruptRecord {
            reason: format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        })?;
        if rec.schema != RECORD_SCHEMA {
            return Err(Error::CorruptRecord {
                reason: format!(
                    "schema {} is not supported (this engine reads {RECORD_SCHEMA})",
                    rec.schema
                ),
            });
        }
        if rec.user_id.is_empty() {
            return Err(Error::CorruptRecord {
                reason: "empty user id".into(),
            });
        }
        rec.check_otp_params()?;
        Ok(rec)
    }

    /// Refuse stored generator parameters the engine could not use (the code
    /// generator cannot make codes of more than 9 digits, a 0-second period has
    /// no time steps), so that a damaged record fails here, not at sign-in.
    fn check_otp_params(&self) -> Result<(), Error> {
        let stored = self.methods.iter().map(|m| ("a method", &m.kind)).chain(
            self.pending
                .iter()
                .map(|p| ("the pending registration", &p.kind)),
        );
        for (what, kind) in stored {
            let (digits, period) = match kind {
                StoredKind::Totp { params, .. } => (params.digits, Some(params.period)),
                StoredKind::Hotp { params, .. } => (params.digits, None),
                StoredKind::Phone { .. } | StoredKind::Email { .. } | StoredKind::Passkey(_) => {
                    continue;
                }
            };
            if check_digits(digits).is_err() {
                return Err(Error::CorruptRecord {
                    reason: format!("{what} has codes of {digits} digits (6 to 8 are possible)"),
                });
            }
            if period == Some(0) {
                return Err(Error::CorruptRecord {
                    reason: format!("{what} has a period of 0 seconds"),
                });
            }
        }
        Ok(())
    }

    /// The record as JSON, for storage. Seeds inside are sealed; codes and passwords are hashed.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("records serialise")
    }

    /// Revision: incremented once by every operation that changed the record.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The user this record belongs to.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// MFA state set by the admin.
    pub fn state(&self) -> MfaState {
        self.state
    }

    /// Whether the user holds the admin role.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Whether the admin required the user to provide contact methods again.
    pub fn must_reregister(&self) -> bool {
        self.reregister_since.is_some()
    }

    /// Registered methods.
    pub fn methods(&self) -> Vec<Method> {
        self.methods
            .iter()
            .map(|m| Method {
                id: m.id,
                method_type: m.kind.method_type(),
                kind: m.kind.view(),
                is_default: self.default_method == Some(m.id),
                added_at: m.added_at,
                last_used_at: m.last_used_at,
            })
            .collect()
    }

    /// The default method's id.
    pub fn default_method(&self) -> Option<MethodId> {
        self.default_method
    }

    /// App passwords that are not deleted, oldest first.
    pub fn app_passwords(&self) -> Vec<AppPasswordInfo> {
        self.app_passwords
            .iter()
            .filter(|a| a.revoked_at.is_none())
            .map(AppPasswordEntry::info)
            .collect()
    }

    /// Unused recovery codes left.
    pub fn recovery_codes_left(&self) -> u8 {
        self.recovery.as_ref().map_or(0, RecoverySet::remaining)
    }

    /// The remembered-device epoch (bumped by "restore MFA on all remembered devices").
    pub fn device_epoch(&self) -> u32 {
        self.device_epoch
    }

    /// The session epoch: tokens of an older one are revoked.
    pub fn session_epoch(&self) -> u32 {
        self.session_epoch
    }

    /// Consecutive failures of a factor (0 after a success or an unlock).
    pub fn consecutive_failures(&self, factor: crate::Factor) -> u32 {
        self.throttle.failures(factor)
    }

    /// Until when the one-time pass an admin issued can be used, if there is one.
    pub fn one_time_pass_until(&self, now: UnixTime) -> Option<UnixTime> {
        self.one_time_pass
            .as_ref()
            .filter(|p| p.live(now))
            .map(|p| p.expires_at)
    }

    /// Whether every second factor is locked until an admin unlocks the user
    /// (the policy's `failure_cap` was reached).
    pub fn locked_out(&self) -> bool {
        self.throttle.locked_out()
    }

    /// When a factor is locked at `now`, until when.
    pub fn locked_until(&self, factor: crate::Factor, now: UnixTime) -> Option<UnixTime> {
        self.throttle.locked_until(factor, now)
    }

    /// The user handle this user's passkeys were created for (base64url),
    /// once one was registered: what a host indexes to find the user of a
    /// passwordless sign-in ([`crate::Engine::passkey_user_handle`]).
    pub fn passkey_handle(&self) -> Option<&str> {
        self.passkey_handle.as_deref()
    }

    /// When the record last changed.
    pub fn updated_at(&self) -> UnixTime {
        self.updated_at
    }

    pub(crate) fn touch(&mut self, now: UnixTime) {
        self.dirty = true;
        self.updated_at = self.updated_at.max(now);
    }

    /// End of an operation: a changed record gets the next revision.
    pub(crate) fn finish(&mut self) {
        if self.dirty {
            self.revision += 1;
            self.dirty = false;
        }
    }

    pub(crate) fn method(&self, id: MethodId) -> Result<&StoredMethod, Error> {
        self.methods
            .iter()
            .find(|m| m.id == id)
            .ok_or(Error::UnknownMethod)
    }

    pub(crate) fn method_mut(&mut self, id: MethodId) -> Result<&mut StoredMethod, Error> {
        self.methods
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or(Error::UnknownMethod)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
