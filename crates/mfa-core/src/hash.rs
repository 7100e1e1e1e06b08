//! argon2id password hashing in PHC string format.
use argon2::Params;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::encoding::{b64, b64_decode};
use crate::{Error, RandomSource};

const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory in KiB (OWASP: 19456 with t=2).
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            m_kib: 19_456,
            t: 2,
            p: 1,
        }
    }
}

impl Argon2Params {
    /// Cheap parameters for tests and examples only (m=64 KiB, t=1): never for real passwords.
    pub const INSECURE_FOR_TESTS: Self = Self {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    pub(crate) fn validate(&self) -> Result<(), Error> {
        self.params().map(|_| ())
    }

    fn params(&self) -> Result<Params, Error> {
        if self.m_kib > 4 * 1024 * 1024 || self.t > 100 || self.p > 16 {
            return Err(Error::InvalidPolicy {
                reason: "argon2 parameters too large (m ≤ 4 GiB, t ≤ 100, p ≤ 16)".into(),
            });
        }
        Params::new(self.m_kib, self.t, self.p, Some(OUTPUT_LEN)).map_err(|e| {
            Error::InvalidPolicy {
                reason: format!("argon2 parameters: {e}"),
            }
        })
    }
}

/// The result of checking a password against a stored hash that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashCheck {
    /// The stored hash uses other parameters than the policy's: hash the
    /// password again and store the new hash.
    pub needs_rehash: bool,
}

/// The argon2id computation, with working memory reused between hashes on one
/// thread so that each hash does not allocate and fault in fresh pages.
#[cfg(feature = "fast-argon2")]
mod backend {
    use core::cell::RefCell;

    use argon2_rust::params::{Memory, TagLen};
    use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};

    use super::Argon2Params;
    use crate::Error;

    thread_local! {
        static HASHER: RefCell<Option<Hasher>> = const { RefCell::new(None) };
    }

    pub(super) fn argon2id(
        p: &Argon2Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let params = Params::builder()
            .memory(Memory::kib(u64::from(p.m_kib)))
            .passes(p.t)
            .lanes(p.p)
            .threads(1)
            .tag_len(TagLen::bytes(out.len() as u64))
            .build()
            .map_err(|_| Error::InvalidHash {
                reason: "argon2 parameters out of range",
            })?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        HASHER
            .with_borrow_mut(|slot| {
                let hasher = match slot {
                    Some(h) => {
                        h.set_argon2(argon);
                        h
                    }
                    None => slot.insert(argon.hasher()),
                };
                hasher.hash_into(password, salt, out)
            })
            .map_err(|_| Error::InvalidHash {
                reason: "argon2 refused the input",
            })
    }
}

/// The portable RustCrypto computation (also the reference the fast one is checked against).
mod portable {
    use core::cell::RefCell;

    use argon2::{Algorithm, Argon2, Block, Params, Version};

    use super::Argon2Params;
    use crate::Error;

    thread_local! {
        static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn argon2id(
        p: &Argon2Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        let params =
            Params::new(p.m_kib, p.t, p.p, Some(out.len())).map_err(|_| Error::InvalidHash {
                reason: "argon2 parameters out of range",
            })?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let blocks = argon.params().block_count();
        BLOCKS
            .with_borrow_mut(|mem| {
                if mem.len() < blocks {
                    mem.resize(blocks, Block::default());
                }
                argon.hash_password_into_with_memory(password, salt, out, &mut mem[..blocks])
            })
            .map_err(|_| Error::InvalidHash {
                reason: "argon2 refused the input",
            })
    }
}

/// The portable RustCrypto argon2id, exposed only so that benchmarks can
/// compare both backends in one run. Not part of the stable API.
#[doc(hidden)]
pub fn portable_argon2id_for_benchmarks(
    params: &Argon2Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    portable::argon2id(params, password, salt, out)
}

/// The selected argon2id backend, exposed only for benchmarks. Not part of the stable API.
#[doc(hidden)]
pub fn argon2id_for_benchmarks(
    params: &Argon2Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    argon2id(params, password, salt, out)
}

#[cfg(feature = "fast-argon2")]
use backend::argon2id;
#[cfg(not(feature = "fast-argon2"))]
use portable::argon2id;

/// Hash `password` with a fresh salt; returns the PHC string.
pub(crate) fn hash_password(
    params: &Argon2Params,
    password: &[u8],
    rng: &mut dyn RandomSource,
) -> Result<String, Error> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill(&mut salt);
    params.params()?;
    let mut out = [0u8; OUTPUT_LEN];
    argon2id(params, password, &salt, &mut out)?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_kib,
        params.t,
        params.p,
        b64(&salt),
        b64(&out)
    ))
}

