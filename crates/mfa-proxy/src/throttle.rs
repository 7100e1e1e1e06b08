//! Failure throttling per client address, kept in the host's
//! shared data so every worker of the gateway counts together.
//!
//! Each counter is a small text value updated with compare-and-swap. Keys are
//! buckets of a keyed hash of the address (65 536 buckets), so an attacker
//! with endless addresses cannot grow the shared data without bound, and
//! addresses never appear in it. There is no budget per user (security
//! item 5): a lock per user lets anyone lock a victim's mail clients out.
use crate::config::Throttle;

/// Number of hash buckets.
pub const BUCKETS: u32 = 1 << 16;

/// One failure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    /// Failures counted in the current window.
    pub failures: u32,
    /// When the current window started (unix seconds).
    pub window_start: u64,
    /// Blocked until then (unix seconds); 0: not blocked.
    pub blocked_until: u64,
}

impl Counter {
    /// Read a stored counter; anything unreadable counts as a fresh one.
    pub fn decode(bytes: &[u8]) -> Self {
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        let mut parts = text.split(' ').map(|p| p.parse::<u64>().ok());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Some(f)), Some(Some(w)), Some(Some(b))) => Self {
                failures: u32::try_from(f).unwrap_or(u32::MAX),
                window_start: w,
                blocked_until: b,
            },
            _ => Self::default(),
        }
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{} {} {}",
            self.failures, self.window_start, self.blocked_until
        )
        .into_bytes()
    }

    /// Seconds until the block ends, if blocked at `now`.
    pub fn retry_after(&self, now: u64) -> Option<u64> {
        (self.blocked_until > now).then(|| self.blocked_until - now)
    }

    /// The counter after one more failure at `now`.
    pub fn fail(self, now: u64, cfg: &Throttle) -> Self {
        let mut next = if now >= self.window_start.saturating_add(cfg.window_secs) {
            Self {
                failures: 0,
                window_start: now,
                blocked_until: self.blocked_until,
            }
        } else {
            self
        };
        next.failures = next.failures.saturating_add(1);
        if next.failures >= cfg.max_failures {
            next.blocked_until = now.saturating_add(cfg.block_secs);
        }
        next
    }

    /// Whether a success has anything to reset.
    pub fn is_clear(&self) -> bool {
        self.failures == 0 && self.blocked_until == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: Throttle = Throttle {
        max_failures: 3,
        window_secs: 60,
        block_secs: 30,
    };

    #[test]
    fn blocks_after_max_failures_and_unblocks_after_block_secs() {
        let mut c = Counter::default();
        for t in 0..2 {
            c = c.fail(1000 + t, &CFG);
            assert_eq!(c.retry_after(1000 + t), None);
        }
        c = c.fail(1002, &CFG);
        assert_eq!(c.retry_after(1002), Some(30));
        assert_eq!(c.retry_after(1031), Some(1));
        assert_eq!(c.retry_after(1032), None);
        // Still inside the window: the next failure blocks again at once.
        c = c.fail(1040, &CFG);
        assert_eq!(c.retry_after(1040), Some(30));
        // A failure after the window starts counting from one.
        let c = c.fail(2000, &CFG);
        assert_eq!(c.failures, 1);
        assert_eq!(c.retry_after(2000), None);
    }

    #[test]
    fn round_trip_and_garbage() {
        let c = Counter {
            failures: 4,
            window_start: 17,
            blocked_until: 99,
        };
        assert_eq!(Counter::decode(&c.encode()), c);
        assert_eq!(Counter::decode(b"nonsense"), Counter::default());
        assert_eq!(Counter::decode(&[0xff, 0xfe]), Counter::default());
    }
}
