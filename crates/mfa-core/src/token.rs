//! MFA session and remembered-device tokens: JWTs signed with EdDSA (Ed25519,
//! RFC 8037), `amr` values from RFC 8176, public keys as a JWKS (RFC 7517).
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::encoding::{b64url, b64url_decode};
use crate::keys::Keys;
use crate::{Error, RandomSource, UnixTime};

/// Longest token accepted for verification.
const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated for `iat` in the future.
const LEEWAY_SECS: u64 = 60;

/// Which kind of token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Proof that the user passed MFA in this browser session.
    Session,
    /// "Don't ask again on this device": skips the second factor until it expires
    /// or an admin restores MFA on all remembered devices.
    Device,
    /// The step between the first factor and the second: the user passed the
    /// password (or the trusted proxy) and must still finish the sign-in.
    Login,
    /// A passwordless sign-in's passkey request, for a user not known yet:
    /// carries its challenge (`jti`) and expiry, and proves nothing about
    /// anyone.
    PasskeySignIn,
}

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Issuer.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Issued at.
    pub iat: UnixTime,
    /// Expires at.
    pub exp: UnixTime,
    /// Unique token id.
    pub jti: String,
    /// Authentication methods (RFC 8176), e.g. `["pwd", "otp", "mfa"]`.
    pub amr: Vec<String>,
    /// Session or device token.
    pub token_use: TokenKind,
    /// For device tokens: the user's device epoch when it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_epoch: Option<u32>,
    /// For session and login tokens: the user's session epoch when it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses_epoch: Option<u32>,
    /// For session tokens: when the second factor was verified (OpenID
    /// Connect `auth_time`; a remembered device's own verification time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// A JSON Web Key Set with the public signing keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// One public key (OKP, Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// Public key, base64url.
    pub x: String,
    /// Key id.
    pub kid: String,
    /// `EdDSA`.
    #[serde(default)]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(rename = "use", default)]
    pub use_: Option<String>,
}

impl Jwks {
    pub(crate) fn from_keys(keys: &Keys) -> Self {
        Self {
            keys: keys
                .verifying_keys()
                .map(|(kid, vk)| Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: b64url(vk.as_bytes()),
                    kid: kid.to_string(),
                    alg: Some("EdDSA".into()),
                    use_: Some("sig".into()),
                })
                .collect(),
        }
    }

    /// Parse a JWKS document (e.g. from `/.well-known/jwks.json`), keeping Ed25519 keys.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let jwks: Jwks = serde_json::from_str(json).map_err(|_| Error::InvalidKeys {
            reason: "JWKS is not valid JSON of the expected shape".into(),
        })?;
        let keys: Vec<Jwk> = jwks
            .keys
            .into_iter()
            .filter(|k| k.kty == "OKP" && k.crv == "Ed25519")
            .collect();
        if keys.is_empty() {
            return Err(Error::InvalidKeys {
                reason: "JWKS has no Ed25519 key".into(),
            });
        }
        for k in &keys {
            let raw = b64url_decode(&k.x).filter(|r| r.len() == 32);
            let ok = raw
                .and_then(|r| VerifyingKey::from_bytes(&r.try_into().ok()?).ok())
                .is_some();
            if !ok {
                return Err(Error::InvalidKeys {
                    reason: format!("JWKS key {} is not a valid Ed25519 public key", k.kid),
                });
            }
        }
        Ok(Self { keys })
    }

    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("jwks serialises")
    }

    fn key(&self, kid: &str) -> Option<VerifyingKey> {
        let k = self.keys.iter().find(|k| k.kid == kid)?;
        let raw: [u8; 32] = b64url_decode(&k.x)?.try_into().ok()?;
        VerifyingKey::from_bytes(&raw).ok()
    }
}

pub(crate) fn new_jti(rng: &mut dyn RandomSource) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b64url(&b)
}

/// Sign claims with the active key.
pub(crate) fn sign(keys: &Keys, claims: &SessionClaims) -> String {
    let (kid, key) = keys.signer();
    let header = Header {
        alg: "EdDSA".into(),
        typ: "JWT".into(),
        kid: kid.to_string(),
    };
    let mut out = b64url(&serde_json::to_vec(&header).expect("header serialises"));
    out.push('.');
    out.push_str(&b64url(
        &serde_json::to_vec(claims).expect("claims serialise"),
    ));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&b64url(&sig.to_bytes()));
    out
}

/// Verify signature, issuer, audience, time and kind. `lookup` finds the public key for a `kid`.
pub(crate) fn verify_with(
    token: &str,
    lookup: impl Fn(&str) -> Option<VerifyingKey>,
    issuer: &str,
    audience: &str,
    kind: TokenKind,
    now: UnixTime,
) -> Result<SessionClaims, Error> {
    let bad = |reason| Error::MalformedToken { reason };
    if token.len() > MAX_TOKEN_LEN {
        return Err(bad("longer than 4096 characters"));
    }
    let mut parts = token.trim().splitn(3, '.');
    let (h, c, s) = match (parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s)) => (h, c, s),
        _ => return Err(bad("not three dot-separated parts")),
    };
    let header: Header = b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("header is not base64url JSON"))?;
    if header.alg != "EdDSA" {
        return Err(bad("algorithm must be EdDSA"));
    }
    let sig_bytes: [u8; 64] = b64url_decode(s)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("signature is not 64 bytes of base64url"))?;
    let key = lookup(&header.kid).ok_or(Error::BadSignature)?;
    let signed = &token.trim()[..h.len() + 1 + c.len()];
    key.verify_strict(signed.as_bytes(), &Signature::from_bytes(&sig_bytes))
        .map_err(|_| Error::BadSignature)?;
    let claims: SessionClaims = b64url_decode(c)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad("claims are not the expected JSON"))?;
    if claims.iss != issuer || claims.aud != audience {
        return Err(bad("issued by or for another service"));
    }
    if claims.token_use != kind {
        return Err(Error::WrongTokenKind);
    }
    if now >= claims.exp {
        return Err(Error::TokenExpired);
    }
    if claims.iat > now.saturating_add(LEEWAY_SECS) {
        return Err(bad("issued in the future"));
    }
    Ok(claims)
}

/// Verify against the engine's own keys.
pub(crate) fn verify(
    keys: &Keys,
    token: &str,
    issuer: &str,
    audience: &str,
    kind: TokenKind,
    now: UnixTime,
) -> Result<SessionClaims, Error> {
    verify_with(
        token,
        |kid| {
            keys.verifying_keys()
                .find(|(k, _)| *k == kid)
                .map(|(_, v)| v)
        },
        issuer,
        audience,
        kind,
        now,
    )
}

impl Jwks {
    /// Verify a token against these public keys (what a gateway does).
    pub fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: &str,
        kind: TokenKind,
        now: UnixTime,
    ) -> Result<SessionClaims, Error> {
        verify_with(token, |kid| self.key(kid), issuer, audience, kind, now)
    }
}
