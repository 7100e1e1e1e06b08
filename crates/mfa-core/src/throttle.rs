//! Consecutive-failure counters with growing back-off, growing locks and a
//! hard cap.
//!
//! Each factor counts its failures: after `free_failures` the next attempt
//! waits (doubling), at `lockout_threshold` the factor locks for
//! `lockout_secs`, and each further lock before a success lasts twice as long
//! (at most 30 days). A lock running out does not forget the failures: every
//! second factor's failures since its last success add up, and when the sum
//! reaches `failure_cap` (NIST SP 800-63B: at most 100) every second factor
//! stays locked until an admin unlocks the user. App passwords have their own
//! counter, outside the cap.
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
    /// Passkeys and security keys (a signature cannot be guessed: failures
    /// back off and lock this factor, outside the hard cap).
    Passkey,
}

impl Factor {
    /// Whether failures of this factor count towards the hard cap (every
    /// second factor; app passwords, 130-bit secrets, do not).
    fn capped(self) -> bool {
        !matches!(self, Self::AppPassword | Self::Passkey)
    }
}

/// Longest single lock.
const MAX_LOCK_SECS: u64 = 30 * 86_400;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counter {
    pub(crate) failures: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) next_allowed_at: UnixTime,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) locked_until: UnixTime,
    /// Failures since the last success, kept when a lock runs out.
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub(crate) streak: u32,
    /// Locks since the last success (each one twice as long as the last).
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub(crate) locks: u32,
    /// The failure that reached the hard cap was of this factor: every
    /// second factor stays locked until an admin unlocks the user.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) locked_out: bool,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero32(v: &u32) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
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
    /// The hard cap was reached after this many consecutive failures: every
    /// second factor is locked until an admin unlocks the user.
    LockedOut(u32),
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

    /// Whether the hard cap locked every second factor.
    pub(crate) fn locked_out(&self) -> bool {
        self.counters.iter().any(|(_, c)| c.locked_out)
    }

    /// Failures of every second factor since its last success.
    fn streak(&self) -> u32 {
        self.counters
            .iter()
            .filter(|(f, _)| f.capped())
            .fold(0u32, |n, (_, c)| n.saturating_add(c.streak))
    }

    /// May an attempt be made now?
    pub(crate) fn check(&self, f: Factor, now: UnixTime) -> Result<(), Error> {
        if f.capped() && self.locked_out() {
            return Err(Error::LockedOut);
        }
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
            // The lock ran out: back-off starts afresh, the streak stays.
            c.failures = 0;
            c.next_allowed_at = 0;
            c.locked_until = 0;
        }
        c.failures = c.failures.saturating_add(1);
        c.streak = c.streak.saturating_add(1);
        if f.capped() {
            let streak = self.streak();
            if streak >= policy.failure_cap {
                let c = self.get_mut(f);
                c.locked_out = true;
                c.next_allowed_at = 0;
                return AfterFailure::LockedOut(streak);
            }
        }
        let c = self.get_mut(f);
        if c.failures >= policy.lockout_threshold {
            let doubling = c.locks.min(20);
            c.locks = c.locks.saturating_add(1);
            let secs = u64::from(policy.lockout_secs)
                .saturating_mul(1u64 << doubling)
                .min(MAX_LOCK_SECS.max(u64::from(policy.lockout_secs)));
            c.locked_until = now + secs;
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

    /// A success resets the factor (never the hard cap: only an admin lifts
    /// that). Returns whether anything changed.
    pub(crate) fn succeed(&mut self, f: Factor) -> bool {
        let before = self.counters.len();
        self.counters.retain(|(k, c)| *k != f || c.locked_out);
        before != self.counters.len()
    }

    /// Lift every lock and back-off. Returns whether anything changed.
    pub(crate) fn clear(&mut self) -> bool {
        let changed = !self.counters.is_empty();
        self.counters.clear();
        changed
    }

    /// Consecutive failures of a factor since its last success.
    pub(crate) fn failures(&self, f: Factor) -> u32 {
        let c = self.get(f);
        c.streak.max(c.failures)
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
