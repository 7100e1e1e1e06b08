//! The relying party, the ceremony policy, and the options a ceremony
//! starts with (`PublicKeyCredentialCreationOptionsJSON` and
//! `PublicKeyCredentialRequestOptionsJSON`, WebAuthn §5.4 and §5.5).
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{CoseAlgorithm, WebauthnError};
use crate::RandomSource;
use crate::encoding::{b64url, serde_b64};

/// The site passkeys are created for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The relying party id: the site's registrable domain or a host under
    /// it (`example.com`, `login.example.com`, or `localhost`).
    pub id: String,
    /// The name browsers show ("Contoso").
    pub name: String,
    /// The exact origins pages may run a ceremony from (`https://login.example.com`).
    pub origins: Vec<String>,
    /// Top-level origins allowed to embed the ceremony in a frame (none by default).
    pub top_origins: Vec<String>,
    /// DER attestation roots; when set, only attested keys that chain to one are accepted.
    pub attestation_roots: Vec<Vec<u8>>,
}

fn config(reason: impl Into<String>) -> WebauthnError {
    WebauthnError::InvalidConfig {
        reason: reason.into(),
    }
}

impl RelyingParty {
    /// A relying party with `id`, `name` and `origins`, each origin checked:
    /// `https://` (or `http://localhost` for development) on the id's host
    /// or a host under it.
    pub fn new(id: &str, name: &str, origins: &[&str]) -> Result<Self, WebauthnError> {
        let id = id.trim();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if id.is_empty() || id.len() > 253 || !id.split('.').all(label_ok) {
            return Err(config(format!(
                "the relying party id must be a lower-case domain such as example.com, not {id:?}"
            )));
        }
        if id.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return Err(config(
                "the relying party id must be a domain, not an IP address",
            ));
        }
        if name.trim().is_empty() || name.len() > 64 {
            return Err(config("the relying party name must be 1 to 64 characters"));
        }
        if origins.is_empty() {
            return Err(config(
                "name at least one origin, such as https://example.com",
            ));
        }
        let mut checked = Vec::with_capacity(origins.len());
        for o in origins {
            checked.push(check_origin(id, o)?);
        }
        Ok(Self {
            id: id.to_string(),
            name: name.trim().to_string(),
            origins: checked,
            top_origins: Vec::new(),
            attestation_roots: Vec::new(),
        })
    }

    /// SHA-256 of the relying party id, as authenticator data carries it.
    pub fn id_hash(&self) -> [u8; 32] {
        Sha256::digest(self.id.as_bytes()).into()
    }
}

/// `origin` as browsers serialise it, on `rp_id`'s host or below.
fn check_origin(rp_id: &str, origin: &str) -> Result<String, WebauthnError> {
    let bad = || {
        config(format!(
            "origin {origin:?} must look like https://{rp_id} (scheme and host, no path)"
        ))
    };
    let (scheme, rest) = origin.split_once("://").ok_or_else(bad)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    if host.is_empty() || host.contains(['/', '?', '#', '@']) || host != host.to_ascii_lowercase() {
        return Err(bad());
    }
    match scheme {
        "https" => {}
        "http" if host == "localhost" => {}
        _ => {
            return Err(config(format!(
                "origin {origin:?} must use https (http only for localhost)"
            )));
        }
    }
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(bad());
    }
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Err(config(format!(
            "origin {origin:?} is not on the relying party id {rp_id}"
        )));
    }
    Ok(origin.to_string())
}

/// Whether the authenticator must verify the user (PIN, biometrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// Refuse keys that did not verify the user.
    Required,
    /// Ask for verification; accept keys that cannot (the default).
    #[default]
    Preferred,
    /// Do not ask.
    Discouraged,
}

impl UserVerification {
    fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }
}

/// What to do when a key's sign count does not go up (a copied key?).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterPolicy {
    /// Refuse the sign-in (the default).
    #[default]
    Refuse,
    /// Accept it and report `counter_regressed` for the audit.
    Audit,
}

