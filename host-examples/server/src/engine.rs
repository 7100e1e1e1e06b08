//! The one place where the server calls the engine.
//!
//! The engine runs inside the WebAssembly component (`mfa_component.wasm`),
//! embedded through [`mfa_host`]. Every rule of MFA lives there; the server
//! loads a user's stored record (opaque bytes), hands it to one of the
//! operations below together with the arguments and the current time, and
//! stores what comes back (the updated bytes, with compare-and-swap on the
//! revision, and the audit events). Handlers never reach the engine any other
//! way.
//!
//! Operations never mutate the caller's record; they return a [`Step`]: the
//! new bytes, their summary (read in the same component call), the audit
//! events and the answer. One user action is one operation.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use mfa_host::{
    Action, AppPasswordCredential, AppPasswordInfo, AppPasswordMatch, AuditEvent,
    AuthenticatorSetup, Confirmed, Delivery, EngineError, FirstFactor, Method, NewAppPassword,
    NextStep, Proof, RecoveryCodes, Registered, Secret, SignInCaller, SignInStarted, SignedIn,
    Standing, Verified,
};
use mfa_host::{MfaHost, Record, RecordSummary};

/// The command that builds the component.
pub const BUILD_COMPONENT: &str = "cargo build -p mfa-component --target wasm32-wasip2 --release";

/// Method id as the engine numbers them.
pub type MethodId = u32;

macro_rules! mirror_enum {
    ($(#[$m:meta])* $name:ident => $host:path { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            /// The stable name, as in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
        }

        impl From<$name> for $host {
            fn from(v: $name) -> Self {
                match v { $($name::$v => <$host>::$v),* }
            }
        }

        impl From<$host> for $name {
            fn from(v: $host) -> Self {
                match v { $(<$host>::$v => $name::$v),* }
            }
        }
    };
}

mirror_enum!(
    /// A kind of second factor a user registers.
    MethodType => mfa_host::MethodType {
        /// Authenticator app (TOTP/HOTP).
        AuthenticatorApp = "authenticator_app",
        /// Code by text message.
        Text = "text",
        /// Code read by a voice call.
        Call = "call",
        /// Code by e-mail.
        Email = "email",
    }
);

mirror_enum!(
    /// Per-user MFA state.
    MfaState => mfa_host::MfaState {
        /// MFA off.
        Disabled = "disabled",
        /// Must register at next sign-in.
        Enabled = "enabled",
        /// Registered and required.
        Enforced = "enforced",
    }
);

mirror_enum!(
    /// How an authentication phone receives codes.
    PhoneChannel => mfa_host::PhoneChannel {
        /// Text message.
        Text = "text",
        /// Voice call.
        Call = "call",
    }
);

mirror_enum!(
    /// A factor with its own failure counter.
    Factor => mfa_host::Factor {
        /// Authenticator app.
        Authenticator = "authenticator",
        /// Phone.
        Phone = "phone",
        /// E-mail.
        Email = "email",
        /// Recovery codes.
        Recovery = "recovery",
        /// App passwords.
        AppPassword = "app_password",
    }
);

/// Every method type, in the engine's order.
pub const ALL_METHODS: [MethodType; 4] = [
    MethodType::AuthenticatorApp,
    MethodType::Text,
    MethodType::Call,
    MethodType::Email,
];

/// The name of an engine method type.
pub fn method_type_str(t: mfa_host::MethodType) -> &'static str {
    MethodType::from(t).as_str()
}

/// The policy the engine enforces (the WIT record).
pub type Policy = mfa_host::Policy;

/// Policy fields as written in the configuration's `[policy]` table and in the
/// stored service settings: every field optional, applied over the engine's
/// defaults. Field names and forms are the engine's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(
    missing_docs,
    reason = "each field is the policy field of the same name"
)]
pub struct PolicySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_methods: Option<Vec<MethodType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_passwords_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_app_passwords: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_device_days: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_lifetime_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_window: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotp_look_ahead: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotp_resync_window: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_short_secrets: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_digits: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_lifetime_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_attempts: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_lifetime_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code_count: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_failures: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_base_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_max_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argon2: Option<Argon2Settings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_gap_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sends_per_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sends_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_country_codes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cap: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_window_secs: Option<u32>,
}

/// TOTP parameters in the policy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TotpSettings {
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: AlgorithmName,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step.
    pub period: u32,
}

/// An HMAC hash name as the engine writes it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs, reason = "the hash names")]
pub enum AlgorithmName {
    Sha1,
    Sha256,
    Sha512,
}

/// argon2id parameters (`m_kib`, `t`, `p`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for Argon2Settings {
    /// OWASP's first argon2id recommendation: m=19456 KiB, t=2, p=1.
    fn default() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

