//! argon2id password hashing in PHC string format.
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::{self, CustomizedPasswordHasher, PasswordHasher, PasswordVerifier};
use argon2::{ARGON2ID_IDENT, Params, Version};
use serde::{Deserialize, Serialize};

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

/// The engine's argon2id behind the `password-hash` traits: the PHC string is
/// read and written by `phc::PasswordHash`, verification is the trait's (the
/// output compared in constant time), and the computation is the selected
/// backend with its reused working memory.
struct EngineArgon2id {
    params: Params,
}

impl EngineArgon2id {
    fn new(params: &Argon2Params) -> Result<Self, Error> {
        Ok(Self {
            params: params.params()?,
        })
    }
}

impl CustomizedPasswordHasher<PasswordHash> for EngineArgon2id {
    type Params = Params;

    fn hash_password_customized(
        &self,
        password: &[u8],
        salt: &[u8],
        algorithm: Option<&str>,
        version: Option<u32>,
        params: Params,
    ) -> password_hash::Result<PasswordHash> {
        if algorithm.is_some_and(|a| a != ARGON2ID_IDENT.as_str()) {
            return Err(password_hash::Error::Algorithm);
        }
        if version.is_some_and(|v| v != u32::from(Version::V0x13)) {
            return Err(password_hash::Error::Version);
        }
        EngineArgon2id { params }.hash_password_with_salt(password, salt)
    }
}

impl PasswordHasher<PasswordHash> for EngineArgon2id {
    fn hash_password_with_salt(
        &self,
        password: &[u8],
        salt: &[u8],
    ) -> password_hash::Result<PasswordHash> {
        let p = &self.params;
        // A secret key or associated data cannot be given to the engine's
        // hashes, so a string that names one is not one of ours.
        if !p.keyid().is_empty() || !p.data().is_empty() {
            return Err(password_hash::Error::ParamsInvalid);
        }
        let ours = Argon2Params {
            m_kib: p.m_cost(),
            t: p.t_cost(),
            p: p.p_cost(),
        };
        // The engine's own ceiling (m ≤ 4 GiB, t ≤ 100, p ≤ 16) holds for
        // stored strings too: a planted hash must not cost the host a gigabyte.
        ours.params()
            .map_err(|_| password_hash::Error::ParamsInvalid)?;
        let salt = Salt::new(salt)?;
        let mut buf = [0u8; Output::MAX_LENGTH];
        let out = buf
            .get_mut(..p.output_len().unwrap_or(OUTPUT_LEN))
            .ok_or(password_hash::Error::OutputSize)?;
        argon2id(&ours, password, &salt, out).map_err(|_| password_hash::Error::Crypto)?;
        Ok(PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(p)?,
            salt: Some(salt),
            hash: Some(Output::new(out)?),
        })
    }
}

/// What a `password-hash` error means for a stored string, in words.
fn unusable(e: password_hash::Error) -> Error {
    use password_hash::Error as E;
    let reason = match e {
        E::Algorithm => "not an argon2id PHC string",
        E::Version => "only argon2 version 19 is supported",
        E::ParamInvalid { .. } | E::ParamsInvalid => "parameters out of range or unknown",
        E::SaltInvalid => "salt is not usable base64 of 8 to 48 bytes",
        E::OutputSize => "hash has an unusable length",
        E::EncodingInvalid => "not base64",
        _ => "malformed PHC string",
    };
    Error::InvalidHash { reason }
}

/// Read `phc` as one of the engine's argon2id strings: the parsed string and its parameters.
fn parse_phc(phc: &str) -> Result<(PasswordHash, Argon2Params), Error> {
    let hash = PasswordHash::new(phc).map_err(|e| unusable(e.into()))?;
    if hash.algorithm != ARGON2ID_IDENT {
        return Err(unusable(password_hash::Error::Algorithm));
    }
    if hash.version != Some(Version::V0x13.into()) {
        return Err(unusable(password_hash::Error::Version));
    }
    let (Some(_), Some(output)) = (&hash.salt, &hash.hash) else {
        return Err(Error::InvalidHash {
            reason: "missing salt or hash",
        });
    };
    if output.len() < 16 {
        return Err(unusable(password_hash::Error::OutputSize));
    }
    let params = Params::try_from(&hash).map_err(unusable)?;
    if !params.keyid().is_empty() || !params.data().is_empty() {
        return Err(unusable(password_hash::Error::ParamsInvalid));
    }
    let ours = Argon2Params {
        m_kib: params.m_cost(),
        t: params.t_cost(),
        p: params.p_cost(),
    };
    ours.params()
        .map_err(|_| unusable(password_hash::Error::ParamsInvalid))?;
    Ok((hash, ours))
}

/// Hash `password` with a fresh salt; returns the PHC string.
pub(crate) fn hash_password(
    params: &Argon2Params,
    password: &[u8],
    rng: &mut dyn RandomSource,
) -> Result<String, Error> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill(&mut salt);
    EngineArgon2id::new(params)?
        .hash_password_with_salt(password, &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::InvalidHash {
            reason: "argon2 refused the input",
        })
}

/// Do the work of one check with `params` when there is no stored hash, so
/// that refusing a user without a password costs what refusing a wrong one does.
pub(crate) fn spend_one_check(params: &Argon2Params, password: &[u8]) -> Result<(), Error> {
    EngineArgon2id::new(params)?
        .hash_password_with_salt(password, b"no stored hash..")
        .map(drop)
        .map_err(|_| Error::InvalidHash {
            reason: "argon2 refused the input",
        })
}

/// Check that `phc` is a usable argon2id PHC string (for importing hashes).
pub(crate) fn check_phc(phc: &str) -> Result<Argon2Params, Error> {
    parse_phc(phc).map(|(_, params)| params)
}

/// Check `password` against a stored PHC string. `Ok(None)` means it does not match.
pub(crate) fn verify_password(
    phc: &str,
    password: &[u8],
    policy_params: &Argon2Params,
) -> Result<Option<PasswordHashCheck>, Error> {
    let (hash, params) = parse_phc(phc)?;
    match EngineArgon2id::new(&params)?.verify_password(password, &hash) {
        Ok(()) => Ok(Some(PasswordHashCheck {
            needs_rehash: params != *policy_params,
        })),
        Err(password_hash::Error::PasswordInvalid) => Ok(None),
        Err(e) => Err(unusable(e)),
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