/// The organisation's rules for passkey ceremonies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyPolicy {
    /// User verification asked for and, when `Required`, enforced.
    pub user_verification: UserVerification,
    /// Authenticator models allowed (empty: any).
    pub allowed_aaguids: Vec<[u8; 16]>,
    /// Algorithms offered and accepted.
    pub algorithms: Vec<CoseAlgorithm>,
    /// A sign count that does not go up.
    pub sign_count_regression: CounterPolicy,
    /// How long a ceremony's challenge stays valid, in seconds.
    pub lifetime_secs: u64,
}

impl Default for CeremonyPolicy {
    fn default() -> Self {
        Self {
            user_verification: UserVerification::Preferred,
            allowed_aaguids: Vec::new(),
            algorithms: CoseAlgorithm::ALL.to_vec(),
            sign_count_regression: CounterPolicy::Refuse,
            lifetime_secs: 300,
        }
    }
}

/// The person a passkey is created for.
#[derive(Debug, Clone, Copy)]
pub struct User<'a> {
    /// The user handle: random, stable, never the user name (up to 64 bytes).
    pub handle: &'a [u8],
    /// The account name browsers show (`alice@example.com`).
    pub name: &'a str,
    /// The person's name.
    pub display_name: &'a str,
}

/// A credential named in `excludeCredentials` or `allowCredentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialDescriptor {
    /// The credential id.
    pub id: Vec<u8>,
    /// The transports it reported at registration.
    pub transports: Vec<String>,
}

impl CredentialDescriptor {
    fn json(&self) -> Value {
        let mut v = json!({"type": "public-key", "id": b64url(&self.id)});
        if !self.transports.is_empty() {
            v["transports"] = json!(self.transports);
        }
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Create,
    Get,
}

/// A ceremony in progress: keep it until the response arrives, use it once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    pub(crate) kind: Kind,
    #[serde(with = "serde_b64")]
    pub(crate) challenge: Vec<u8>,
    pub(crate) expires_at: u64,
    pub(crate) user_verification: UserVerification,
    /// For an assertion: the credentials offered (empty: discoverable).
    #[serde(default)]
    pub(crate) allow: Vec<Vec<u8>>,
}

impl core::fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ceremony")
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .field("user_verification", &self.user_verification)
            .finish_non_exhaustive()
    }
}

impl Ceremony {
    /// When the challenge expires.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// This ceremony is of `kind` and not expired at `now`.
    pub(crate) fn check_open(&self, kind: Kind, now: u64) -> Result<(), WebauthnError> {
        if self.kind != kind {
            return Err(WebauthnError::WrongCeremony {
                started_for: match self.kind {
                    Kind::Create => "registering a passkey",
                    Kind::Get => "signing in with a passkey",
                },
            });
        }
        if now > self.expires_at {
            return Err(WebauthnError::CeremonyExpired);
        }
        Ok(())
    }

    /// A registration ceremony whose challenge was issued elsewhere (replaying a recorded ceremony).
    pub fn recorded_registration(challenge: &[u8], expires_at: u64, uv: UserVerification) -> Self {
        Self {
            kind: Kind::Create,
            challenge: challenge.to_vec(),
            expires_at,
            user_verification: uv,
            allow: Vec::new(),
        }
    }

    /// An assertion ceremony whose challenge was issued elsewhere; `allow` as offered.
    pub fn recorded_authentication(
        challenge: &[u8],
        expires_at: u64,
        uv: UserVerification,
        allow: &[&[u8]],
    ) -> Self {
        Self {
            kind: Kind::Get,
            challenge: challenge.to_vec(),
            expires_at,
            user_verification: uv,
            allow: allow.iter().map(|a| a.to_vec()).collect(),
        }
    }
}

fn challenge(rng: &mut dyn RandomSource) -> Vec<u8> {
    let mut c = vec![0u8; 32];
    rng.fill(&mut c);
    c
}

