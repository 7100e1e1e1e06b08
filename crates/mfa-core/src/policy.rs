//! The organisation's MFA service settings.
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::hash::Argon2Params;
use crate::otp::{Totp, check_digits};

/// A kind of verification method an organisation can allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodType {
    /// An authenticator app (TOTP or HOTP).
    AuthenticatorApp,
    /// A code by text message to the authentication phone.
    Text,
    /// A voice call to the authentication phone that reads the code.
    Call,
    /// A code by e-mail to the authentication e-mail address.
    Email,
    /// A passkey or security key (WebAuthn): phishing-resistant, bound to
    /// the site's origin. Needs [`Policy::passkeys`]' relying party.
    Passkey,
}

impl MethodType {
    /// The method's name as shown to people and in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticatorApp => "authenticator_app",
            Self::Text => "text",
            Self::Call => "call",
            Self::Email => "email",
            Self::Passkey => "passkey",
        }
    }

    /// Every method type.
    pub const ALL: [MethodType; 5] = [
        Self::AuthenticatorApp,
        Self::Text,
        Self::Call,
        Self::Email,
        Self::Passkey,
    ];

    /// The methods allowed by default: those that need no site
    /// configuration (passkeys need a relying party).
    pub const DEFAULT_ALLOWED: [MethodType; 4] =
        [Self::AuthenticatorApp, Self::Text, Self::Call, Self::Email];
}

/// Most passkeys one user may register, at most.
pub const MAX_PASSKEYS_PER_USER: u8 = 10;

/// Passkeys and security keys (WebAuthn): the site they are created for and
/// the organisation's rules for them. Used when
/// [`Policy::allowed_methods`] names [`MethodType::Passkey`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeyPolicy {
    /// The relying party id: the site's domain (`example.com`, or
    /// `localhost` for development). Default empty (no passkeys).
    pub rp_id: String,
    /// The name browsers show while creating a passkey. Default empty: the issuer.
    pub rp_name: String,
    /// The exact origins pages may run a ceremony from
    /// (`https://login.example.com`; `http://localhost:8080` for development).
    pub origins: Vec<String>,
    /// Refuse keys that did not verify the user (PIN, fingerprint, face).
    /// Default `false`: verification is asked for, not required.
    pub require_user_verification: bool,
    /// Authenticator models allowed (AAGUIDs, 32 hex digits, dashes
    /// allowed), e.g. only the company's security keys. Default empty: any.
    pub allowed_aaguids: Vec<String>,
    /// Accept a key whose sign count did not go up (a possibly cloned key),
    /// recording it in the audit, instead of refusing it. Default `false`.
    pub accept_sign_count_regression: bool,
    /// Passkeys one user may register, 1 to [`MAX_PASSKEYS_PER_USER`]. Default 5.
    pub max_per_user: u8,
}

impl Default for PasskeyPolicy {
    fn default() -> Self {
        Self {
            rp_id: String::new(),
            rp_name: String::new(),
            origins: Vec::new(),
            require_user_verification: false,
            allowed_aaguids: Vec::new(),
            accept_sign_count_regression: false,
            max_per_user: 5,
        }
    }
}

impl PasskeyPolicy {
    /// The allowed AAGUIDs as bytes; the error names the first malformed one.
    pub fn aaguids(&self) -> Result<Vec<[u8; 16]>, Error> {
        self.allowed_aaguids
            .iter()
            .map(|a| {
                parse_aaguid(a).ok_or_else(|| Error::InvalidPolicy {
                    reason: format!(
                        "passkeys.allowed_aaguids: {a:?} is not an AAGUID (32 hex digits, such as cb69481e-8ff7-4039-93ec-0a2729a154a8)"
                    ),
                })
            })
            .collect()
    }

    fn validate(&self, needed: bool) -> Result<(), Error> {
        let bad = |reason: String| Err(Error::InvalidPolicy { reason });
        if !(1..=MAX_PASSKEYS_PER_USER).contains(&self.max_per_user) {
            return bad(format!(
                "passkeys.max_per_user must be 1 to {MAX_PASSKEYS_PER_USER}, not {}",
                self.max_per_user
            ));
        }
        self.aaguids()?;
        if !needed && self.rp_id.is_empty() {
            return Ok(());
        }
        if self.rp_id.is_empty() || self.origins.is_empty() {
            return bad("passkeys need the site: set passkeys.rp_id (such as example.com) and passkeys.origins (such as https://example.com)".into());
        }
        #[cfg(feature = "webauthn")]
        self.relying_party("mfa-wasm")?;
        Ok(())
    }