impl PolicySettings {
    /// Apply the fields that are set over `base`.
    pub fn apply(&self, base: &mut Policy) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { base.$f = v.clone(); } )* };
        }
        set!(
            issuer,
            audience,
            app_passwords_allowed,
            max_app_passwords,
            remember_device_days,
            session_lifetime_secs,
            totp_window,
            hotp_look_ahead,
            hotp_resync_window,
            allow_short_secrets,
            code_digits,
            code_lifetime_secs,
            code_attempts,
            registration_lifetime_secs,
            recovery_code_count,
            free_failures,
            backoff_base_secs,
            backoff_max_secs,
            lockout_threshold,
            lockout_secs,
            organisation_domains,
            send_gap_secs,
            sends_per_hour,
            sends_per_day,
            phone_country_codes,
            failure_cap,
            reauth_window_secs
        );
        if let Some(m) = &self.allowed_methods {
            base.allowed_methods = m.iter().map(|&t| t.into()).collect();
        }
        if let Some(t) = self.totp {
            base.totp = mfa_host::TotpParams {
                algorithm: match t.algorithm {
                    AlgorithmName::Sha1 => mfa_host::Algorithm::Sha1,
                    AlgorithmName::Sha256 => mfa_host::Algorithm::Sha256,
                    AlgorithmName::Sha512 => mfa_host::Algorithm::Sha512,
                },
                digits: t.digits,
                period: t.period,
            };
        }
        if let Some(a) = self.argon2 {
            base.argon2 = mfa_host::Argon2Params {
                m_kib: a.m_kib,
                t: a.t,
                p: a.p,
            };
        }
    }

    /// Every field of a policy.
    pub fn from_policy(p: &Policy) -> Self {
        Self {
            issuer: Some(p.issuer.clone()),
            audience: Some(p.audience.clone()),
            allowed_methods: Some(allowed_methods(p)),
            app_passwords_allowed: Some(p.app_passwords_allowed),
            max_app_passwords: Some(p.max_app_passwords),
            remember_device_days: Some(p.remember_device_days),
            session_lifetime_secs: Some(p.session_lifetime_secs),
            totp: Some(TotpSettings {
                algorithm: match p.totp.algorithm {
                    mfa_host::Algorithm::Sha1 => AlgorithmName::Sha1,
                    mfa_host::Algorithm::Sha256 => AlgorithmName::Sha256,
                    mfa_host::Algorithm::Sha512 => AlgorithmName::Sha512,
                },
                digits: p.totp.digits,
                period: p.totp.period,
            }),
            totp_window: Some(p.totp_window),
            hotp_look_ahead: Some(p.hotp_look_ahead),
            hotp_resync_window: Some(p.hotp_resync_window),
            allow_short_secrets: Some(p.allow_short_secrets),
            code_digits: Some(p.code_digits),
            code_lifetime_secs: Some(p.code_lifetime_secs),
            code_attempts: Some(p.code_attempts),
            registration_lifetime_secs: Some(p.registration_lifetime_secs),
            recovery_code_count: Some(p.recovery_code_count),
            free_failures: Some(p.free_failures),
            backoff_base_secs: Some(p.backoff_base_secs),
            backoff_max_secs: Some(p.backoff_max_secs),
            lockout_threshold: Some(p.lockout_threshold),
            lockout_secs: Some(p.lockout_secs),
            argon2: Some(Argon2Settings {
                m_kib: p.argon2.m_kib,
                t: p.argon2.t,
                p: p.argon2.p,
            }),
            organisation_domains: Some(p.organisation_domains.clone()),
            send_gap_secs: Some(p.send_gap_secs),
            sends_per_hour: Some(p.sends_per_hour),
            sends_per_day: Some(p.sends_per_day),
            phone_country_codes: Some(p.phone_country_codes.clone()),
            failure_cap: Some(p.failure_cap),
            reauth_window_secs: Some(p.reauth_window_secs),
        }
    }
}

/// The policy's allowed methods as the server's type.
pub fn allowed_methods(p: &Policy) -> Vec<MethodType> {
    p.allowed_methods.iter().map(|&t| t.into()).collect()
}

// ----- JSON forms (the engine's own names) ---------------------------------

/// A "next step" as JSON: `{"next": "verify", ...}`.
pub fn next_json(next: &NextStep) -> Value {
    let names = |l: &[mfa_host::MethodType]| -> Vec<&'static str> {
        l.iter().map(|&t| method_type_str(t)).collect()
    };
    match next {
        NextStep::Continue => json!({"next": "continue"}),
        NextStep::Register(l) => json!({"next": "register", "allowed": names(l)}),
        NextStep::Reregister(l) => json!({"next": "reregister", "allowed": names(l)}),
        NextStep::Verify(o) => json!({
            "next": "verify",
            "default": o.default,
            "methods": o.methods,
            "recovery_codes": o.recovery_codes,
            "one_time_pass": o.one_time_pass,
        }),
        NextStep::Replace(o) => json!({
            "next": "replace",
            "allowed": names(&o.allowed),
            "methods": o.methods,
            "recovery_codes": o.recovery_codes,
            "one_time_pass": o.one_time_pass,
        }),
        NextStep::Locked(until) => json!({"next": "locked", "until": until}),
        NextStep::LockedOut => json!({"next": "locked_out"}),
    }
}

