//! The JSON forms of the engine's types (feature `json`): the names a
//! configuration file, an HTTP API and an audit log use, kept once here so a
//! host keeps none of its own.
//!
//! - the engine's enums by their stable `snake_case` names (`as_str`,
//!   `from_name`, and serde in both directions);
//! - [`PolicySettings`], the policy as an administrator writes it (every field
//!   optional, laid over the engine's defaults, unknown fields refused);
//! - renderers for what a host shows: [`next_json`], [`method_json`],
//!   [`app_password_json`], [`audit_json`], [`jwks_value`]. None of them can
//!   show a secret: the types they read carry none.
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::{
    Algorithm, AppPasswordInfo, Argon2Params, AuditEvent, AuditKind, Factor, FailureReason, Jwk,
    KeyKind, Method, MethodKind, MethodType, MfaState, NextStep, PasskeyPolicy, PhoneChannel,
    Policy, TotpParams,
};

macro_rules! named {
    ($(#[$m:meta])* $t:ident { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            /// Every value, in the engine's order.
            pub const ALL: &'static [$t] = &[$($t::$v),*];

            $(#[$m])*
            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $s),* }
            }

            /// The value of a stable name (`None` for any other text).
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($s => Some($t::$v),)* _ => None }
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $t::from_name(&name)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&name, &[$($s),*]))
            }
        }
    };
}

named!(
    /// The stable name: `authenticator_app`, `text`, `call`, `email` or `passkey`.
    MethodType {
        AuthenticatorApp = "authenticator_app",
        Text = "text",
        Call = "call",
        Email = "email",
        Passkey = "passkey",
    }
);
named!(
    /// The stable name: `disabled`, `enabled` or `enforced`.
    MfaState {
        Disabled = "disabled",
        Enabled = "enabled",
        Enforced = "enforced",
    }
);
named!(
    /// The stable name: `text` or `call`.
    PhoneChannel {
        Text = "text",
        Call = "call",
    }
);
named!(
    /// The stable name of a factor with its own failure counter.
    Factor {
        Authenticator = "authenticator",
        Phone = "phone",
        Email = "email",
        Recovery = "recovery",
        AppPassword = "app_password",
        Passkey = "passkey",
    }
);
named!(
    /// The hash's name as RFC 6238 and `otpauth` URIs write it: `SHA1`,
    /// `SHA256` or `SHA512`.
    Algorithm {
        Sha1 = "SHA1",
        Sha256 = "SHA256",
        Sha512 = "SHA512",
    }
);
named!(
    /// The stable name: `signing` or `sealing`.
    KeyKind {
        Signing = "signing",
        Sealing = "sealing",
    }
);
named!(
    /// The stable name of why a check failed.
    FailureReason {
        Wrong = "wrong",
        Malformed = "malformed",
        Replay = "replay",
        Expired = "expired",
        AttemptsExhausted = "attempts_exhausted",
        Throttled = "throttled",
        Locked = "locked",
        Unknown = "unknown",
        Revoked = "revoked",
        OutOfScope = "out_of_scope",
        Other = "other",
    }
);

/// Policy fields as an administrator writes them (a configuration's
/// `[policy]` table, stored service settings): every field optional, applied
/// over the engine's defaults with [`PolicySettings::apply`]. Field names and
/// forms are the engine's; the engine checks the values when the policy is
/// used.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkeys: Option<PasskeySettings>,
}

/// Passkey settings as written in a policy (`[policy.passkeys]`): the fields
/// that are set are laid over the engine's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[allow(
    missing_docs,
    reason = "each field is the passkey policy field of the same name"
)]
pub struct PasskeySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_user_verification: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_aaguids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_sign_count_regression: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_user: Option<u8>,
}

macro_rules! passkey_fields {
    ($m:ident) => {
        $m!(
            rp_id,
            rp_name,
            origins,
            require_user_verification,
            allowed_aaguids,
            accept_sign_count_regression,
            max_per_user
        )
    };
}

impl PasskeySettings {
    /// Lay the fields that are set over `base`.
    pub fn apply(&self, base: &mut PasskeyPolicy) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { base.$f = v.clone(); } )* };
        }
        passkey_fields!(set);
    }

    /// Every field of the passkey policy.
    pub fn from_policy(p: &PasskeyPolicy) -> Self {
        macro_rules! read {
            ($($f:ident),*) => { Self { $( $f: Some(p.$f.clone()), )* } };
        }
        passkey_fields!(read)
    }
}

/// TOTP parameters as written in a policy.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TotpSettings {
    /// `SHA1`, `SHA256` or `SHA512`.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: u8,
    /// Seconds per step.
    pub period: u32,
}