    /// The relying party these settings name (`issuer` when no name is set).
    #[cfg(feature = "webauthn")]
    pub(crate) fn relying_party(
        &self,
        issuer: &str,
    ) -> Result<crate::webauthn::RelyingParty, Error> {
        let name = if self.rp_name.trim().is_empty() {
            issuer
        } else {
            &self.rp_name
        };
        let origins: Vec<&str> = self.origins.iter().map(String::as_str).collect();
        crate::webauthn::RelyingParty::new(&self.rp_id, name, &origins).map_err(|e| {
            Error::InvalidPolicy {
                reason: format!("passkeys: {e}"),
            }
        })
    }
}

/// An AAGUID as 32 hex digits, dashes anywhere ignored.
pub(crate) fn parse_aaguid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Service settings. Build one with [`Policy::builder`]; every field has a
/// documented default, and [`PolicyBuilder::build`] refuses inconsistent values.
/// Deserialised policies are checked the same way by [`Policy::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Issuer shown in authenticator apps and put in tokens (`iss`). Default `mfa-wasm`.
    pub issuer: String,
    /// Audience of issued tokens (`aud`). Default `mfa-wasm`.
    pub audience: String,
    /// Methods users may register and use. Default: the four code methods
    /// ([`MethodType::DEFAULT_ALLOWED`]); passkeys also need [`Policy::passkeys`].
    pub allowed_methods: Vec<MethodType>,
    /// Whether users may create app passwords. Default `true`. Existing ones keep working when this is turned off.
    pub app_passwords_allowed: bool,
    /// Most app passwords one user may hold. Default 40.
    pub max_app_passwords: u32,
    /// Days a "don't ask again on this device" token lasts, 1 to 365. Default 90.
    pub remember_device_days: u16,
    /// Seconds an MFA session token lasts. Default 8 hours.
    pub session_lifetime_secs: u32,
    /// Parameters for new authenticator-app registrations. Default SHA1, 6 digits, 30 s.
    pub totp: Totp,
    /// Steps accepted either side of the current one. Default 1.
    pub totp_window: u8,
    /// Counters accepted after the expected HOTP counter. Default 10.
    pub hotp_look_ahead: u32,
    /// Counters searched when resynchronising a HOTP token. Default 100.
    pub hotp_resync_window: u32,
    /// Accept imported secrets shorter than 128 bits. Default `false`.
    pub allow_short_secrets: bool,
    /// Digits of codes sent by text, call and e-mail. Default 6.
    pub code_digits: u8,
    /// Seconds a sent code stays valid. Default 180.
    pub code_lifetime_secs: u32,
    /// Wrong entries allowed per sent code. Default 5.
    pub code_attempts: u8,
    /// Seconds a registration may take between start and proof. Default 900.
    pub registration_lifetime_secs: u32,
    /// Recovery codes per set. Default 10.
    pub recovery_code_count: u8,
    /// Consecutive failures allowed before back-off starts. Default 3.
    pub free_failures: u32,
    /// First back-off delay in seconds, doubled on each further failure. Default 1.
    pub backoff_base_secs: u32,
    /// Longest back-off delay in seconds. Default 300.
    pub backoff_max_secs: u32,
    /// Consecutive failures that lock a factor, 1 to 100. Default 10.
    pub lockout_threshold: u32,
    /// Seconds a lock lasts unless an admin unlocks sooner. Default 900.
    pub lockout_secs: u32,
    /// argon2id parameters for app passwords and recovery codes. Default m=19456 KiB, t=2, p=1.
    pub argon2: Argon2Params,
    /// The organisation's own e-mail domains (refused as authentication e-mail). Default none.
    pub organisation_domains: Vec<String>,
    /// Seconds between two codes sent to one destination of a user, 0 to 600. Default 30.
    pub send_gap_secs: u32,
    /// Codes sent to one user per hour, 1 to 100. Default 5.
    pub sends_per_hour: u32,
    /// Codes sent to one user per day, at least `sends_per_hour` and at most 1000. Default 10.
    pub sends_per_day: u32,
    /// Country calling codes an authentication phone may be registered in
    /// (E.164 prefixes without `+`, such as `44` or `1`; a longer prefix such
    /// as `1876` names one area). Default empty: every country.
    pub phone_country_codes: Vec<String>,
    /// Consecutive failed second factors, over all factors and across lock
    /// expiry, after which only an admin can unlock the user (NIST SP
    /// 800-63B: at most 100). At least `lockout_threshold`. Default 100.
    pub failure_cap: u32,
    /// Seconds a second factor counts as recent: creating an app password,
    /// adding or removing a method and new recovery codes need a
    /// verification this recent, or the user verifies again. 60 to 86,400.
    /// Default 600.
    pub reauth_window_secs: u32,
    /// Passkeys and security keys: the relying party and the rules.
    /// Default: no relying party (passkeys off).
    pub passkeys: PasskeyPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            issuer: "mfa-wasm".into(),
            audience: "mfa-wasm".into(),
            allowed_methods: MethodType::DEFAULT_ALLOWED.to_vec(),
            app_passwords_allowed: true,
            max_app_passwords: 40,
            remember_device_days: 90,
            session_lifetime_secs: 8 * 3600,
            totp: Totp::default(),
            totp_window: 1,
            hotp_look_ahead: 10,
            hotp_resync_window: 100,
            allow_short_secrets: false,
            code_digits: 6,
            code_lifetime_secs: 180,
            code_attempts: 5,
            registration_lifetime_secs: 900,
            recovery_code_count: 10,
            free_failures: 3,
            backoff_base_secs: 1,
            backoff_max_secs: 300,
            lockout_threshold: 10,
            lockout_secs: 900,
            argon2: Argon2Params::default(),
            organisation_domains: Vec::new(),
            send_gap_secs: 30,
            sends_per_hour: 5,
            sends_per_day: 10,
            phone_country_codes: Vec::new(),
            failure_cap: 100,
            reauth_window_secs: 600,
            passkeys: PasskeyPolicy::default(),
        }
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Self::default(),
        }
    }

    /// Whether users may use this method.
    pub fn allows(&self, method: MethodType) -> bool {
        self.allowed_methods.contains(&method)
    }

    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: String| Err(Error::InvalidPolicy { reason });
        if self.issuer.trim().is_empty() || self.issuer.contains(':') {
            return bad("issuer must be non-empty and contain no ':'".into());
        }
        if self.audience.trim().is_empty() {
            return bad("audience must be non-empty".into());
        }
        if !(1..=365).contains(&self.remember_device_days) {
            return bad(format!(
                "remember_device_days must be 1 to 365, not {}",
                self.remember_device_days
            ));
        }
        if !(60..=30 * 86_400).contains(&self.session_lifetime_secs) {
            return bad("session_lifetime_secs must be 60 seconds to 30 days".into());
        }
        if !(60..=86_400).contains(&self.reauth_window_secs) {
            return bad(format!(
                "reauth_window_secs must be 60 to 86400 seconds, not {}",
                self.reauth_window_secs
            ));
        }
        if check_digits(self.totp.digits).is_err() || check_digits(self.code_digits).is_err() {
            return bad("totp.digits and code_digits must be 6, 7 or 8".into());
        }
        if !(15..=300).contains(&self.totp.period) {
            return bad("totp.period must be 15 to 300 seconds".into());
        }
        if self.totp_window > 10 {
            return bad("totp_window must be 0 to 10 steps".into());
        }
        if self.hotp_look_ahead > 1000 || self.hotp_resync_window > 10_000 {
            return bad(
                "hotp_look_ahead must be at most 1000 and hotp_resync_window at most 10000".into(),
            );
        }
        if !(30..=3600).contains(&self.code_lifetime_secs) {
            return bad("code_lifetime_secs must be 30 to 3600".into());
        }
        if !(1..=20).contains(&self.code_attempts) {
            return bad("code_attempts must be 1 to 20".into());
        }
        if !(60..=86_400).contains(&self.registration_lifetime_secs) {
            return bad("registration_lifetime_secs must be 60 to 86400".into());
        }
        if !(5..=20).contains(&self.recovery_code_count) {
            return bad("recovery_code_count must be 5 to 20".into());
        }
        if !(1..=100).contains(&self.lockout_threshold) {
            return bad(format!(
                "lockout_threshold must be 1 to 100 (NIST SP 800-63B), not {}",
                self.lockout_threshold
            ));
        }
        if self.backoff_base_secs == 0 || self.backoff_max_secs < self.backoff_base_secs {
            return bad("backoff_base_secs must be at least 1 and at most backoff_max_secs".into());
        }
        if !(60..=30 * 86_400).contains(&self.lockout_secs) {
            return bad("lockout_secs must be 60 seconds to 30 days".into());
        }
        if !(1..=1000).contains(&self.max_app_passwords) {
            return bad("max_app_passwords must be 1 to 1000".into());
        }
        if self.allowed_methods.is_empty() {
            return bad("allowed_methods must name at least one method".into());
        }
        if self.send_gap_secs > 600 {
            return bad("send_gap_secs must be 0 to 600".into());
        }
        if !(1..=100).contains(&self.sends_per_hour)
            || !(self.sends_per_hour..=1000).contains(&self.sends_per_day)
        {
            return bad(
                "sends_per_hour must be 1 to 100, and sends_per_day from sends_per_hour to 1000"
                    .into(),
            );
        }
        for c in &self.phone_country_codes {
            if c.is_empty()
                || c.len() > 6
                || !c.bytes().all(|b| b.is_ascii_digit())
                || c.starts_with('0')
            {
                return bad(format!(
                    "phone_country_codes: {c:?} is not a calling code (digits without +, such as 44)"
                ));
            }
        }
        if !(self.lockout_threshold..=100).contains(&self.failure_cap) {
            return bad(format!(
                "failure_cap must be from lockout_threshold ({}) to 100, not {}",
                self.lockout_threshold, self.failure_cap
            ));
        }
        self.argon2.validate()?;
        self.passkeys
            .validate(self.allowed_methods.contains(&MethodType::Passkey))?;
        Ok(())
    }

    /// Whether a phone number (E.164, with `+`) may be registered.
    pub fn allows_phone(&self, e164: &str) -> bool {
        let digits = e164.trim_start_matches('+');
        self.phone_country_codes.is_empty()
            || self
                .phone_country_codes
                .iter()
                .any(|c| digits.starts_with(c.as_str()))
    }
}

