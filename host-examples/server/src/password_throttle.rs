//! Failure counts kept in memory, per user and per client address: failed
//! primary passwords, and app passwords guessed at the verify endpoint.
//!
//! What a count means — when it blocks, for how long, when a window starts
//! again — is the engine's gateway rule (`gateway.failed`,
//! `gateway.retry-after`); this table only keeps the counts, bounded.
//!
//! Who calls: the sign-in and verify endpoints, before and after a check.
//! What an attacker tries: guessing one user's password from many addresses
//! (the per-user count stops it), guessing many users' passwords from one
//! address (the per-address count stops it), and flooding the table with
//! failures for invented names so that the target's entry is thrown out and
//! its count starts again (entries are evicted one at a time, stale ones
//! first, never one that is blocking).
use std::collections::HashMap;
use std::sync::Mutex;

use mfa_host::{EngineError, FailureCount, FailureWindow, MfaHost};

/// Most entries kept per table.
pub const MAX_ENTRIES: usize = 100_000;

/// One table: a key (a user id or an address) to its failure count.
#[derive(Debug)]
pub struct FailureTable {
    entries: Mutex<HashMap<String, FailureCount>>,
    capacity: usize,
}

impl FailureTable {
    /// A table of at most `capacity` entries (more only while all block).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The count kept for `key` (a fresh one when none is kept).
    pub fn count(&self, key: &str) -> FailureCount {
        self.entries
            .lock()
            .ok()
            .and_then(|g| g.get(key).copied())
            .unwrap_or_default()
    }

    /// Count a failure for `key`: `next` is the engine's count after one
    /// more failure, given the one kept.
    pub fn fail(&self, key: &str, now: u64, next: impl FnOnce(FailureCount) -> FailureCount) {
        let Ok(mut g) = self.entries.lock() else {
            return;
        };
        if !g.contains_key(key) && g.len() >= self.capacity {
            self.make_room(&mut g, now);
        }
        let kept = g.get(key).copied().unwrap_or_default();
        g.insert(key.to_string(), next(kept));
    }

    /// Forget `key` (a correct password, or an admin's unlock).
    pub fn forget(&self, key: &str) {
        if let Ok(mut g) = self.entries.lock() {
            g.remove(key);
        }
    }

    /// Entries kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|g| g.len()).unwrap_or(0)
    }

    /// Whether no entry is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop the stale entries; when none is stale, the one entry with the
    /// fewest failures that is not blocking. A table full of blocking entries
    /// keeps them all and grows by this one key.
    fn make_room(&self, g: &mut HashMap<String, FailureCount>, now: u64) {
        let before = g.len();
        g.retain(|_, c| c.stale_at > now);
        if g.len() < before {
            return;
        }
        let victim = g
            .iter()
            .filter(|(_, c)| c.blocked_until <= now)
            .min_by_key(|(_, c)| (c.failures, c.window_start))
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            g.remove(&k);
        }
    }
}

/// The engine's gateway rules, failing closed when the runtime itself fails:
/// a guess is never left uncounted, a count that cannot be read blocks, and a
/// cached verification is not trusted.
#[derive(Clone, Copy)]
pub struct FailClosed<'a>(pub &'a MfaHost);

impl FailClosed<'_> {
    /// Whether a refusal counts against the client address (a runtime
    /// failure counts: a guess must never go uncounted).
    pub fn counts_against_address(&self, refusal: &EngineError) -> bool {
        self.0
            .counts_against_address(refusal.reason())
            .unwrap_or(true)
    }

    /// The count after one more failure (a runtime failure blocks for the
    /// window: failing closed).
    pub fn failed(&self, count: FailureCount, w: FailureWindow, now: u64) -> FailureCount {
        self.0.failed(count, w, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the engine component failed to count a failure");
            FailureCount {
                failures: count.failures.saturating_add(1),
                window_start: now,
                blocked_until: now.saturating_add(w.block_secs),
                stale_at: now.saturating_add(w.block_secs.max(w.window_secs)),
            }
        })
    }

    /// Seconds to wait, if `count` blocks at `now` (a runtime failure: wait a minute).
    pub fn retry_after(&self, count: FailureCount, now: u64) -> Option<u64> {
        self.0.retry_after(count, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the engine component failed to read a failure count");
            Some(60)
        })
    }

    /// Until when a verification at `verified_at` may be answered from the
    /// cache (a runtime failure: not at all).
    pub fn cache_until(
        &self,
        verified_at: u64,
        cache_secs: u64,
        expires_at: Option<u64>,
        last_used_at: Option<u64>,
    ) -> Option<u64> {
        self.0
            .cache_until(verified_at, cache_secs, expires_at, last_used_at)
            .ok()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the engine's count (the rule itself is tested in
    /// mfa-core and through the component): `limit` failures block for 300 s.
    fn next(limit: u32, now: u64) -> impl FnOnce(FailureCount) -> FailureCount {
        move |c| {
            let failures = c.failures + 1;
            let blocked_until = if failures >= limit { now + 300 } else { 0 };
            FailureCount {
                failures,
                window_start: if c.failures == 0 { now } else { c.window_start },
                blocked_until,
                stale_at: now + 300,
            }
        }
    }

    #[test]
    fn keeps_and_forgets_counts() {
        let t = FailureTable::new(100);
        t.fail("alice", 1000, next(3, 1000));
        t.fail("alice", 1001, next(3, 1001));
        assert_eq!(t.count("alice").failures, 2);
        assert_eq!(t.count("bob"), FailureCount::default());
        t.forget("alice");
        assert!(t.is_empty());
    }

    /// Security review item 7: 100,000 failures for random names do not wipe
    /// the target's count (before, the whole table was cleared past 100,000).
    #[test]
    fn random_name_floods_do_not_unlock_the_target() {
        let t = FailureTable::new(MAX_ENTRIES);
        for _ in 0..10 {
            t.fail("victim@example.com", 1000, next(10, 1000));
        }
        assert!(t.count("victim@example.com").blocked_until > 1001);
        for i in 0..100_000u32 {
            t.fail(&format!("random-{i}@example.com"), 1001, next(10, 1001));
        }
        assert!(
            t.count("victim@example.com").blocked_until > 1001,
            "the victim is still blocked"
        );
        assert!(
            t.len() <= MAX_ENTRIES + 1,
            "the table stays bounded: {}",
            t.len()
        );
        // A partly counted target keeps its count as long as others can go first.
        let t = FailureTable::new(1000);
        for _ in 0..9 {
            t.fail("half@example.com", 1000, next(10, 1000));
        }
        for i in 0..5000u32 {
            t.fail(&format!("r{i}"), 1001, next(10, 1001));
        }
        t.fail("half@example.com", 1002, next(10, 1002));
        assert_eq!(
            t.count("half@example.com").failures,
            10,
            "the ninth failure was kept"
        );
    }

    #[test]
    fn stale_entries_go_first() {
        let t = FailureTable::new(2);
        t.fail("old", 1000, next(10, 1000));
        t.fail("mid", 1100, next(10, 1100));
        t.fail("new", 1350, next(10, 1350));
        assert_eq!(t.count("old"), FailureCount::default(), "stale at 1300");
        assert_eq!(t.count("mid").failures, 1);
    }
}
