//! The typed API's types. Records, enums and variants without secrets are the
//! WIT types themselves; those that carry a secret are mirrored here with a
//! `Debug` that never shows it.
use core::fmt;

use crate::EngineError;
use crate::bindings::exports::mfa::engine::{
    app_passwords as wapp, engine as wengine, enrolment as wenrol, otp as wotp, types as w,
};

pub use crate::bindings::exports::mfa::engine::app_passwords::AppPasswordRequest;
pub use crate::bindings::exports::mfa::engine::contacts::{Email, Phone};
pub use crate::bindings::exports::mfa::engine::engine::{
    AppPasswordInfo, FactorState, Jwk, KeyKind, MaskedPhone, Method, MethodKind, PasskeyInfo,
    RecordSummary,
};
pub use crate::bindings::exports::mfa::engine::enrolment::{
    NextStep, PhoneNumber, ReplaceOptions, VerifyOptions,
};
pub use crate::bindings::exports::mfa::engine::otp::{OtpKind, UriWarning};
pub use crate::bindings::exports::mfa::engine::sign_in::{
    Action, Caller as SignInCaller, FirstFactor,
};
pub use crate::bindings::exports::mfa::engine::types::{
    Algorithm, AppPasswordCredential, AppPasswordMatch, AppPasswordRef, Argon2Params, AuditEvent,
    AuditKind, Factor, FactorLock, FailureReason, HotpParams, MethodType, MfaState, OtpMatch,
    PasskeyDiscovery, PasskeyOptions, PasskeyPolicy, PhoneChannel, Policy, SessionClaims,
    StateChange, TokenKind, TotpParams, Verified,
};

/// Seconds since the Unix epoch.
pub type UnixTime = u64;

/// A secret text (a code, a password, a token, a key for manual entry).
/// `Debug` never shows it; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }

    /// The secret itself: hand it to the user or the delivery service only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Secret bytes (a shared OTP secret). `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// The user record an operation works on.
#[derive(Clone, Copy)]
pub enum Record<'a> {
    /// A user who has no stored record yet (MFA disabled, revision 0).
    New {
        /// The user id.
        user_id: &'a str,
        /// Creation time.
        now: UnixTime,
    },
    /// The bytes stored from an earlier [`Saved::stored`].
    Stored(&'a [u8]),
}

impl fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::New { user_id, now } => f
                .debug_struct("New")
                .field("user_id", user_id)
                .field("now", now)
                .finish(),
            Self::Stored(b) => write!(f, "Stored({} bytes)", b.len()),
        }
    }
}

/// What to write back after an operation.
#[derive(Clone, PartialEq, Eq)]
pub struct Saved {
    /// The new record, when the operation changed it: store it with
    /// compare-and-swap on the revision you read. Opaque bytes.
    pub stored: Option<Vec<u8>>,
    /// The record's revision after the operation.
    pub revision: u64,
    /// Audit events the operation produced, oldest first.
    pub events: Vec<AuditEvent>,
    /// The summary of the new record, read in the same call, when `stored`
    /// is present (so a host need not open the new bytes again).
    pub summary: Option<RecordSummary>,
}

impl fmt::Debug for Saved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Saved")
            .field("stored", &self.stored.as_ref().map(|b| b.len()))
            .field("revision", &self.revision)
            .field("events", &self.events)
            .field("summary", &self.summary.as_ref().map(|s| s.revision))
            .finish()
    }
}

impl From<wengine::Saved> for Saved {
    fn from(s: wengine::Saved) -> Self {
        Self {
            stored: s.stored,
            revision: s.revision,
            events: s.events,
            summary: None,
        }
    }
}

/// The answer of an operation on a record, and the record to write back.
/// A refusal can change the record too (failures count towards a lock):
/// always store `saved.stored` when it is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<T> {
    /// The engine's answer.
    pub result: Result<T, EngineError>,
    /// What to store and log.
    pub saved: Saved,
}

/// What to deliver by text, call or e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Text, call or e-mail.
    pub channel: MethodType,
    /// Phone number (E.164) or e-mail address.
    pub destination: String,
    /// The destination with most of it hidden.
    pub masked_destination: String,
    /// The code.
    pub code: Secret,
    /// E-mail subject.
    pub subject: String,
    /// The message; contains the code.
    pub message: Secret,
    /// When the code expires.
    pub expires_at: UnixTime,
}

