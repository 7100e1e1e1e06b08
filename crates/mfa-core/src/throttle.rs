//! Consecutive-failure counters with growing back-off and a lock.
use serde::{Deserialize, Serialize};

use crate::{Error, Policy, UnixTime};

/// A factor with its own failure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// Codes from an authenticator app.
    Authenticator,
    /// Codes sent by text message or voice call.
    Phone,
    /// Codes sent by e-mail.
    Email,
    /// Recovery codes.
    Recovery,
    /// App passwords.
    AppPassword,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counter {
    pub(crate) failures: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) next_allowed_at: UnixTime,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) locked_until: UnixTime,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Counters per factor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Throttle {
    counters: Vec<(Factor, Counter)>,
}

/// What a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Nothing yet.
    Counted,
    /// The next attempt must wait until then.
    BackOff(UnixTime),
    /// The factor is now locked until then.
    Locked(UnixTime),
}

impl Throttle {
    fn get(&self, f: Factor) -> Counter {
        self.counters
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    fn get_mut(&mut self, f: Factor) -> &mut Counter {
        if let Some(i) = self.counters.iter().position(|(k, _)| *k == f) {
            &mut self.counters[i].1
        } else {
            self.counters.push((f, Counter::default()));
            &mut self.counters.last_mut().expect("just pushed").1
        }
    }

    /// When the factor is locked, until when.
    pub(crate) fn locked_until(&self, f: Factor, now: UnixTime) -> Option<UnixTime> {
        let c = self.get(f);
        (c.locked_until > now).then_some(c.locked_until)
    }

    /// May an attempt be made now?
    pub(crate) fn check(&self, f: Factor, now: UnixTime) -> Result<(), Error> {
        let c = self.get(f);
        if c.locked_until > now {
            return Err(Error::Locked {
                until: c.locked_until,
            });
        }
        if c.next_allowed_at > now {
            return Err(Error::RetryLater {
                until: c.next_allowed_at,
            });
        }
        Ok(())
    }

    /// Count a failure.
    pub(crate) fn fail(&mut self, f: Factor, now: UnixTime, policy: &Policy) -> AfterFailure {
        let c = self.get_mut(f);
        if c.locked_until != 0 && c.locked_until <= now {
            // The lock ran out: start counting afresh.
            *c = Counter::default();
        }
        c.failures = c.failures.saturating_add(1);
        if c.failures >= policy.lockout_threshold {
            c.locked_until = now + u64::from(policy.lockout_secs);
            c.next_allowed_at = 0;
            return AfterFailure::Locked(c.locked_until);
        }
        if c.failures > policy.free_failures {
            let exp = (c.failures - policy.free_failures - 1).min(31);
            let delay = u64::from(policy.backoff_base_secs)
                .saturating_mul(1u64 << exp)
                .min(u64::from(policy.backoff_max_secs));
            c.next_allowed_at = now + delay;
            return AfterFailure::BackOff(c.next_allowed_at);
        }
        AfterFailure::Counted
    }

    /// A success resets the factor. Returns whether anything changed.
    pub(crate) fn succeed(&mut self, f: Factor) -> bool {
        let before = self.counters.len();
        self.counters.retain(|(k, _)| *k != f);
        before != self.counters.len()
    }

    /// Lift every lock and back-off. Returns whether anything changed.
    pub(crate) fn clear(&mut self) -> bool {
        let changed = !self.counters.is_empty();
        self.counters.clear();
        changed
    }

    /// Consecutive failures of a factor.
    pub(crate) fn failures(&self, f: Factor) -> u32 {
        self.get(f).failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_locks_and_success_resets() {
        let p = Policy::default();
        let mut t = Throttle::default();
        let now = 1000;
        for _ in 0..3 {
            assert_eq!(
                t.fail(Factor::Authenticator, now, &p),
                AfterFailure::Counted
            );
        }
        assert_eq!(
            t.fail(Factor::Authenticator, now, &p),
            AfterFailure::BackOff(now + 1)
        );
        assert_eq!(
            t.check(Factor::Authenticator, now),
            Err(Error::RetryLater { until: now + 1 })
        );
        assert_eq!(
            t.fail(Factor::Authenticator, now + 1, &p),
            AfterFailure::BackOff(now + 3)
        );
        assert!(t.check(Factor::Phone, now).is_ok());
        for i in 6..=10 {
            let r = t.fail(Factor::Authenticator, now + 100, &p);
            if i == 10 {
                assert_eq!(r, AfterFailure::Locked(now + 100 + 900));
            }
        }
        assert_eq!(
            t.check(Factor::Authenticator, now + 200),
            Err(Error::Locked { until: now + 1000 })
        );
        assert!(t.succeed(Factor::Authenticator));
        assert!(t.check(Factor::Authenticator, now + 200).is_ok());
    }
}
