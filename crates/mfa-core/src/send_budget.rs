//! How often codes may be sent by text, call and e-mail.
//!
//! Each code sent costs the organisation money and lands on someone's phone:
//! an attacker who knows a password (or stands at "Set it up now") can loop
//! "send code" for toll fraud or to bomb a victim. Two budgets hold it:
//! - [`SendLog`], kept in the user's record: a minimum gap between two sends
//!   to one destination ([`Policy::send_gap_secs`]) and caps per hour and
//!   per day over every destination ([`Policy::sends_per_hour`],
//!   [`Policy::sends_per_day`]);
//! - [`SendGuard`], kept in memory by the host across users: caps per client
//!   address, per destination (one number registered by many accounts) and
//!   for the whole service.
//!
//! Both refuse with [`Error::SendLimit`], which says when the next send is
//! allowed; a refused send delivers nothing.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Policy, UnixTime};

const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

/// One send: when, and a short keyed tag of the destination (never the
/// destination itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sent {
    at: UnixTime,
    to: u32,
}

/// The user's recent sends (the last day), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct SendLog {
    sent: Vec<Sent>,
}

/// The tag a destination is counted under in a user's [`SendLog`]: 32 bits of
/// an HMAC under the key file's code-digest key, so the record does not
/// reveal numbers or addresses the user never finished registering.
pub(crate) fn destination_tag(keys: &crate::Keys, user_id: &str, destination: &str) -> u32 {
    let (_, mac) =
        keys.active_code_digest(&[b"send budget", user_id.as_bytes(), destination.as_bytes()]);
    u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]])
}

impl SendLog {
    pub(crate) fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// Whether a send to the destination tagged `to` is allowed now; the
    /// error says when one will be.
    pub(crate) fn check(&self, policy: &Policy, to: u32, now: UnixTime) -> Result<(), Error> {
        let mut until = 0;
        if let Some(last) = self.sent.iter().rev().find(|s| s.to == to) {
            let gap = last.at.saturating_add(u64::from(policy.send_gap_secs));
            if gap > now {
                until = gap;
            }
        }
        for (period, cap) in [(HOUR, policy.sends_per_hour), (DAY, policy.sends_per_day)] {
            let since = now.saturating_sub(period);
            let recent: Vec<UnixTime> = self
                .sent
                .iter()
                .map(|s| s.at)
                .filter(|&t| t > since)
                .collect();
            let cap = cap as usize;
            if recent.len() >= cap {
                // The send that frees a place is the one `cap` back from the newest.
                until = until.max(recent[recent.len() - cap] + period);
            }
        }
        if until > now {
            Err(Error::SendLimit { until })
        } else {
            Ok(())
        }
    }

    /// Count a send to `to` made now; sends older than a day are forgotten.
    pub(crate) fn record(&mut self, policy: &Policy, to: u32, now: UnixTime) {
        let since = now.saturating_sub(DAY);
        self.sent.retain(|s| s.at > since && s.at <= now);
        self.sent.push(Sent { at: now, to });
        let keep = policy.sends_per_day as usize;
        if self.sent.len() > keep {
            let drop = self.sent.len() - keep;
            self.sent.drain(..drop);
        }
    }
}

/// Limits of a [`SendGuard`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SendGuardLimits {
    /// Sends per hour asked for from one client address. Default 20.
    pub per_address_per_hour: u32,
    /// Sends per hour to one phone number or e-mail address, over all users. Default 5.
    pub per_destination_per_hour: u32,
    /// Sends per day to one destination, over all users. Default 20.
    pub per_destination_per_day: u32,
    /// Sends per minute for the whole service. Default 600.
    pub global_per_minute: u32,
    /// Most addresses and destinations remembered at once. Default 100,000.
    pub capacity: u32,
}

impl Default for SendGuardLimits {
    fn default() -> Self {
        Self {
            per_address_per_hour: 20,
            per_destination_per_hour: 5,
            per_destination_per_day: 20,
            global_per_minute: 600,
            capacity: 100_000,
        }
    }
}

impl SendGuardLimits {
    /// Refuse zeros (which would stop every send) and per-day caps under the per-hour one.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |reason: &str| {
            Err(Error::InvalidInput {
                field: "send limits",
                reason: reason.into(),
            })
        };
        if self.per_address_per_hour == 0
            || self.per_destination_per_hour == 0
            || self.global_per_minute == 0
            || self.capacity == 0
        {
            return bad("every limit must be at least 1");
        }
        if self.per_destination_per_day < self.per_destination_per_hour {
            return bad("per_destination_per_day must be at least per_destination_per_hour");
        }
        Ok(())
    }
}

/// A fixed window: how many sends since `start`.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    count: u32,
}