impl From<TotpSettings> for TotpParams {
    fn from(t: TotpSettings) -> Self {
        Self {
            algorithm: t.algorithm,
            digits: t.digits,
            period: t.period,
        }
    }
}

impl From<TotpParams> for TotpSettings {
    fn from(t: TotpParams) -> Self {
        Self {
            algorithm: t.algorithm,
            digits: t.digits,
            period: t.period,
        }
    }
}

/// argon2id parameters as written in a policy or a host's settings (`m_kib`,
/// `t`, `p`).
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

impl From<Argon2Settings> for Argon2Params {
    fn from(a: Argon2Settings) -> Self {
        Self {
            m_kib: a.m_kib,
            t: a.t,
            p: a.p,
        }
    }
}

impl From<Argon2Params> for Argon2Settings {
    fn from(a: Argon2Params) -> Self {
        Self {
            m_kib: a.m_kib,
            t: a.t,
            p: a.p,
        }
    }
}

/// Every field of the policy, in one list: `$apply` lays a set field over the
/// policy, `$read` takes the policy's value.
macro_rules! policy_fields {
    ($m:ident) => {
        $m!(
            issuer,
            audience,
            allowed_methods,
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
        )
    };
}

impl PolicySettings {
    /// Lay the fields that are set over `base`.
    pub fn apply(&self, base: &mut Policy) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { base.$f = v.clone(); } )* };
        }
        policy_fields!(set);
        if let Some(t) = self.totp {
            base.totp = t.into();
        }
        if let Some(a) = self.argon2 {
            base.argon2 = a.into();
        }
        if let Some(p) = &self.passkeys {
            p.apply(&mut base.passkeys);
        }
    }

    /// Every field of a policy.
    pub fn from_policy(p: &Policy) -> Self {
        macro_rules! read {
            ($($f:ident),*) => { Self {
                $( $f: Some(p.$f.clone()), )*
                totp: Some(p.totp.into()),
                argon2: Some(p.argon2.into()),
                passkeys: Some(PasskeySettings::from_policy(&p.passkeys)),
            } };
        }
        policy_fields!(read)
    }
}

/// A "next step" of sign-in: `{"next": "verify", ...}`.
pub fn next_json(next: &NextStep) -> Value {
    match next {
        NextStep::Continue => json!({"next": "continue"}),
        NextStep::Register(l) => json!({"next": "register", "allowed": l}),
        NextStep::Reregister(l) => json!({"next": "reregister", "allowed": l}),
        NextStep::Verify(o) => json!({
            "next": "verify",
            "default": o.default,
            "methods": o.methods,
            "recovery_codes": o.recovery_codes,
            "one_time_pass": o.one_time_pass,
        }),
        NextStep::Replace(o) => json!({
            "next": "replace",
            "allowed": o.allowed,
            "methods": o.methods,
            "recovery_codes": o.recovery_codes,
            "one_time_pass": o.one_time_pass,
        }),
        NextStep::Locked(until) => json!({"next": "locked", "until": until}),
        NextStep::LockedOut => json!({"next": "locked_out"}),
    }
}

/// A registered method (no secret; contact details masked).
pub fn method_json(m: &Method) -> Value {
    let kind = match &m.kind {
        MethodKind::Totp(p) => json!({
            "type": "totp",
            "params": {"algorithm": p.algorithm, "digits": p.digits, "period": p.period},
        }),
        MethodKind::Hotp(p) => json!({
            "type": "hotp",
            "params": {"algorithm": p.algorithm, "digits": p.digits},
        }),
        MethodKind::Phone(p) => json!({
            "type": "phone",
            "masked": p.masked,
            "channel": p.channel,
        }),
        MethodKind::Email(masked) => json!({"type": "email", "masked": masked}),
        MethodKind::Passkey(p) => json!({
            "type": "passkey",
            "name": p.name,
            "aaguid": p.aaguid,
            "backup_eligible": p.backup_eligible,
            "backed_up": p.backed_up,
            "user_verified": p.user_verified,
        }),
    };
    json!({
        "id": m.id,
        "method_type": m.method_type,
        "kind": kind,
        "is_default": m.is_default,
        "added_at": m.added_at,
        "last_used_at": m.last_used_at,
    })
}

impl crate::HeldRecord {
    /// The registered methods, as [`method_json`] writes each.
    pub fn methods_json(&self) -> Value {
        Value::Array(self.summary().methods.iter().map(method_json).collect())
    }

