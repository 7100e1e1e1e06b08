//! Failed primary passwords, counted per user and per client address.
//!
//! Who calls: the sign-in endpoint, before and after checking a password.
//! What an attacker tries: guessing one user's password from many addresses
//! (the per-user count stops it), guessing many users' passwords from one
//! address (the per-address count stops it), and flooding the table with
//! failures for invented names so that the target's entry is thrown out and
//! its count starts again (entries are evicted one at a time, expired ones
//! first, never one that is blocking sign-in).
use std::collections::HashMap;
use std::sync::Mutex;

/// Most entries kept per table.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: u64,
}

/// One table: a key (a user id or an address) to its recent failures.
#[derive(Debug)]
pub struct FailureTable {
    entries: Mutex<HashMap<String, Entry>>,
    max_failures: u32,
    window_secs: u64,
    capacity: usize,
}

impl FailureTable {
    /// Block after `max_failures` failures, for `window_secs` after the last one.
    pub fn new(max_failures: u32, window_secs: u64, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_failures: max_failures.max(1),
            window_secs,
            capacity: capacity.max(1),
        }
    }

    fn expired(&self, e: &Entry, now: u64) -> bool {
        e.last.saturating_add(self.window_secs) <= now
    }

    fn blocking(&self, e: &Entry, now: u64) -> bool {
        e.failures >= self.max_failures && !self.expired(e, now)
    }

    /// Seconds to wait before another attempt for `key`, if it is blocked.
    pub fn wait(&self, key: &str, now: u64) -> Option<u64> {
        let g = self.entries.lock().ok()?;
        let e = g.get(key)?;
        self.blocking(e, now)
            .then(|| e.last + self.window_secs - now)
    }

    /// Count a failure for `key`.
    pub fn fail(&self, key: &str, now: u64) {
        let Ok(mut g) = self.entries.lock() else {
            return;
        };
        if !g.contains_key(key) && g.len() >= self.capacity {
            self.make_room(&mut g, now);
        }
        let e = g.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if self.expired(e, now) {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last = now;
    }

    /// Forget `key` (a correct password).
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

    /// Drop the expired entries; when none has expired, the one entry with
    /// the fewest failures that is not blocking. A table full of blocking
    /// entries keeps them all and grows by this one key.
    fn make_room(&self, g: &mut HashMap<String, Entry>, now: u64) {
        let before = g.len();
        g.retain(|_, e| !self.expired(e, now));
        if g.len() < before {
            return;
        }
        let victim = g
            .iter()
            .filter(|(_, e)| !self.blocking(e, now))
            .min_by_key(|(_, e)| (e.failures, e.last))
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            g.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_forgets_after_the_window() {
        let t = FailureTable::new(3, 300, 100);
        for _ in 0..2 {
            t.fail("alice", 1000);
        }
        assert_eq!(t.wait("alice", 1000), None);
        t.fail("alice", 1010);
        assert_eq!(t.wait("alice", 1010), Some(300));
        assert_eq!(t.wait("alice", 1309), Some(1));
        assert_eq!(t.wait("alice", 1310), None);
        t.fail("alice", 1400);
        assert_eq!(t.wait("alice", 1400), None, "a new window starts afresh");
        t.forget("alice");
        assert!(t.is_empty());
    }

    /// Security review item 7: 100,000 failures for random names do not wipe
    /// the target's count (before, the whole table was cleared past 100,000).
    #[test]
    fn random_name_floods_do_not_unlock_the_target() {
        let t = FailureTable::new(10, 300, MAX_ENTRIES);
        for _ in 0..10 {
            t.fail("victim@example.com", 1000);
        }
        assert!(t.wait("victim@example.com", 1000).is_some());
        for i in 0..100_000u32 {
            t.fail(&format!("random-{i}@example.com"), 1001);
        }
        assert!(
            t.wait("victim@example.com", 1001).is_some(),
            "the victim is still blocked"
        );
        assert!(
            t.len() <= MAX_ENTRIES + 1,
            "the table stays bounded: {}",
            t.len()
        );
        // A partly counted target keeps its count as long as others can go first.
        let t = FailureTable::new(10, 300, 1000);
        for _ in 0..9 {
            t.fail("half@example.com", 1000);
        }
        for i in 0..5000u32 {
            t.fail(&format!("r{i}"), 1001);
        }
        t.fail("half@example.com", 1002);
        assert!(
            t.wait("half@example.com", 1002).is_some(),
            "the ninth failure was kept"
        );
    }
}