impl Window {
    /// Seconds-long window: `Err(until)` when `cap` is reached, else counted.
    fn wait(&self, period: u64, cap: u32, now: UnixTime) -> Option<UnixTime> {
        (self.start + period > now && self.count >= cap).then_some(self.start + period)
    }
    fn count(&mut self, period: u64, now: UnixTime) {
        if self.start + period <= now {
            *self = Self {
                start: now,
                count: 0,
            };
        }
        self.count = self.count.saturating_add(1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Address(u64),
    Destination(u64),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    hour: Window,
    day: Window,
}

/// Send limits over all users, kept in memory by a host (sans-IO: the host
/// passes the time and holds the guard behind its own lock).
///
/// Addresses and destinations are remembered only as a keyed 64-bit digest;
/// when the table is full, entries whose windows ran out go first, then the
/// oldest.
#[derive(Debug)]
pub struct SendGuard {
    limits: SendGuardLimits,
    salt: [u8; 16],
    entries: HashMap<Key, Entry>,
    global: Window,
}

impl SendGuard {
    /// A guard with these limits; `salt` keys the digests (any random bytes).
    pub fn new(limits: SendGuardLimits, salt: [u8; 16]) -> Result<Self, Error> {
        limits.validate()?;
        Ok(Self {
            limits,
            salt,
            entries: HashMap::new(),
            global: Window { start: 0, count: 0 },
        })
    }

    /// The limits.
    pub fn limits(&self) -> SendGuardLimits {
        self.limits
    }

    fn digest(&self, kind: u8, value: &str) -> u64 {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update([kind]);
        h.update(value.trim().to_lowercase().as_bytes());
        let d = h.finalize();
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }

    /// Admit a send asked for from `address` to `destination` (an E.164
    /// number or an e-mail address) at `now`, counting it; refused sends are
    /// not counted.
    pub fn admit(&mut self, address: &str, destination: &str, now: UnixTime) -> Result<(), Error> {
        let l = self.limits;
        let a = Key::Address(self.digest(b'a', address));
        let d = Key::Destination(self.digest(b'd', destination));
        let fresh = Entry {
            hour: Window {
                start: now,
                count: 0,
            },
            day: Window {
                start: now,
                count: 0,
            },
        };
        let get = |k: &Key| self.entries.get(k).copied().unwrap_or(fresh);
        let (ea, ed) = (get(&a), get(&d));
        let waits = [
            self.global.wait(60, l.global_per_minute, now),
            ea.hour.wait(HOUR, l.per_address_per_hour, now),
            ed.hour.wait(HOUR, l.per_destination_per_hour, now),
            ed.day.wait(DAY, l.per_destination_per_day, now),
        ];
        if let Some(until) = waits.into_iter().flatten().max() {
            return Err(Error::SendLimit { until });
        }
        self.make_room(now, 2);
        self.global.count(60, now);
        for (k, mut e) in [(a, ea), (d, ed)] {
            e.hour.count(HOUR, now);
            e.day.count(DAY, now);
            self.entries.insert(k, e);
        }
        Ok(())
    }

    fn make_room(&mut self, now: UnixTime, wanted: usize) {
        let cap = self.limits.capacity as usize;
        if self.entries.len() + wanted <= cap {
            return;
        }
        self.entries
            .retain(|_, e| e.day.start + DAY > now || e.hour.start + HOUR > now);
        while self.entries.len() + wanted > cap {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.hour.start.max(e.day.start))
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    /// Entries remembered now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_holds_the_gap_and_the_hourly_and_daily_caps() {
        let p = Policy::default();
        let mut log = SendLog::default();
        let t0 = 1_000_000;
        log.record(&p, 1, t0);
        assert_eq!(
            log.check(&p, 1, t0 + 1),
            Err(Error::SendLimit {
                until: t0 + u64::from(p.send_gap_secs)
            })
        );
        assert_eq!(
            log.check(&p, 2, t0 + 1),
            Ok(()),
            "the gap is per destination"
        );
        let mut t = t0;
        for _ in 1..p.sends_per_hour {
            t += u64::from(p.send_gap_secs);
            assert_eq!(log.check(&p, 1, t), Ok(()));
            log.record(&p, 1, t);
        }
        t += u64::from(p.send_gap_secs);
        assert_eq!(
            log.check(&p, 2, t),
            Err(Error::SendLimit { until: t0 + HOUR })
        );
        assert_eq!(log.check(&p, 1, t0 + HOUR), Ok(()));
    }

    #[test]
    fn the_guard_counts_per_destination_over_users_and_per_address() {
        let l = SendGuardLimits {
            per_destination_per_hour: 2,
            per_address_per_hour: 3,
            ..SendGuardLimits::default()
        };
        let mut g = SendGuard::new(l, [7; 16]).unwrap();
        let now = 5_000;
        g.admit("10.0.0.1", "+447700900123", now).unwrap();
        g.admit("10.0.0.2", "+447700900123", now).unwrap();
        assert_eq!(
            g.admit("10.0.0.3", "+447700900123", now),
            Err(Error::SendLimit { until: now + HOUR })
        );
        g.admit("10.0.0.1", "a@example.net", now).unwrap();
        g.admit("10.0.0.1", "b@example.net", now).unwrap();
        assert!(g.admit("10.0.0.1", "c@example.net", now).is_err());
        assert!(g.admit("10.0.0.1", "c@example.net", now + HOUR).is_ok());
    }

    #[test]
    fn a_full_guard_forgets_the_oldest_entries_and_stays_bounded() {
        let l = SendGuardLimits {
            capacity: 10,
            ..SendGuardLimits::default()
        };
        let mut g = SendGuard::new(l, [1; 16]).unwrap();
        for i in 0..100u64 {
            g.admit(&format!("10.0.{i}.1"), &format!("+4477009{i:05}"), 1000 + i)
                .unwrap();
            assert!(g.len() <= 10);
        }
    }
}
