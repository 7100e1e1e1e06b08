//! Credential public keys: COSE_Key (RFC 9052/9053) for ES256, EdDSA
//! (Ed25519) and RS256, and the signature each verifies.
use p256::ecdsa::signature::Verifier as _;
use serde::{Deserialize, Serialize};

use super::WebauthnError;
use super::cbor::{self, Value};

/// The signature algorithms a credential may use (COSE identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoseAlgorithm {
    /// ECDSA over P-256 with SHA-256 (−7): most passkeys and security keys.
    Es256,
    /// EdDSA over Ed25519 (−8).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (−257), 2048 bits or more: Windows Hello.
    Rs256,
}

impl CoseAlgorithm {
    /// Every supported algorithm, in the order relying parties offer them.
    pub const ALL: [CoseAlgorithm; 3] = [Self::Es256, Self::EdDsa, Self::Rs256];

    /// The COSE algorithm identifier.
    pub fn id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::EdDsa => -8,
            Self::Rs256 => -257,
        }
    }

    /// The algorithm with COSE identifier `id`.
    pub fn from_id(id: i64) -> Result<Self, WebauthnError> {
        match id {
            -7 => Ok(Self::Es256),
            -8 => Ok(Self::EdDsa),
            -257 => Ok(Self::Rs256),
            alg => Err(WebauthnError::UnsupportedAlgorithm { alg }),
        }
    }

    /// The JOSE / common name: `ES256`, `EdDSA`, `RS256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
        }
    }
}

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted, in bits (bounds the verification cost).
const MAX_RSA_BITS: usize = 8192;

/// A parsed public key, ready to verify signatures.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    Es256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rs256(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>),
}

impl PublicKey {
    /// The algorithm the key verifies.
    pub(crate) fn algorithm(&self) -> CoseAlgorithm {
        match self {
            Self::Es256(_) => CoseAlgorithm::Es256,
            Self::Ed25519(_) => CoseAlgorithm::EdDsa,
            Self::Rs256(_) => CoseAlgorithm::Rs256,
        }
    }

    /// Check `signature` (DER for ES256, 64 bytes for EdDSA, PKCS#1 for RS256) over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), WebauthnError> {
        let ok = match self {
            Self::Es256(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
            Self::Ed25519(key) => <[u8; 64]>::try_from(signature).is_ok_and(|bytes| {
                key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
                    .is_ok()
            }),
            Self::Rs256(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(message, &sig).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(WebauthnError::BadSignature)
        }
    }

    /// A P-256 key from a SEC1 point (attestation certificates).
    pub(crate) fn p256_sec1(point: &[u8]) -> Result<Self, WebauthnError> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
            .map(Self::Es256)
            .map_err(|_| WebauthnError::InvalidKey {
                reason: "not a point on P-256",
            })
    }

    /// An RSA key from its modulus and exponent (big-endian).
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Result<Self, WebauthnError> {
        let n = strip_zeros(n);
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(WebauthnError::InvalidKey {
                reason: "RSA keys must have 2048 to 8192 bits",
            });
        }
        let e = strip_zeros(e);
        if e.is_empty() || e.len() > 4 {
            return Err(WebauthnError::InvalidKey {
                reason: "the RSA exponent is out of range",
            });
        }
        let key = rsa::PublicKey::new_with_size_limits(
            rsa::BoxedUint::from_be_slice_vartime(n),
            rsa::BoxedUint::from_be_slice_vartime(e),
            MIN_RSA_BITS..=MAX_RSA_BITS,
        )
        .map_err(|_| WebauthnError::InvalidKey {
            reason: "the RSA key is not valid",
        })?;
        Ok(Self::Rs256(rsa::pkcs1v15::VerifyingKey::new(key)))
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[start..]
}

// COSE labels (RFC 9052 §7, RFC 9053 §7).
const KTY: i128 = 1;
const ALG: i128 = 3;
const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const KTY_RSA: i128 = 3;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

/// Parse a COSE_Key; returns the key and how many bytes of `bytes` it took
/// (in authenticator data, extensions may follow it).
pub(crate) fn parse_prefix(bytes: &[u8]) -> Result<(PublicKey, usize), WebauthnError> {
    let (v, used) = cbor::decode_prefix(bytes)?;
    Ok((from_value(&v)?, used))
}

