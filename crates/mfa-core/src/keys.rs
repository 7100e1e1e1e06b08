//! Keys: sealing keys for stored seeds and Ed25519 keys for tokens, with rotation.
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::encoding::{b64url, serde_b64};
use crate::secret::SecretBytes;
use crate::{Error, RandomSource};

/// Version of the key file format written by [`Keys::to_json`].
pub const KEY_FILE_VERSION: u32 = 1;

const SEAL_CONTEXT: &[u8] = b"mfa-wasm seed v1\0";

#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct KeyEntry {
    #[zeroize(skip)]
    id: String,
    #[serde(with = "serde_b64")]
    key: Vec<u8>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    version: u32,
    sealing: Vec<KeyEntry>,
    active_sealing: String,
    signing: Vec<KeyEntry>,
    active_signing: String,
}

/// The engine's keys: XChaCha20-Poly1305 sealing keys (one active, retired ones
/// still open old seals) and Ed25519 signing keys (one active, retired ones still
/// verify and stay in the JWKS). `Debug` shows only key ids.
#[derive(Clone)]
pub struct Keys {
    file: KeyFile,
    signing: Vec<(String, SigningKey)>,
}

impl core::fmt::Debug for Keys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keys")
            .field("active_sealing", &self.file.active_sealing)
            .field(
                "sealing_ids",
                &self.file.sealing.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .field("active_signing", &self.file.active_signing)
            .field(
                "signing_ids",
                &self.file.signing.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A seed sealed inside a user record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    /// Id of the sealing key.
    pub(crate) kid: String,
    #[serde(with = "serde_b64")]
    pub(crate) nonce: Vec<u8>,
    #[serde(with = "serde_b64")]
    pub(crate) ct: Vec<u8>,
}

fn new_id(rng: &mut dyn RandomSource, prefix: &str) -> String {
    let mut b = [0u8; 6];
    rng.fill(&mut b);
    format!("{prefix}-{}", b64url(&b))
}

impl Keys {
    /// Fresh keys: one sealing key and one signing key.
    pub fn generate(rng: &mut dyn RandomSource) -> Self {
        let seal = KeyEntry {
            id: new_id(rng, "seal"),
            key: SecretBytes::random(rng, 32).expose().to_vec(),
        };
        let sign = KeyEntry {
            id: new_id(rng, "sig"),
            key: SecretBytes::random(rng, 32).expose().to_vec(),
        };
        let file = KeyFile {
            version: KEY_FILE_VERSION,
            active_sealing: seal.id.clone(),
            active_signing: sign.id.clone(),
            sealing: vec![seal],
            signing: vec![sign],
        };
        Self::from_file(file).expect("freshly generated keys are valid")
    }

    fn from_file(file: KeyFile) -> Result<Self, Error> {
        let bad = |reason: String| Error::InvalidKeys { reason };
        if file.version != KEY_FILE_VERSION {
            return Err(bad(format!(
                "key file version {} is not supported (expected {KEY_FILE_VERSION})",
                file.version
            )));
        }
        for (kind, list) in [("sealing", &file.sealing), ("signing", &file.signing)] {
            if list.is_empty() {
                return Err(bad(format!("no {kind} key")));
            }
            for (i, k) in list.iter().enumerate() {
                if k.key.len() != 32 {
                    return Err(bad(format!("{kind} key {} is not 32 bytes", k.id)));
                }
                if k.id.is_empty() || list[..i].iter().any(|o| o.id == k.id) {
                    return Err(bad(format!("{kind} key ids must be unique and non-empty")));
                }
            }
        }
        if !file.sealing.iter().any(|k| k.id == file.active_sealing) {
            return Err(bad(format!(
                "active sealing key {} is not in the list",
                file.active_sealing
            )));
        }
        if !file.signing.iter().any(|k| k.id == file.active_signing) {
            return Err(bad(format!(
                "active signing key {} is not in the list",
                file.active_signing
            )));
        }
        let signing = file
            .signing
            .iter()
            .map(|k| {
                let mut seed = [0u8; 32];
                seed.copy_from_slice(&k.key);
                let sk = SigningKey::from_bytes(&seed);
                seed.zeroize();
                (k.id.clone(), sk)
            })
            .collect();
        Ok(Self { file, signing })
    }

    /// Read a key file (JSON).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let file: KeyFile = serde_json::from_str(json).map_err(|e| Error::InvalidKeys {
            reason: format!("key file is not valid: {}", strip_secret_context(&e)),
        })?;
        Self::from_file(file)
    }

    /// Write the key file (JSON). It contains secret keys: store it with owner-only permissions.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.file).expect("key file serialises")
    }

    /// Add a new sealing key and make it active; older ones still open existing seals.
    pub fn rotate_sealing(&mut self, rng: &mut dyn RandomSource) -> String {
        let entry = KeyEntry {
            id: new_id(rng, "seal"),
            key: SecretBytes::random(rng, 32).expose().to_vec(),
        };
        let id = entry.id.clone();
        self.file.sealing.push(entry);
        self.file.active_sealing = id.clone();
        id
    }

    /// Add a new signing key and make it active; older ones still verify until retired.
    pub fn rotate_signing(&mut self, rng: &mut dyn RandomSource) -> String {
        let entry = KeyEntry {
            id: new_id(rng, "sig"),
            key: SecretBytes::random(rng, 32).expose().to_vec(),
        };
        let id = entry.id.clone();
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&entry.key);
        self.signing
            .push((id.clone(), SigningKey::from_bytes(&seed)));
        seed.zeroize();
        self.file.signing.push(entry);
        self.file.active_signing = id.clone();
        id
    }

    /// Drop a signing key that is not active: tokens it signed stop verifying.
    pub fn retire_signing(&mut self, id: &str) -> Result<(), Error> {
        if id == self.file.active_signing {
            return Err(Error::InvalidKeys {
                reason: "cannot retire the active signing key".into(),
            });
        }
        let before = self.file.signing.len();
        self.file.signing.retain(|k| k.id != id);
        self.signing.retain(|(k, _)| k != id);
        if self.file.signing.len() == before {
            return Err(Error::InvalidKeys {
                reason: format!("no signing key {id}"),
            });
        }
        Ok(())
    }

    /// Id of the active sealing key.
    pub fn active_sealing_id(&self) -> &str {
        &self.file.active_sealing
    }

    /// Id of the active signing key.
    pub fn active_signing_id(&self) -> &str {
        &self.file.active_signing
    }

    pub(crate) fn signer(&self) -> (&str, &SigningKey) {
        let (id, key) = self
            .signing
            .iter()
            .find(|(id, _)| *id == self.file.active_signing)
            .expect("active signing key is present (checked on load)");
        (id, key)
    }

    pub(crate) fn verifying_keys(&self) -> impl Iterator<Item = (&str, VerifyingKey)> {
        self.signing
            .iter()
            .map(|(id, k)| (id.as_str(), k.verifying_key()))
    }

    /// The active sealing key's id and a keyed digest of a sent code
    /// under it (see [`Self::code_digest`]).
    pub(crate) fn active_code_digest(&self, parts: &[&[u8]]) -> (String, Vec<u8>) {
        let id = self.file.active_sealing.clone();
        let mac = self
            .code_digest(&id, parts)
            .expect("active sealing key is present (checked on load)");
        (id, mac)
    }

    /// HMAC-SHA256 over `parts` (each length-prefixed) under a key derived
    /// from the sealing key `kid` for this one purpose: a database reader
    /// without the key file cannot test the million candidates of a sent code.
    /// `None` when `kid` is not configured.
    pub(crate) fn code_digest(&self, kid: &str, parts: &[&[u8]]) -> Option<Vec<u8>> {
        use hmac::{KeyInit, Mac};
        type HmacSha256 = hmac::Hmac<sha2::Sha256>;
        let entry = self.file.sealing.iter().find(|k| k.id == kid)?;
        let mut derive = HmacSha256::new_from_slice(&entry.key).ok()?;
        derive.update(b"mfa-wasm sent-code digest key v2");
        let subkey = derive.finalize().into_bytes();
        let mut mac = HmacSha256::new_from_slice(&subkey).ok()?;
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().to_vec())
    }

    fn aad(user_id: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(SEAL_CONTEXT.len() + user_id.len());
        aad.extend_from_slice(SEAL_CONTEXT);
        aad.extend_from_slice(user_id.as_bytes());
        aad
    }

    /// Seal `secret` for `user_id` under the active sealing key.
    pub(crate) fn seal(&self, user_id: &str, secret: &[u8], rng: &mut dyn RandomSource) -> Sealed {
        let entry = self
            .file
            .sealing
            .iter()
            .find(|k| k.id == self.file.active_sealing)
            .expect("active sealing key is present (checked on load)");
        let cipher = XChaCha20Poly1305::new_from_slice(&entry.key).expect("32-byte key");
        let mut nonce = [0u8; 24];
        rng.fill(&mut nonce);
        let aad = Self::aad(user_id);
        let ct = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .expect("sealing a short secret cannot fail");
        Sealed {
            kid: entry.id.clone(),
            nonce: nonce.to_vec(),
            ct,
        }
    }

    /// Open a seal made for `user_id`; a tampered, swapped or unknown-key seal is refused.
    pub(crate) fn unseal(&self, user_id: &str, sealed: &Sealed) -> Result<SecretBytes, Error> {
        let entry = self
            .file
            .sealing
            .iter()
            .find(|k| k.id == sealed.kid)
            .ok_or(Error::SealBroken {
                reason: "sealed with a key that is not configured",
            })?;
        if sealed.nonce.len() != 24 {
            return Err(Error::SealBroken {
                reason: "nonce has the wrong length",
            });
        }
        let nonce: [u8; 24] = sealed
            .nonce
            .as_slice()
            .try_into()
            .expect("length checked above");
        let cipher = XChaCha20Poly1305::new_from_slice(&entry.key).expect("32-byte key");
        let aad = Self::aad(user_id);
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &sealed.ct,
                    aad: &aad,
                },
            )
            .map(SecretBytes::new)
            .map_err(|_| Error::SealBroken {
                reason: "tampered with, or sealed for another user",
            })
    }
}

