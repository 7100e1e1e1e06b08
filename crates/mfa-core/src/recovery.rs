//! Recovery codes: ten single-use codes, stored only as argon2id hashes.
use serde::{Deserialize, Serialize};

use crate::encoding::{FRIENDLY, friendly_random, friendly_render, friendly_symbols};
use crate::hash::{Argon2Params, hash_password, verify_password};
use crate::secret::SecretString;
use crate::{Error, RandomSource, UnixTime};

/// Symbols per code: a two-symbol tag that finds the stored hash, then ten
/// secret symbols (50 bits).
const CODE_SYMBOLS: usize = 12;
const TAG_SYMBOLS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecoveryEntry {
    tag: String,
    hash: String,
    used_at: Option<UnixTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecoverySet {
    pub(crate) issued_at: UnixTime,
    codes: Vec<RecoveryEntry>,
}

/// A fresh set of recovery codes, shown to the user once.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveryCodes {
    /// The codes, formatted `xxxx-xxxx-xxxx`.
    pub codes: Vec<SecretString>,
    /// When they were issued.
    pub issued_at: UnixTime,
}

impl RecoverySet {
    pub(crate) fn generate(
        count: u8,
        params: &Argon2Params,
        now: UnixTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, RecoveryCodes), Error> {
        let mut entries = Vec::with_capacity(usize::from(count));
        let mut shown = Vec::with_capacity(usize::from(count));
        while entries.len() < usize::from(count) {
            let symbols = friendly_random(rng, CODE_SYMBOLS);
            let tag = friendly_render(&symbols[..TAG_SYMBOLS], 8, '-');
            if entries.iter().any(|e: &RecoveryEntry| e.tag == tag) {
                continue;
            }
            let canonical = friendly_render(&symbols, CODE_SYMBOLS, '-');
            let hash = hash_password(params, canonical.as_bytes(), rng)?;
            entries.push(RecoveryEntry {
                tag,
                hash,
                used_at: None,
            });
            shown.push(SecretString::new(friendly_render(&symbols, 4, '-')));
        }
        Ok((
            Self {
                issued_at: now,
                codes: entries,
            },
            RecoveryCodes {
                codes: shown,
                issued_at: now,
            },
        ))
    }

    pub(crate) fn remaining(&self) -> u8 {
        self.codes.iter().filter(|c| c.used_at.is_none()).count() as u8
    }

    /// Use a code: `Ok(remaining)` when it was valid and unused.
    pub(crate) fn redeem(
        &mut self,
        code: &str,
        params: &Argon2Params,
        now: UnixTime,
    ) -> Result<u8, Error> {
        let symbols = friendly_symbols(code, CODE_SYMBOLS)
            .filter(|s| s.len() == CODE_SYMBOLS)
            .ok_or(Error::MalformedRecoveryCode)?;
        let canonical: String = symbols
            .iter()
            .map(|v| FRIENDLY[*v as usize] as char)
            .collect();
        let tag = &canonical[..TAG_SYMBOLS];
        let entry = self
            .codes
            .iter_mut()
            .find(|e| e.tag == tag && e.used_at.is_none())
            .ok_or(Error::WrongRecoveryCode)?;
        match verify_password(&entry.hash, canonical.as_bytes(), params)? {
            Some(_) => {
                entry.used_at = Some(now);
                Ok(self.remaining())
            }
            None => Err(Error::WrongRecoveryCode),
        }
    }
}