/// Start registering a passkey for `user`; `exclude` are the user's
/// credentials (the browser refuses to create a second on the same key).
/// Returns the ceremony to keep and `PublicKeyCredentialCreationOptionsJSON`.
pub fn start_registration(
    rp: &RelyingParty,
    policy: &CeremonyPolicy,
    user: User<'_>,
    exclude: &[CredentialDescriptor],
    now: u64,
    rng: &mut dyn RandomSource,
) -> Result<(Ceremony, Value), WebauthnError> {
    if user.handle.is_empty() || user.handle.len() > 64 {
        return Err(config("the user handle must be 1 to 64 bytes"));
    }
    let c = challenge(rng);
    let attestation = if rp.attestation_roots.is_empty() && policy.allowed_aaguids.is_empty() {
        "none"
    } else {
        "direct"
    };
    let options = json!({
        "rp": {"id": rp.id, "name": rp.name},
        "user": {"id": b64url(user.handle), "name": user.name, "displayName": user.display_name},
        "challenge": b64url(&c),
        "pubKeyCredParams": policy.algorithms.iter().map(|a| json!({"type": "public-key", "alg": a.id()})).collect::<Vec<_>>(),
        "timeout": policy.lifetime_secs * 1000,
        "excludeCredentials": exclude.iter().map(CredentialDescriptor::json).collect::<Vec<_>>(),
        "authenticatorSelection": {
            "residentKey": "preferred",
            "requireResidentKey": false,
            "userVerification": policy.user_verification.as_str(),
        },
        "attestation": attestation,
    });
    let ceremony = Ceremony {
        kind: Kind::Create,
        challenge: c,
        expires_at: now + policy.lifetime_secs,
        user_verification: policy.user_verification,
        allow: Vec::new(),
    };
    Ok((ceremony, options))
}

/// Start a sign-in with a passkey: `allow` the user's credentials, or empty
/// for a discoverable credential (no user name typed; the passkey names the
/// user by its handle). Returns the ceremony and `PublicKeyCredentialRequestOptionsJSON`.
pub fn start_authentication(
    rp: &RelyingParty,
    policy: &CeremonyPolicy,
    allow: &[CredentialDescriptor],
    now: u64,
    rng: &mut dyn RandomSource,
) -> (Ceremony, Value) {
    let c = challenge(rng);
    let options = json!({
        "challenge": b64url(&c),
        "timeout": policy.lifetime_secs * 1000,
        "rpId": rp.id,
        "allowCredentials": allow.iter().map(CredentialDescriptor::json).collect::<Vec<_>>(),
        "userVerification": policy.user_verification.as_str(),
    });
    let ceremony = Ceremony {
        kind: Kind::Get,
        challenge: c,
        expires_at: now + policy.lifetime_secs,
        user_verification: policy.user_verification,
        allow: allow.iter().map(|d| d.id.clone()).collect(),
    };
    (ceremony, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_checks_its_origins() {
        let rp = RelyingParty::new(
            "example.com",
            "Contoso",
            &["https://login.example.com", "https://example.com:8443"],
        )
        .unwrap();
        assert_eq!(rp.origins.len(), 2);
        for (id, origin, why) in [
            (
                "example.com",
                "https://evil.com",
                "not on the relying party id",
            ),
            (
                "example.com",
                "https://notexample.com",
                "not on the relying party id",
            ),
            ("example.com", "http://example.com", "must use https"),
            (
                "example.com",
                "https://example.com/login",
                "scheme and host",
            ),
            ("Example.com", "https://example.com", "lower-case domain"),
            ("127.0.0.1", "https://127.0.0.1", "not an IP address"),
        ] {
            let err = RelyingParty::new(id, "Contoso", &[origin])
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{id} {origin}: {err}");
        }
        assert!(RelyingParty::new("localhost", "Dev", &["http://localhost:8080"]).is_ok());
    }
}