/// Parse a COSE_Key that fills `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<PublicKey, WebauthnError> {
    from_value(&cbor::decode(bytes)?)
}

fn bytes_at<'a>(
    v: &Value<'a>,
    label: i128,
    reason: &'static str,
) -> Result<&'a [u8], WebauthnError> {
    v.get_int(label)
        .and_then(Value::as_bytes)
        .ok_or(WebauthnError::InvalidKey { reason })
}

fn from_value(v: &Value<'_>) -> Result<PublicKey, WebauthnError> {
    if !matches!(v, Value::Map(_)) {
        return Err(WebauthnError::InvalidKey {
            reason: "a COSE key must be a CBOR map",
        });
    }
    let kty = v
        .get_int(KTY)
        .and_then(Value::as_int)
        .ok_or(WebauthnError::InvalidKey {
            reason: "the key type (kty) is missing",
        })?;
    let alg = v
        .get_int(ALG)
        .and_then(Value::as_int)
        .ok_or(WebauthnError::InvalidKey {
            reason: "the key's algorithm (alg) is missing",
        })?;
    let alg =
        i64::try_from(alg).map_err(|_| WebauthnError::UnsupportedAlgorithm { alg: i64::MIN })?;
    let alg = CoseAlgorithm::from_id(alg)?;
    let crv = v.get_int(-1).and_then(Value::as_int);
    match (alg, kty) {
        (CoseAlgorithm::Es256, KTY_EC2) => {
            if crv != Some(CRV_P256) {
                return Err(WebauthnError::InvalidKey {
                    reason: "ES256 keys must be on P-256 (crv 1)",
                });
            }
            let x = bytes_at(v, -2, "the EC key's x coordinate is missing")?;
            let y = bytes_at(v, -3, "the EC key's y coordinate is missing")?;
            if x.len() != 32 || y.len() != 32 {
                return Err(WebauthnError::InvalidKey {
                    reason: "P-256 coordinates are 32 bytes",
                });
            }
            let mut point = [0u8; 65];
            point[0] = 4;
            point[1..33].copy_from_slice(x);
            point[33..].copy_from_slice(y);
            PublicKey::p256_sec1(&point)
        }
        (CoseAlgorithm::EdDsa, KTY_OKP) => {
            if crv != Some(CRV_ED25519) {
                return Err(WebauthnError::InvalidKey {
                    reason: "EdDSA keys must be Ed25519 (crv 6)",
                });
            }
            let x = bytes_at(v, -2, "the Ed25519 key is missing")?;
            let x: [u8; 32] = x.try_into().map_err(|_| WebauthnError::InvalidKey {
                reason: "Ed25519 keys are 32 bytes",
            })?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| {
                WebauthnError::InvalidKey {
                    reason: "not an Ed25519 point",
                }
            })?;
            if key.is_weak() {
                return Err(WebauthnError::InvalidKey {
                    reason: "a weak Ed25519 key",
                });
            }
            Ok(PublicKey::Ed25519(key))
        }
        (CoseAlgorithm::Rs256, KTY_RSA) => {
            let n = bytes_at(v, -1, "the RSA modulus is missing")?;
            let e = bytes_at(v, -2, "the RSA exponent is missing")?;
            PublicKey::rsa(n, e)
        }
        _ => Err(WebauthnError::InvalidKey {
            reason: "the key type does not match its algorithm",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_ids_round_trip() {
        for a in CoseAlgorithm::ALL {
            assert_eq!(CoseAlgorithm::from_id(a.id()).unwrap(), a);
        }
        assert_eq!(
            CoseAlgorithm::from_id(-35).unwrap_err(),
            WebauthnError::UnsupportedAlgorithm { alg: -35 }
        );
    }

    #[test]
    fn malformed_keys_are_refused_with_reasons() {
        // {1: 2, 3: -7, -1: 1} (no coordinates)
        let no_xy = [0xa3, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01];
        assert!(
            parse(&no_xy)
                .unwrap_err()
                .to_string()
                .contains("x coordinate")
        );
        // {1: 1, 3: -7}: kty OKP with ES256
        let mismatch = [0xa2, 0x01, 0x01, 0x03, 0x26];
        assert!(
            parse(&mismatch)
                .unwrap_err()
                .to_string()
                .contains("does not match")
        );
        assert!(parse(&[0x80]).unwrap_err().to_string().contains("CBOR map"));
    }
}