struct Phc {
    params: Argon2Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(phc: &str) -> Result<Phc, Error> {
    let bad = |reason| Error::InvalidHash { reason };
    let mut parts = phc.split('$');
    if parts.next() != Some("") || parts.next() != Some("argon2id") {
        return Err(bad("not an argon2id PHC string"));
    }
    if parts.next() != Some("v=19") {
        return Err(bad("only argon2 version 19 is supported"));
    }
    let params_str = parts.next().ok_or_else(|| bad("missing parameters"))?;
    let (mut m, mut t, mut p) = (None, None, None);
    for kv in params_str.split(',') {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| bad("malformed parameter"))?;
        let v: u32 = v.parse().map_err(|_| bad("parameter is not a number"))?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return Err(bad("unknown parameter")),
        }
    }
    let params = Argon2Params {
        m_kib: m.ok_or_else(|| bad("missing m"))?,
        t: t.ok_or_else(|| bad("missing t"))?,
        p: p.ok_or_else(|| bad("missing p"))?,
    };
    let salt = b64_decode(parts.next().ok_or_else(|| bad("missing salt"))?)
        .ok_or_else(|| bad("salt is not base64"))?;
    let hash = b64_decode(parts.next().ok_or_else(|| bad("missing hash"))?)
        .ok_or_else(|| bad("hash is not base64"))?;
    if parts.next().is_some() {
        return Err(bad("trailing fields"));
    }
    if salt.len() < 8 || hash.len() < 16 || hash.len() > 64 {
        return Err(bad("salt or hash has an unusable length"));
    }
    params
        .params()
        .map_err(|_| bad("parameters out of range"))?;
    Ok(Phc { params, salt, hash })
}

/// Check that `phc` is a usable argon2id PHC string (for importing hashes).
pub(crate) fn check_phc(phc: &str) -> Result<Argon2Params, Error> {
    parse_phc(phc).map(|p| p.params)
}

/// Check `password` against a stored PHC string. `Ok(None)` means it does not match.
pub(crate) fn verify_password(
    phc: &str,
    password: &[u8],
    policy_params: &Argon2Params,
) -> Result<Option<PasswordHashCheck>, Error> {
    let parsed = parse_phc(phc)?;
    let mut out = vec![0u8; parsed.hash.len()];
    argon2id(&parsed.params, password, &parsed.salt, &mut out)?;
    if bool::from(out.ct_eq(&parsed.hash)) {
        Ok(Some(PasswordHashCheck {
            needs_rehash: parsed.params != *policy_params,
        }))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    #[test]
    fn hash_and_verify_report_rehash() {
        let mut rng = SeededRandom::new(b"h");
        let weak = Argon2Params::INSECURE_FOR_TESTS;
        let phc = hash_password(&weak, b"pw", &mut rng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            verify_password(&phc, b"pw", &weak).unwrap(),
            Some(PasswordHashCheck {
                needs_rehash: false
            })
        );
        assert_eq!(verify_password(&phc, b"px", &weak).unwrap(), None);
        let stronger = Argon2Params {
            m_kib: 128,
            t: 1,
            p: 1,
        };
        assert!(
            verify_password(&phc, b"pw", &stronger)
                .unwrap()
                .unwrap()
                .needs_rehash
        );
        assert!(
            verify_password(
                "$argon2i$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
                b"pw",
                &weak
            )
            .is_err()
        );
    }

    #[cfg(feature = "fast-argon2")]
    #[test]
    fn fast_and_portable_backends_agree() {
        for (m, t, p) in [(64, 1, 1), (256, 3, 2), (1024, 2, 1), (19_456, 2, 1)] {
            let params = Argon2Params { m_kib: m, t, p };
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            argon2id(&params, b"correct horse", b"saltsaltsaltsalt", &mut a).unwrap();
            portable::argon2id(&params, b"correct horse", b"saltsaltsaltsalt", &mut b).unwrap();
            assert_eq!(a, b, "m={m} t={t} p={p}");
        }
    }

    #[test]
    fn reference_argon2id_phc_vector() {
        // RFC 9106 §5.3 uses a secret and associated data, which PHC strings do
        // not carry. This PHC string was produced by an independent
        // implementation (argon2-cffi, which wraps the C reference code) for
        // "password"/"somesalt", m=2^16 KiB, t=2, p=1, v=19.
        let phc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let params = Argon2Params {
            m_kib: 65536,
            t: 2,
            p: 1,
        };
        assert!(
            verify_password(phc, b"password", &params)
                .unwrap()
                .is_some()
        );
    }
}