fn algorithm_str(a: mfa_host::Algorithm) -> &'static str {
    match a {
        mfa_host::Algorithm::Sha1 => "SHA1",
        mfa_host::Algorithm::Sha256 => "SHA256",
        mfa_host::Algorithm::Sha512 => "SHA512",
    }
}

/// A registered method as JSON (no secret; contact details masked).
pub fn method_json(m: &Method) -> Value {
    let kind = match &m.kind {
        mfa_host::MethodKind::Totp(p) => json!({
            "type": "totp",
            "params": {"algorithm": algorithm_str(p.algorithm), "digits": p.digits, "period": p.period},
        }),
        mfa_host::MethodKind::Hotp(p) => json!({
            "type": "hotp",
            "params": {"algorithm": algorithm_str(p.algorithm), "digits": p.digits},
        }),
        mfa_host::MethodKind::Phone(p) => json!({
            "type": "phone",
            "masked": p.masked,
            "channel": PhoneChannel::from(p.channel).as_str(),
        }),
        mfa_host::MethodKind::Email(masked) => json!({"type": "email", "masked": masked}),
    };
    json!({
        "id": m.id,
        "method_type": method_type_str(m.method_type),
        "kind": kind,
        "is_default": m.is_default,
        "added_at": m.added_at,
        "last_used_at": m.last_used_at,
    })
}

/// An app password as listed to its owner (never the password or its hash).
pub fn app_password_json(a: &AppPasswordInfo) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "scopes": a.scopes,
        "created_at": a.created_at,
        "expires_at": a.expires_at,
        "last_used_at": a.last_used_at,
    })
}

fn failure_str(r: mfa_host::FailureReason) -> &'static str {
    use mfa_host::FailureReason as F;
    match r {
        F::Wrong => "wrong",
        F::Malformed => "malformed",
        F::Replay => "replay",
        F::Expired => "expired",
        F::AttemptsExhausted => "attempts_exhausted",
        F::Throttled => "throttled",
        F::Locked => "locked",
        F::Unknown => "unknown",
        F::Revoked => "revoked",
        F::OutOfScope => "out_of_scope",
        F::Other => "other",
    }
}

/// An audit event as JSON: `at`, `user_id`, `actor`, `method`, `event` and its details.
pub fn audit_json(e: &AuditEvent) -> Value {
    use mfa_host::AuditKind as K;
    let (event, detail) = match &e.kind {
        K::MfaStateChanged(c) => (
            "mfa_state_changed",
            json!({"from": MfaState::from(c.from).as_str(), "to": MfaState::from(c.to).as_str()}),
        ),
        K::RegistrationStarted => ("registration_started", json!({})),
        K::MethodAdded(id) => ("method_added", json!({"method_id": id})),
        K::MethodRemoved(id) => ("method_removed", json!({"method_id": id})),
        K::DefaultMethodChanged(id) => ("default_method_changed", json!({"method_id": id})),
        K::Registered => ("registered", json!({})),
        K::CodeSent => ("code_sent", json!({})),
        K::VerificationSucceeded(id) => ("verification_succeeded", json!({"method_id": id})),
        K::VerificationFailed(r) => ("verification_failed", json!({"reason": failure_str(*r)})),
        K::ReplayRefused => ("replay_refused", json!({})),
        K::Locked(l) => (
            "locked",
            json!({"factor": Factor::from(l.factor).as_str(), "until": l.until}),
        ),
        K::Unlocked => ("unlocked", json!({})),
        K::HotpResynchronised(id) => ("hotp_resynchronised", json!({"method_id": id})),
        K::RecoveryCodesIssued(n) => ("recovery_codes_issued", json!({"count": n})),
        K::RecoveryCodeUsed(n) => ("recovery_code_used", json!({"remaining": n})),
        K::AppPasswordCreated(r) => ("app_password_created", json!({"id": r.id, "name": r.name})),
        K::AppPasswordUsed(id) => ("app_password_used", json!({"id": id})),
        K::AppPasswordRejected(r) => ("app_password_rejected", json!({"reason": failure_str(*r)})),
        K::AppPasswordDeleted(id) => ("app_password_deleted", json!({"id": id})),
        K::AllAppPasswordsDeleted(n) => ("all_app_passwords_deleted", json!({"count": n})),
        K::ReregistrationRequired => ("reregistration_required", json!({})),
        K::RememberedDevicesRestored => ("remembered_devices_restored", json!({})),
        K::SessionsRevoked(epoch) => ("sessions_revoked", json!({"epoch": epoch})),
        K::MethodsReset => ("methods_reset", json!({})),
        K::SessionIssued => ("session_issued", json!({})),
        K::DeviceRemembered(t) => ("device_remembered", json!({"expires_at": t})),
        K::SecretsResealed => ("secrets_resealed", json!({})),
        K::Other(name) => ("other", json!({"name": name})),
    };
    let mut v = json!({"at": e.at, "user_id": e.user_id, "event": event});
    if let Some(a) = &e.actor {
        v["actor"] = json!(a);
    }
    if let Some(m) = e.method {
        v["method"] = json!(method_type_str(m));
    }
    if let (Value::Object(o), Value::Object(d)) = (&mut v, detail) {
        o.extend(d);
    }
    v
}

