//! Secret values: zeroized on drop, never shown by `Debug`.
use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes (a TOTP seed, a key). Zeroized on drop; `Debug` shows only the length.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub(crate) struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub(crate) fn random(rng: &mut dyn crate::RandomSource, len: usize) -> Self {
        let mut v = vec![0u8; len];
        rng.fill(&mut v);
        Self(v)
    }
    pub(crate) fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// A secret shown to a person exactly once (an app password, a code to deliver,
/// a recovery code, a seed in base32). Zeroized on drop; `Debug` and `Display`
/// never print it: call [`SecretString::expose`] where it must be shown.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub(crate) fn new(s: String) -> Self {
        Self(s)
    }
    /// The secret itself, for the one place that must show or deliver it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(redacted)")
    }
}

impl serde::Serialize for SecretString {
    /// Serialises the secret itself: only ever used for the one response that shows it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