impl From<w::Delivery> for Delivery {
    fn from(d: w::Delivery) -> Self {
        Self {
            channel: d.channel,
            destination: d.destination,
            masked_destination: d.masked_destination,
            code: Secret(d.code),
            subject: d.subject,
            message: Secret(d.message),
            expires_at: d.expires_at,
        }
    }
}

/// Recovery codes, shown to the user once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodes {
    /// The codes.
    pub codes: Vec<Secret>,
    /// When they were issued.
    pub issued_at: UnixTime,
}

impl From<w::RecoveryCodes> for RecoveryCodes {
    fn from(r: w::RecoveryCodes) -> Self {
        Self {
            codes: r.codes.into_iter().map(Secret).collect(),
            issued_at: r.issued_at,
        }
    }
}

/// A one-time pass an admin issued, shown once (to hand to the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimePass {
    /// The pass.
    pub pass: Secret,
    /// When it stops working if unused.
    pub expires_at: UnixTime,
}

/// What to show while registering an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorSetup {
    /// The otpauth URI, for the QR code.
    pub uri: Secret,
    /// The secret in base32 groups, for manual entry.
    pub manual_key: Secret,
    /// Issuer.
    pub issuer: String,
    /// Account label.
    pub account: String,
    /// When the registration expires.
    pub expires_at: UnixTime,
}

impl From<wenrol::AuthenticatorSetup> for AuthenticatorSetup {
    fn from(s: wenrol::AuthenticatorSetup) -> Self {
        Self {
            uri: Secret(s.uri),
            manual_key: Secret(s.manual_key),
            issuer: s.issuer,
            account: s.account,
            expires_at: s.expires_at,
        }
    }
}

/// The result of proving a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The new method.
    pub method_id: u32,
    /// For authenticator apps: the step offset of the code.
    pub matched: Option<OtpMatch>,
    /// Recovery codes, when the first registration completes.
    pub recovery_codes: Option<RecoveryCodes>,
}

impl From<wenrol::Confirmed> for Confirmed {
    fn from(c: wenrol::Confirmed) -> Self {
        Self {
            method_id: c.method_id,
            matched: c.matched,
            recovery_codes: c.recovery_codes.map(Into::into),
        }
    }
}

/// A new app password: the only time the password exists in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppPassword {
    /// Public id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The password, grouped for reading.
    pub password: Secret,
    /// Scopes (empty: any).
    pub scopes: Vec<String>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// The credential for gateways (hash only).
    pub credential: AppPasswordCredential,
}

impl From<wapp::NewAppPassword> for NewAppPassword {
    fn from(n: wapp::NewAppPassword) -> Self {
        Self {
            id: n.id,
            name: n.name,
            password: Secret(n.password),
            scopes: n.scopes,
            created_at: n.created_at,
            expires_at: n.expires_at,
            credential: n.credential,
        }
    }
}

/// A parsed otpauth URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otpauth {
    /// Kind and moving factor.
    pub kind: OtpKind,
    /// Issuer, if any.
    pub issuer: Option<String>,
    /// Account label.
    pub account: String,
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: u8,
    /// The shared secret.
    pub secret: SecretBytes,
    /// Warnings.
    pub warnings: Vec<UriWarning>,
}

impl From<wotp::Otpauth> for Otpauth {
    fn from(o: wotp::Otpauth) -> Self {
        Self {
            kind: o.kind,
            issuer: o.issuer,
            account: o.account,
            algorithm: o.algorithm,
            digits: o.digits,
            secret: SecretBytes(o.secret),
            warnings: o.warnings,
        }
    }
}

pub(crate) fn secret(s: String) -> Secret {
    Secret(s)
}

/// The JWKS document (RFC 7517) for these keys, to serve at `/.well-known/jwks.json`.
pub fn jwks_json(keys: &[Jwk]) -> String {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let mut o = serde_json::Map::new();
            o.insert("kty".into(), k.kty.clone().into());
            o.insert("crv".into(), k.crv.clone().into());
            o.insert("x".into(), k.x.clone().into());
            o.insert("kid".into(), k.kid.clone().into());
            if let Some(alg) = &k.alg {
                o.insert("alg".into(), alg.clone().into());
            }
            if let Some(u) = &k.use_ {
                o.insert("use".into(), u.clone().into());
            }
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}