/// Builds a [`Policy`] from the defaults, one setting at a time.
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    policy: Policy,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl PolicyBuilder {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Self {
                    self.policy.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// See [`Policy::issuer`].
    issuer: String,
    /// See [`Policy::audience`].
    audience: String,
    /// See [`Policy::allowed_methods`].
    allowed_methods: Vec<MethodType>,
    /// See [`Policy::app_passwords_allowed`].
    app_passwords_allowed: bool,
    /// See [`Policy::max_app_passwords`].
    max_app_passwords: u32,
    /// See [`Policy::remember_device_days`].
    remember_device_days: u16,
    /// See [`Policy::session_lifetime_secs`].
    session_lifetime_secs: u32,
    /// See [`Policy::totp`].
    totp: Totp,
    /// See [`Policy::totp_window`].
    totp_window: u8,
    /// See [`Policy::hotp_look_ahead`].
    hotp_look_ahead: u32,
    /// See [`Policy::hotp_resync_window`].
    hotp_resync_window: u32,
    /// See [`Policy::allow_short_secrets`].
    allow_short_secrets: bool,
    /// See [`Policy::code_digits`].
    code_digits: u8,
    /// See [`Policy::code_lifetime_secs`].
    code_lifetime_secs: u32,
    /// See [`Policy::code_attempts`].
    code_attempts: u8,
    /// See [`Policy::registration_lifetime_secs`].
    registration_lifetime_secs: u32,
    /// See [`Policy::recovery_code_count`].
    recovery_code_count: u8,
    /// See [`Policy::free_failures`].
    free_failures: u32,
    /// See [`Policy::backoff_base_secs`].
    backoff_base_secs: u32,
    /// See [`Policy::backoff_max_secs`].
    backoff_max_secs: u32,
    /// See [`Policy::lockout_threshold`].
    lockout_threshold: u32,
    /// See [`Policy::lockout_secs`].
    lockout_secs: u32,
    /// See [`Policy::argon2`].
    argon2: Argon2Params,
    /// See [`Policy::organisation_domains`].
    organisation_domains: Vec<String>,
    /// See [`Policy::send_gap_secs`].
    send_gap_secs: u32,
    /// See [`Policy::sends_per_hour`].
    sends_per_hour: u32,
    /// See [`Policy::sends_per_day`].
    sends_per_day: u32,
    /// See [`Policy::phone_country_codes`].
    phone_country_codes: Vec<String>,
    /// See [`Policy::failure_cap`].
    failure_cap: u32,
    /// See [`Policy::reauth_window_secs`].
    reauth_window_secs: u32,
    /// See [`Policy::passkeys`].
    passkeys: PasskeyPolicy,
}

impl PolicyBuilder {
    /// The policy, if every setting is consistent.
    pub fn build(self) -> Result<Policy, Error> {
        self.policy.validate()?;
        Ok(self.policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_limits_enforced() {
        assert!(Policy::builder().build().is_ok());
        assert!(Policy::builder().lockout_threshold(101).build().is_err());
        assert!(Policy::builder().remember_device_days(0).build().is_err());
        assert!(Policy::builder().allowed_methods(vec![]).build().is_err());
        let json = r#"{"remember_device_days": 30, "allowed_methods": ["authenticator_app"]}"#;
        let p: Policy = serde_json::from_str(json).unwrap();
        assert_eq!(p.remember_device_days, 30);
        assert!(serde_json::from_str::<Policy>(r#"{"remember_days": 3}"#).is_err());
    }
}