/// The JWKS document of the token signing keys.
pub fn jwks_value(keys: &[mfa_host::Jwk]) -> Value {
    serde_json::from_str(&mfa_host::jwks_json(keys)).unwrap_or_else(|_| json!({"keys": []}))
}

// ----- records ---------------------------------------------------------------

/// A user's engine record as the server holds it: the stored bytes (opaque,
/// `None` while the user has no record yet) and the engine's summary of them.
#[derive(Clone)]
pub struct UserRecord {
    user_id: String,
    created_at: u64,
    stored: Option<Arc<[u8]>>,
    summary: RecordSummary,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("user_id", &self.user_id)
            .field("revision", &self.summary.revision)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    /// The record as an engine argument.
    pub fn as_record(&self) -> Record<'_> {
        match &self.stored {
            Some(b) => Record::Stored(b),
            None => Record::New {
                user_id: &self.user_id,
                now: self.created_at,
            },
        }
    }
    /// The stored bytes as text (records are JSON); empty for a user without one.
    pub fn stored_text(&self) -> String {
        self.stored
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }
    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
    /// The revision.
    pub fn revision(&self) -> u64 {
        self.summary.revision
    }
    /// The MFA state.
    pub fn state(&self) -> MfaState {
        self.summary.state.into()
    }
    /// Whether the user must register contact methods again.
    pub fn must_reregister(&self) -> bool {
        self.summary.must_reregister
    }
    /// Registered methods.
    pub fn methods(&self) -> &[Method] {
        &self.summary.methods
    }
    /// Registered methods as JSON.
    pub fn methods_json(&self) -> Value {
        Value::Array(self.summary.methods.iter().map(method_json).collect())
    }
    /// The default method.
    pub fn default_method(&self) -> Option<MethodId> {
        self.summary.default_method
    }
    /// Live app passwords.
    pub fn app_passwords(&self) -> &[AppPasswordInfo] {
        &self.summary.app_passwords
    }
    /// Live app passwords as JSON.
    pub fn app_passwords_json(&self) -> Value {
        Value::Array(
            self.summary
                .app_passwords
                .iter()
                .map(app_password_json)
                .collect(),
        )
    }
    /// Whether every second factor is locked until an admin unlocks the user.
    pub fn locked_out(&self) -> bool {
        self.summary.locked_out
    }
    /// Until when the admin's one-time pass can be used, if one was issued.
    pub fn one_time_pass_until(&self) -> Option<u64> {
        self.summary.one_time_pass_until
    }
    /// Unused recovery codes.
    pub fn recovery_codes_left(&self) -> u8 {
        self.summary.recovery_codes_left
    }
    /// Last change.
    pub fn updated_at(&self) -> u64 {
        self.summary.updated_at
    }
    /// When the factor's lock ends, if it is locked at `now`.
    pub fn locked_until(&self, factor: Factor, now: u64) -> Option<u64> {
        let f: mfa_host::Factor = factor.into();
        self.summary
            .factors
            .iter()
            .find(|s| s.factor == f)
            .and_then(|s| s.locked_until)
            .filter(|&t| t > now)
    }
    /// Failures in a row of the factor.
    pub fn consecutive_failures(&self, factor: Factor) -> u32 {
        let f: mfa_host::Factor = factor.into();
        self.summary
            .factors
            .iter()
            .find(|s| s.factor == f)
            .map_or(0, |s| s.failures)
    }
    /// The type of a registered method.
    pub fn method_type(&self, id: MethodId) -> Option<MethodType> {
        self.summary
            .methods
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.method_type.into())
    }
}

// ----- steps -----------------------------------------------------------------

