//! Randomness comes from the caller.
use sha2::{Digest, Sha256};

/// A source of cryptographically secure random bytes, supplied by the host
/// (`getrandom` natively and in WASI, `crypto.getRandomValues` in a browser).
pub trait RandomSource {
    /// Fill `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

impl<R: RandomSource + ?Sized> RandomSource for &mut R {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest);
    }
}

/// A deterministic byte stream (SHA-256 in counter mode over a seed).
///
/// For tests, examples and reproducible vectors only: anyone who knows the
/// seed knows every "random" byte.
#[derive(Clone)]
pub struct SeededRandom {
    seed: [u8; 32],
    counter: u64,
    buf: [u8; 32],
    used: usize,
}

impl SeededRandom {
    /// A stream determined entirely by `seed`.
    pub fn new(seed: &[u8]) -> Self {
        Self {
            seed: Sha256::digest(seed).into(),
            counter: 0,
            buf: [0; 32],
            used: 32,
        }
    }
}

impl core::fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SeededRandom").finish_non_exhaustive()
    }
}

impl RandomSource for SeededRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == 32 {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_be_bytes());
                self.buf = h.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.buf[self.used];
            self.used += 1;
        }
    }
}

/// A uniformly random index below `n` (rejection sampling, no modulo bias).
pub(crate) fn below(rng: &mut dyn RandomSource, n: u32) -> u32 {
    debug_assert!(n > 0);
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let mut b = [0u8; 4];
        rng.fill(&mut b);
        let v = u32::from_le_bytes(b);
        if v < zone {
            return v % n;
        }
    }
}