    /// The live app passwords, as [`app_password_json`] writes each.
    pub fn app_passwords_json(&self) -> Value {
        Value::Array(
            self.summary()
                .app_passwords
                .iter()
                .map(app_password_json)
                .collect(),
        )
    }
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

/// The stable name of an audit event's kind, and its details.
fn audit_kind(kind: &AuditKind) -> (&'static str, Value) {
    use AuditKind as K;
    match kind {
        K::MfaStateChanged(c) => ("mfa_state_changed", json!({"from": c.from, "to": c.to})),
        K::RegistrationStarted => ("registration_started", json!({})),
        K::MethodAdded(id) => ("method_added", json!({"method_id": id})),
        K::MethodRemoved(id) => ("method_removed", json!({"method_id": id})),
        K::DefaultMethodChanged(id) => ("default_method_changed", json!({"method_id": id})),
        K::Registered => ("registered", json!({})),
        K::CodeSent => ("code_sent", json!({})),
        K::VerificationSucceeded(id) => ("verification_succeeded", json!({"method_id": id})),
        K::VerificationFailed(r) => ("verification_failed", json!({"reason": r})),
        K::ReplayRefused => ("replay_refused", json!({})),
        K::Locked(l) => ("locked", json!({"factor": l.factor, "until": l.until})),
        K::Unlocked => ("unlocked", json!({})),
        K::HotpResynchronised(id) => ("hotp_resynchronised", json!({"method_id": id})),
        K::RecoveryCodesIssued(n) => ("recovery_codes_issued", json!({"count": n})),
        K::RecoveryCodeUsed(n) => ("recovery_code_used", json!({"remaining": n})),
        K::AppPasswordCreated(r) => ("app_password_created", json!({"id": r.id, "name": r.name})),
        K::AppPasswordUsed(id) => ("app_password_used", json!({"id": id})),
        K::AppPasswordRejected(r) => ("app_password_rejected", json!({"reason": r})),
        K::AppPasswordDeleted(id) => ("app_password_deleted", json!({"id": id})),
        K::AllAppPasswordsDeleted(n) => ("all_app_passwords_deleted", json!({"count": n})),
        K::ReregistrationRequired => ("reregistration_required", json!({})),
        K::RememberedDevicesRestored => ("remembered_devices_restored", json!({})),
        K::SessionsRevoked(epoch) => ("sessions_revoked", json!({"epoch": epoch})),
        K::MethodsReset => ("methods_reset", json!({})),
        K::SessionIssued => ("session_issued", json!({})),
        K::DeviceRemembered(t) => ("device_remembered", json!({"expires_at": t})),
        K::SecretsResealed => ("secrets_resealed", json!({})),
        K::AdminRoleChanged(admin) => ("admin_role_changed", json!({"admin": admin})),
        K::PasskeySignCountRegressed(id) => {
            ("passkey_sign_count_regressed", json!({"method_id": id}))
        }
        K::Other(name) => ("other", json!({"name": name})),
    }
}

/// The stable name of an audit event's kind (`method_added`, `locked`, …).
pub fn audit_event_name(kind: &AuditKind) -> &'static str {
    audit_kind(kind).0
}

/// An audit event: `at`, `user_id`, `actor`, `method`, `event` and its details.
pub fn audit_json(e: &AuditEvent) -> Value {
    let (event, detail) = audit_kind(&e.kind);
    let mut v = json!({"at": e.at, "user_id": e.user_id, "event": event});
    if let Some(a) = &e.actor {
        v["actor"] = json!(a);
    }
    if let Some(m) = e.method {
        v["method"] = json!(m);
    }
    if let (Value::Object(o), Value::Object(d)) = (&mut v, detail) {
        o.extend(d);
    }
    v
}

/// The JWKS document (RFC 7517) of token signing keys.
pub fn jwks_value(keys: &[Jwk]) -> Value {
    serde_json::from_str(&crate::jwks_json(keys)).unwrap_or_else(|_| json!({"keys": []}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_both_ways_and_unknown_ones_are_refused() {
        for &t in MethodType::ALL {
            let text = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<MethodType>(&text).unwrap(), t);
        }
        let e = serde_json::from_str::<MethodType>("\"sms\"").unwrap_err();
        assert!(e.to_string().contains("unknown variant `sms`"), "{e}");
        assert!(e.to_string().contains("authenticator_app"), "{e}");
        assert_eq!(Algorithm::from_name("SHA256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::from_name("sha256"), None);
    }

    #[test]
    fn unknown_policy_fields_are_refused() {
        let e = serde_json::from_str::<PolicySettings>(r#"{"lockout_treshold": 3}"#).unwrap_err();
        assert!(e.to_string().contains("lockout_treshold"), "{e}");
    }
}
