//! The verified-credential cache and the keyed hashes that name shared data.
//!
//! A verified app password is remembered in the host's shared data under
//! HMAC-SHA256(key, configuration fingerprint, user, password, scope), so
//! argon2 (or the call to the server) runs once per credential per TTL, not per
//! request. Inline credentials carry their scopes, so their entries leave the
//! scope out and serve every route (the scope is checked per request); in
//! remote mode the server decides scopes and entries are per scope. The key is drawn at random when the first VM starts and kept in
//! shared data for the other workers: without it nobody can test a guess
//! against the stored names. Nothing secret is stored: an entry says who the
//! credential belongs to and until when the answer holds.
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Buckets of a keyed hash of the client address that failures are counted
/// in ([`mfa_core::gateway::FailureCount`], one text value each, updated with
/// compare-and-swap): an attacker with endless addresses cannot grow the
/// shared data without bound, and addresses never appear in it.
pub const BUCKETS: u32 = 1 << 16;

/// Shared-data key of the HMAC key itself.
pub const KEY_SLOT: &str = "mfa-proxy/v1/hmac-key";
/// Length of the HMAC key.
pub const KEY_LEN: usize = 32;

/// The per-gateway secret key for cache and throttle names (kept as a keyed
/// HMAC state, so that each use hashes only its own input).
#[derive(Clone)]
pub struct CacheKey(Hmac<Sha256>);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheKey").finish_non_exhaustive()
    }
}

impl CacheKey {
    /// A key from its bytes (as drawn by the host, or read back from shared data).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        <Hmac<Sha256> as KeyInit>::new_from_slice(bytes)
            .ok()
            .map(Self)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for p in parts {
            // Length-prefix every part so that no two different inputs collide.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Shared-data key of the cache entry for this credential.
    pub fn credential_slot(
        &self,
        fingerprint: &[u8; 32],
        user: &str,
        canonical_password: &str,
        scope: Option<&str>,
    ) -> String {
        let d = self.mac(&[
            b"credential",
            fingerprint,
            user.as_bytes(),
            canonical_password.as_bytes(),
            scope.unwrap_or("").as_bytes(),
        ]);
        let mut slot = String::with_capacity(16 + 64);
        slot.push_str("mfa-proxy/v1/c/");
        slot.push_str(&data_encoding::HEXLOWER.encode(&d));
        slot
    }

    /// Shared-data key of the failure counter for a client address.
    pub fn address_slot(&self, address: &str) -> String {
        self.bucket("a", address)
    }

    fn bucket(&self, kind: &str, value: &str) -> String {
        let d = self.mac(&[b"throttle", kind.as_bytes(), value.as_bytes()]);
        let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % BUCKETS;
        format!("mfa-proxy/v1/t/{kind}/{n:04x}")
    }
}

/// What the cache remembers about a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// It verified: the user and app password id to pass upstream.
    Verified {
        /// The user.
        user: String,
        /// The app password id.
        id: String,
    },
    /// It verified but may not be used for this route's scope.
    OutOfScope,
}

/// Read an entry and the time it holds until; `None` when unreadable or expired at `now`.
pub fn decode(bytes: &[u8], now: u64) -> Option<(Entry, u64)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, '\n');
    let kind = parts.next()?;
    let until: u64 = parts.next()?.parse().ok()?;
    if now >= until {
        return None;
    }
    let entry = match kind {
        "ok" => Entry::Verified {
            id: parts.next()?.to_string(),
            user: parts.next()?.to_string(),
        },
        "scope" => Entry::OutOfScope,
        _ => return None,
    };
    Some((entry, until))
}

/// The stored form of an entry valid until `until` (unix seconds).
pub fn encode(entry: &Entry, until: u64) -> Vec<u8> {
    match entry {
        Entry::Verified { user, id } => format!("ok\n{until}\n{id}\n{user}").into_bytes(),
        Entry::OutOfScope => format!("scope\n{until}").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_depend_on_every_input_and_the_key() {
        let k = CacheKey::from_bytes(&[7; 32]).unwrap();
        let fp = [1; 32];
        let a = k.credential_slot(&fp, "alice", "pw", Some("imap"));
        assert_ne!(a, k.credential_slot(&fp, "alice", "pw", None));
        assert_ne!(a, k.credential_slot(&fp, "alice", "px", Some("imap")));
        assert_ne!(a, k.credential_slot(&fp, "bob", "pw", Some("imap")));
        assert_ne!(a, k.credential_slot(&[2; 32], "alice", "pw", Some("imap")));
        let other = CacheKey::from_bytes(&[8; 32]).unwrap();
        assert_ne!(a, other.credential_slot(&fp, "alice", "pw", Some("imap")));
        // Length prefixes: moving a byte between parts changes the slot.
        assert_ne!(
            k.credential_slot(&fp, "ab", "c", None),
            k.credential_slot(&fp, "a", "bc", None)
        );
        assert!(!a.contains("alice") && !a.contains("pw"));
        assert_ne!(k.address_slot("alice"), k.address_slot("bob"));
        assert!(CacheKey::from_bytes(&[0; 31]).is_none());
        assert!(!format!("{k:?}").contains('7'));
    }

    #[test]
    fn entries_expire() {
        let e = Entry::Verified {
            user: "alice@example.com".into(),
            id: "abcd".into(),
        };
        let bytes = encode(&e, 100);
        assert_eq!(decode(&bytes, 99), Some((e, 100)));
        assert_eq!(decode(&bytes, 100), None);
        assert_eq!(
            decode(&encode(&Entry::OutOfScope, 5), 4),
            Some((Entry::OutOfScope, 5))
        );
        assert_eq!(decode(b"ok\nsoon", 1), None);
        assert_eq!(decode(b"", 1), None);
    }
}
