//! One-time passes: an admin's answer to a user who can no longer use any of
//! their methods (a lost phone, a method the organisation stopped allowing).
//! Modelled on Entra's Temporary Access Pass: the admin issues it after
//! checking who is asking, the user signs in with it once, and then sets up a
//! new method.
//!
//! A pass is 16 symbols of the friendly alphabet (80 bits), shown once, stored
//! only as an HMAC under the key file's code-digest key (bound to the user),
//! valid for a lifetime the admin chooses and spent by its first use.
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::encoding::{FRIENDLY, friendly_random, friendly_render, friendly_symbols, serde_b64};
use crate::secret::SecretString;
use crate::{Error, Keys, RandomSource, UnixTime};

/// Symbols in a one-time pass.
pub const ONE_TIME_PASS_SYMBOLS: usize = 16;
/// Shortest lifetime an admin may give a pass (10 minutes).
pub const MIN_ONE_TIME_PASS_SECS: u32 = 600;
/// Longest lifetime (8 hours: a working day to set up a new method).
pub const MAX_ONE_TIME_PASS_SECS: u32 = 8 * 3600;

/// A pass as stored in the record: never the pass itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredPass {
    kid: String,
    #[serde(with = "serde_b64")]
    salt: Vec<u8>,
    #[serde(with = "serde_b64")]
    digest: Vec<u8>,
    pub(crate) issued_at: UnixTime,
    pub(crate) expires_at: UnixTime,
    pub(crate) issued_by: String,
}

/// A new pass, to show the admin once (to hand to the user). `Debug` does
/// not show it.
#[derive(Debug, Clone, Serialize)]
pub struct OneTimePass {
    /// The pass, formatted `xxxx-xxxx-xxxx-xxxx`.
    pub pass: SecretString,
    /// When it stops working if unused.
    pub expires_at: UnixTime,
}

fn canonical(symbols: &[u8]) -> String {
    symbols
        .iter()
        .map(|v| FRIENDLY[*v as usize] as char)
        .collect()
}

impl StoredPass {
    pub(crate) fn issue(
        keys: &Keys,
        user_id: &str,
        actor: &str,
        lifetime_secs: u32,
        now: UnixTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, OneTimePass), Error> {
        if !(MIN_ONE_TIME_PASS_SECS..=MAX_ONE_TIME_PASS_SECS).contains(&lifetime_secs) {
            return Err(Error::input(
                "lifetime_secs",
                format!(
                    "a one-time pass lasts {MIN_ONE_TIME_PASS_SECS} to {MAX_ONE_TIME_PASS_SECS} seconds, not {lifetime_secs}"
                ),
            ));
        }
        let symbols = friendly_random(rng, ONE_TIME_PASS_SYMBOLS);
        let mut salt = vec![0u8; 16];
        rng.fill(&mut salt);
        let (kid, digest) = keys.active_code_digest(&[
            b"one-time pass",
            &salt,
            user_id.as_bytes(),
            canonical(&symbols).as_bytes(),
        ]);
        let expires_at = now + u64::from(lifetime_secs);
        Ok((
            Self {
                kid,
                salt,
                digest,
                issued_at: now,
                expires_at,
                issued_by: actor.to_string(),
            },
            OneTimePass {
                pass: SecretString::new(friendly_render(&symbols, 4, '-')),
                expires_at,
            },
        ))
    }

    /// Whether it can still be used at `now`.
    pub(crate) fn live(&self, now: UnixTime) -> bool {
        now < self.expires_at
    }

    /// Whether `typed` is this pass for `user_id`: `Err` for text that is not
    /// a pass at all (a typing mistake, not a guess).
    pub(crate) fn matches(&self, keys: &Keys, user_id: &str, typed: &str) -> Result<bool, Error> {
        let symbols = friendly_symbols(typed, ONE_TIME_PASS_SYMBOLS)
            .filter(|s| s.len() == ONE_TIME_PASS_SYMBOLS)
            .ok_or_else(|| {
                Error::input(
                    "one_time_pass",
                    "a one-time pass is 16 letters and digits, like abcd-efgh-jkmn-pqrs",
                )
            })?;
        let d = keys.code_digest(
            &self.kid,
            &[
                b"one-time pass",
                &self.salt,
                user_id.as_bytes(),
                canonical(&symbols).as_bytes(),
            ],
        );
        Ok(d.is_some_and(|d| bool::from(d.ct_eq(&self.digest))))
    }
}