/// The outcome of one operation (or a chain of them): the record as the
/// engine left it (`stored` when it changed), the audit events, and the answer.
#[derive(Debug)]
pub struct Step<T> {
    /// The new stored bytes, when the record changed.
    pub stored: Option<Vec<u8>>,
    /// The record's revision after the operation.
    pub revision: u64,
    /// Audit events, in order.
    pub audit: Vec<AuditEvent>,
    /// The engine's summary of `stored`, read in the same call.
    pub summary: Option<RecordSummary>,
    /// The answer.
    pub result: Result<T, EngineError>,
}

impl<T> Step<T> {
    /// The record to hand to the next operation of a chain.
    pub fn record<'a>(&'a self, before: &'a UserRecord) -> Record<'a> {
        match &self.stored {
            Some(b) => Record::Stored(b),
            None => before.as_record(),
        }
    }

    /// The same step with the answer made from this one's.
    fn replace<U>(
        self,
        f: impl FnOnce(Result<T, EngineError>) -> Result<U, EngineError>,
    ) -> Step<U> {
        Step {
            stored: self.stored,
            revision: self.revision,
            audit: self.audit,
            summary: self.summary,
            result: f(self.result),
        }
    }

    /// The same step with another answer.
    pub fn with<U>(self, result: Result<U, EngineError>) -> Step<U> {
        self.replace(|_| result)
    }

    /// The answer, a refusal included, as the successful answer of the step
    /// (so a handler can still label a refusal with what it read before).
    pub fn settle(self) -> Step<Result<T, EngineError>> {
        self.replace(Ok)
    }

    /// Map the answer.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        self.replace(|r| r.map(f))
    }
}

/// A failure of the runtime itself (not a refusal by the engine), as an engine error.
fn host_failure(e: mfa_host::Error) -> EngineError {
    match e {
        mfa_host::Error::Engine(e) => e,
        mfa_host::Error::InputTooLarge { what, max } => EngineError::InvalidInput {
            field: what.to_string(),
            reason: format!("must be at most {max} bytes or items"),
        },
        other => {
            tracing::error!(error = %other, "the engine component failed");
            EngineError::Other {
                code: ENGINE_FAILURE.into(),
                message: "the MFA engine failed; try again".into(),
            }
        }
    }
}

/// The code of [`EngineError::Other`] for a failure of the engine's runtime.
pub const ENGINE_FAILURE: &str = "engine_failure";

fn step<T>(before: &UserRecord, r: Result<mfa_host::Outcome<T>, mfa_host::Error>) -> Step<T> {
    match r {
        Ok(o) => Step {
            stored: o.saved.stored,
            revision: o.saved.revision,
            audit: o.saved.events,
            summary: o.saved.summary,
            result: o.result,
        },
        Err(e) => Step {
            stored: None,
            revision: before.revision(),
            audit: Vec::new(),
            summary: None,
            result: Err(host_failure(e)),
        },
    }
}

/// What a registration started: an authenticator app to scan, or a code sent.
#[derive(Debug)]
pub enum Registration {
    /// Show the QR code and manual key.
    Authenticator(AuthenticatorSetup),
    /// A code was made for delivery.
    CodeSent {
        /// What to deliver.
        delivery: Delivery,
    },
}

// ----- the engine ------------------------------------------------------------

/// Where the component is and how to run it.
#[derive(Debug, Clone)]
pub struct ComponentSettings {
    /// The `.wasm` file.
    pub wasm: PathBuf,
    /// Cache directory for the compiled component.
    pub cache_dir: PathBuf,
    /// Most concurrent engine calls (0: the host's default).
    pub max_instances: u32,
}

/// Read the component file, or say how to build it.
pub fn read_component(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the engine component {}: {e}; build it with `{BUILD_COMPONENT}` or set engine.component (or MFA_COMPONENT_WASM) to its path",
            path.display()
        )
    })
}