/// serde_json errors quote the offending input; keep only line and column.
fn strip_secret_context(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    #[test]
    fn seal_round_trip_rotation_and_tamper() {
        let mut rng = SeededRandom::new(b"k");
        let mut keys = Keys::generate(&mut rng);
        let s = keys.seal("alice", b"seed-bytes", &mut rng);
        keys.rotate_sealing(&mut rng);
        assert_eq!(keys.unseal("alice", &s).unwrap().expose(), b"seed-bytes");
        assert!(keys.unseal("bob", &s).is_err());
        let mut t = s.clone();
        t.ct[0] ^= 1;
        assert!(keys.unseal("alice", &t).is_err());
        let back = Keys::from_json(&keys.to_json()).unwrap();
        assert_eq!(back.unseal("alice", &s).unwrap().expose(), b"seed-bytes");
        assert!(!format!("{keys:?}").contains(&b64url(&keys.file.sealing[0].key)));
    }

    #[test]
    fn bad_key_files_are_refused() {
        assert!(matches!(
            Keys::from_json("{}"),
            Err(Error::InvalidKeys { .. })
        ));
        let mut rng = SeededRandom::new(b"k2");
        let json = Keys::generate(&mut rng)
            .to_json()
            .replace("\"version\": 1", "\"version\": 9");
        assert!(Keys::from_json(&json).is_err());
    }
}