/// The engine component, configured with a policy and keys.
#[derive(Clone)]
pub struct EngineHandle {
    host: MfaHost,
    policy: Arc<Policy>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Load the component and create its engine with this policy (`None`: the
    /// engine's default) and the key file's JSON.
    pub fn new(
        settings: &ComponentSettings,
        wasm: &[u8],
        policy: Option<Policy>,
        keys_json: &str,
    ) -> Result<Self, mfa_host::Error> {
        let mut b = MfaHost::builder()
            .component_bytes(wasm.to_vec())
            .keys(keys_json)
            .cache_dir(&settings.cache_dir);
        if settings.max_instances > 0 {
            b = b.max_instances(settings.max_instances);
        }
        if let Some(p) = policy {
            b = b.policy(p);
        }
        let host = b.build()?;
        let policy = Arc::new(host.policy().clone());
        Ok(Self { host, policy })
    }

    /// New keys (a sealing key and a signing key) as key-file JSON.
    pub fn generate_keys_json(wasm: &[u8]) -> Result<String, mfa_host::Error> {
        mfa_host::generate_key_file(wasm)
    }

    /// Rotate a key file: `what` is `signing` or `sealing`. Returns the new JSON and key id.
    pub fn rotate_keys_json(
        wasm: &[u8],
        keys_json: &str,
        what: &str,
    ) -> Result<(String, String), String> {
        let kind = match what {
            "signing" => mfa_host::KeyKind::Signing,
            "sealing" => mfa_host::KeyKind::Sealing,
            _ => return Err(format!("unknown key kind {what:?}: use signing or sealing")),
        };
        mfa_host::rotate_key(wasm, keys_json, kind).map_err(|e| e.to_string())
    }

    /// Remove a retired signing key from a key file.
    pub fn retire_signing_key_json(
        wasm: &[u8],
        keys_json: &str,
        id: &str,
    ) -> Result<String, String> {
        mfa_host::retire_signing_key(wasm, keys_json, id).map_err(|e| e.to_string())
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The public token signing keys (JWKS document).
    pub fn jwks(&self) -> Value {
        match self.host.jwks() {
            Ok(keys) => jwks_value(&keys),
            Err(e) => {
                tracing::error!(error = %e, "the engine component failed to list its keys");
                json!({"keys": []})
            }
        }
    }

    // ----- records -------------------------------------------------------

    fn summarise(
        &self,
        user_id: &str,
        created_at: u64,
        stored: Option<Arc<[u8]>>,
        now: u64,
    ) -> Result<UserRecord, EngineError> {
        let rec = match &stored {
            Some(b) => Record::Stored(b),
            None => Record::New {
                user_id,
                now: created_at,
            },
        };
        let summary = self.host.summary(rec, now).map_err(host_failure)?;
        Ok(UserRecord {
            user_id: user_id.to_string(),
            created_at,
            stored,
            summary,
        })
    }

    /// A record for a user who has none stored yet.
    pub fn new_record(&self, user_id: &str, now: u64) -> Result<UserRecord, EngineError> {
        self.summarise(user_id, now, None, now)
    }

    /// Read a stored record (empty text: the user has none yet).
    pub fn record_from_stored(
        &self,
        user_id: &str,
        stored: &str,
        now: u64,
    ) -> Result<UserRecord, EngineError> {
        let bytes = (!stored.is_empty()).then(|| Arc::from(stored.as_bytes()));
        self.summarise(user_id, now, bytes, now)
    }

    /// The record after a step (the same record when it did not change).
    pub fn record_after(
        &self,
        before: &UserRecord,
        stored: Vec<u8>,
        summary: Option<RecordSummary>,
        now: u64,
    ) -> Result<UserRecord, EngineError> {
        if std::str::from_utf8(&stored).is_err() {
            return Err(EngineError::CorruptRecord {
                reason: "the engine saved a record that is not text".into(),
            });
        }
        match summary {
            Some(summary) => Ok(UserRecord {
                user_id: before.user_id.clone(),
                created_at: before.created_at,
                stored: Some(stored.into()),
                summary,
            }),
            None => self.summarise(&before.user_id, before.created_at, Some(stored.into()), now),
        }
    }

    fn op<T>(
        &self,
        before: &UserRecord,
        f: impl FnOnce(&MfaHost, Record<'_>) -> Result<mfa_host::Outcome<T>, mfa_host::Error>,
    ) -> Step<T> {
        step(before, f(&self.host, before.as_record()))
    }

    // ----- enrolment -----------------------------------------------------

    /// What the sign-in must do next.
    pub fn enrollment_check(&self, rec: &UserRecord, now: u64) -> NextStep {
        match self.host.enrollment_check(rec.as_record(), now) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "enrolment check failed");
                NextStep::Locked(now + 60)
            }
        }
    }

    /// Start registering an authenticator app.
    pub fn begin_authenticator(
        &self,
        rec: &UserRecord,
        account: Option<&str>,
        now: u64,
    ) -> Step<Registration> {
        self.op(rec, |h, r| h.begin_authenticator(r, account, now))
            .map(Registration::Authenticator)
    }

    /// Start registering an authentication phone (`country_code` like `+44` or `44`).
    pub fn begin_phone(
        &self,
        rec: &UserRecord,
        country_code: &str,
        national: &str,
        channel: PhoneChannel,
        now: u64,
    ) -> Step<Registration> {
        let number = mfa_host::PhoneNumber {
            country_code: country_code.to_string(),
            national: national.to_string(),
        };
        self.op(rec, |h, r| h.begin_phone(r, &number, channel.into(), now))
            .map(|delivery| Registration::CodeSent { delivery })
    }

    /// Start registering an authentication e-mail address.
    pub fn begin_email(&self, rec: &UserRecord, address: &str, now: u64) -> Step<Registration> {
        self.op(rec, |h, r| h.begin_email(r, address, now))
            .map(|delivery| Registration::CodeSent { delivery })
    }

    /// Import an existing generator from its otpauth URI.
    pub fn begin_import(&self, rec: &UserRecord, uri: &str, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.begin_import(r, uri, now))
    }

    /// Send the registration code again.
    pub fn resend_registration_code(&self, rec: &UserRecord, now: u64) -> Step<Delivery> {
        self.op(rec, |h, r| h.resend_registration_code(r, now))
    }

    /// Prove the registration in progress with a code.
    pub fn confirm_registration(&self, rec: &UserRecord, code: &str, now: u64) -> Step<Confirmed> {
        self.op(rec, |h, r| h.confirm_registration(r, code, now))
    }

    /// Choose the default method.
    pub fn set_default_method(&self, rec: &UserRecord, id: MethodId, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.set_default_method(r, id, now))
    }

    /// Remove a method.
    pub fn remove_method(&self, rec: &UserRecord, id: MethodId, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.remove_method(r, id, now))
    }

    // ----- verification --------------------------------------------------

    /// Send a sign-in code (default method when `None`).
    pub fn send_code(
        &self,
        rec: &UserRecord,
        method: Option<MethodId>,
        now: u64,
    ) -> Step<Delivery> {
        self.op(rec, |h, r| h.send_code(r, method, now))
    }

    /// Issue a new set of recovery codes.
    pub fn regenerate_recovery_codes(&self, rec: &UserRecord, now: u64) -> Step<RecoveryCodes> {
        self.op(rec, |h, r| h.regenerate_recovery_codes(r, now))
    }

    // ----- sign-in -------------------------------------------------------

    /// The first factor was accepted: the next step with a login token, or
    /// signed in by a remembered device.
    pub fn start_sign_in(
        &self,
        rec: &UserRecord,
        first: FirstFactor,
        device_token: Option<&str>,
        now: u64,
    ) -> Step<SignInStarted> {
        self.op(rec, |h, r| h.start_sign_in(r, first, device_token, now))
    }

    /// The second factor, and the session (and device token) issued for it.
    pub fn finish_sign_in(
        &self,
        rec: &UserRecord,
        standing: Standing<'_>,
        proof: Proof<'_>,
        remember: bool,
        now: u64,
    ) -> Step<SignedIn> {
        self.op(rec, |h, r| {
            h.finish_sign_in(r, standing, proof, remember, now)
        })
    }

    /// Prove the registration in progress (during "Set it up now" it signs in).
    pub fn finish_registration(
        &self,
        rec: &UserRecord,
        standing: Standing<'_>,
        code: &str,
        remember: bool,
        now: u64,
    ) -> Step<Registered> {
        self.op(rec, |h, r| {
            h.finish_registration(r, standing, code, remember, now)
        })
    }

    /// Whether a caller who passed only the first factor may add a method now.
    pub fn check_may_register(&self, rec: &UserRecord, now: u64) -> Result<(), EngineError> {
        self.host
            .check_may_register(rec.as_record(), now)
            .map_err(host_failure)
    }

    /// May this caller take this action on this record?
    pub fn authorize(
        &self,
        rec: &UserRecord,
        standing: Standing<'_>,
        action: Action,
        now: u64,
    ) -> Result<SignInCaller, EngineError> {
        self.host
            .authorize(rec.as_record(), standing, action, now)
            .map_err(host_failure)
    }

    /// End every session of the user (`actor` none: the user's own "sign out everywhere").
    pub fn revoke_sessions(&self, rec: &UserRecord, actor: Option<&str>, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.revoke_sessions(r, actor, now))
    }

    /// Who a login or session token belongs to.
    pub fn sign_in_caller(&self, token: &str, now: u64) -> Result<SignInCaller, EngineError> {
        self.host.sign_in_caller(token, now).map_err(host_failure)
    }

    /// Calls made into the component so far.
    pub fn calls(&self) -> u64 {
        self.host.calls()
    }

    // ----- app passwords -------------------------------------------------

    /// Create an app password (the password is in the answer only).
    pub fn create_app_password(
        &self,
        rec: &UserRecord,
        name: &str,
        scopes: &[String],
        expires_at: Option<u64>,
        now: u64,
    ) -> Step<NewAppPassword> {
        let request = mfa_host::AppPasswordRequest {
            name: name.to_string(),
            scopes: scopes.to_vec(),
            expires_at,
        };
        self.op(rec, |h, r| h.create_app_password(r, &request, now))
    }

    /// Check an app password presented by a client.
    pub fn verify_app_password(
        &self,
        rec: &UserRecord,
        presented: &str,
        scope: Option<&str>,
        now: u64,
    ) -> Step<AppPasswordMatch> {
        self.op(rec, |h, r| h.verify_app_password(r, presented, scope, now))
    }

    /// The engine's gateway rules (`gateway` interface): the user-id form,
    /// the form of a presented app password, which refusals count against
    /// an address, the throttle and the cache's trust.
    pub fn canonical_user(&self, raw: &str) -> Result<String, EngineError> {
        self.host.canonical_user(raw).map_err(host_failure)
    }

    /// Check a presented user and app password for form and checksum (no hashing).
    pub fn present_app_password(
        &self,
        user: &str,
        password: &str,
    ) -> Result<mfa_host::Presented, EngineError> {
        self.host
            .present_app_password(user, password)
            .map_err(host_failure)
    }

    /// Whether a refusal counts against the client address (a runtime
    /// failure counts: a guess must never go uncounted).
    pub fn counts_against_address(&self, refusal: &EngineError) -> bool {
        self.host.counts_against_address(refusal).unwrap_or(true)
    }

    /// Check a throttle's settings.
    pub fn check_failure_window(&self, w: mfa_host::FailureWindow) -> Result<(), EngineError> {
        self.host.check_failure_window(w).map_err(host_failure)
    }

    /// The count after one more failure (a runtime failure blocks for the
    /// window: failing closed).
    pub fn failed(
        &self,
        count: mfa_host::FailureCount,
        w: mfa_host::FailureWindow,
        now: u64,
    ) -> mfa_host::FailureCount {
        self.host.failed(count, w, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the engine component failed to count a failure");
            mfa_host::FailureCount {
                failures: count.failures.saturating_add(1),
                window_start: now,
                blocked_until: now.saturating_add(w.block_secs),
                stale_at: now.saturating_add(w.block_secs.max(w.window_secs)),
            }
        })
    }

    /// Seconds to wait, if `count` blocks at `now` (a runtime failure: wait a minute).
    pub fn retry_after(&self, count: mfa_host::FailureCount, now: u64) -> Option<u64> {
        self.host.retry_after(count, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the engine component failed to read a failure count");
            Some(60)
        })
    }

    /// Until when a verification at `verified_at` may be answered from the
    /// cache (a runtime failure: not at all).
    pub fn cache_until(
        &self,
        verified_at: u64,
        cache_secs: u64,
        expires_at: Option<u64>,
        last_used_at: Option<u64>,
    ) -> Option<u64> {
        self.host
            .cache_until(verified_at, cache_secs, expires_at, last_used_at)
            .ok()
            .flatten()
    }

    /// The credential (hash, scopes, expiry) of one live app password.
    pub fn app_password_credential(
        &self,
        rec: &UserRecord,
        id: &str,
    ) -> Result<AppPasswordCredential, EngineError> {
        self.host
            .app_password_credential(rec.as_record(), id)
            .map_err(host_failure)
    }

    /// Delete one app password.
    pub fn delete_app_password(&self, rec: &UserRecord, id: &str, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.delete_app_password(r, id, now))
    }

    // ----- admin ---------------------------------------------------------

    /// Set the MFA state (disabled, enabled, enforced).
    pub fn set_mfa_state(
        &self,
        rec: &UserRecord,
        state: MfaState,
        actor: &str,
        now: u64,
    ) -> Step<()> {
        self.op(rec, |h, r| h.set_mfa_state(r, state.into(), actor, now))
    }

    /// Require the user to provide contact methods again.
    pub fn require_reregistration(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.require_reregistration(r, actor, now))
    }

    /// Delete every app password of the user; returns how many.
    pub fn delete_all_app_passwords(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<u32> {
        self.op(rec, |h, r| h.delete_all_app_passwords(r, actor, now))
    }

    /// Restore MFA on all remembered devices.
    pub fn restore_remembered_devices(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.restore_remembered_devices(r, actor, now))
    }

    /// Issue a one-time pass for the user.
    pub fn issue_one_time_pass(
        &self,
        rec: &UserRecord,
        actor: &str,
        lifetime_secs: u32,
        now: u64,
    ) -> Step<mfa_host::OneTimePass> {
        self.op(rec, |h, r| {
            h.issue_one_time_pass(r, actor, lifetime_secs, now)
        })
    }

    /// Lift every lock and back-off.
    pub fn unlock(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.unlock(r, actor, now))
    }

    /// Remove every method, recovery code and remembered device.
    pub fn reset_methods(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        self.op(rec, |h, r| h.reset_methods(r, actor, now))
    }

    /// Seal stored seeds again under the active sealing key.
    pub fn reseal(&self, rec: &UserRecord, now: u64) -> Step<u32> {
        self.op(rec, |h, r| h.reseal(r, now))
    }
}

/// Fill a buffer from the operating system's random number generator.
pub fn random_bytes(dest: &mut [u8]) {
    if let Err(e) = getrandom::fill(dest) {
        // Without randomness no secret can be made safely: stop rather than go on weakly.
        tracing::error!(error = %e, "the operating system's random number generator failed");
        std::process::abort();
    }
}
