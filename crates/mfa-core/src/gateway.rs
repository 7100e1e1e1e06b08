//! The gateway's rules, kept once for every place an app password is checked
//! without a person at the keyboard: the Envoy filter (which links this
//! crate) and any host's verify endpoint (through the component).
//!
//! - which refusals count against the client address ([`counts_against_address`]):
//!   guesses only. A user is never locked by the gateway (security item 5: a
//!   lock per user lets anyone lock a victim's mail clients out), so the
//!   correct password always passes;
//! - the address throttle ([`FailureWindow`], [`FailureCount`]): failures are
//!   counted over a fixed window from the first one, and reaching the limit
//!   blocks the address for a set time;
//! - what a cache of verified app passwords may trust ([`cache_until`]).
//!
//! The host keeps the counts where it likes (Envoy shared data, a map in
//! memory) and never interprets them itself beyond what the fields say.
use crate::{Error, ParsedAppPassword, UnixTime, UserId};

/// Most failures a window may allow before it blocks.
pub const MAX_WINDOW_FAILURES: u32 = 1_000_000;
/// Longest window or block, in seconds (a day).
pub const MAX_WINDOW_SECS: u64 = 86_400;

/// Whether a refusal of a presented app password counts against the client
/// address: a wrong, unknown or malformed password is a guess. A revoked,
/// expired or out-of-scope password was real (its owner's client is only
/// out of date), and the gateway's own failures are nobody's guess.
pub fn counts_against_address(refusal: &Error) -> bool {
    matches!(
        refusal,
        Error::WrongAppPassword | Error::UnknownAppPassword | Error::MalformedAppPassword
    )
}

/// Read a user name and app password as a client presented them: the user
/// in canonical form and the password checked for form and checksum (no
/// hashing). A user name that cannot be a user is answered as an unknown app
/// password, so a client learns nothing about which names exist.
pub fn present(user: &str, password: &str) -> Result<(UserId, ParsedAppPassword), Error> {
    let user = UserId::parse(user).map_err(|_| Error::UnknownAppPassword)?;
    Ok((user, ParsedAppPassword::parse(password)?))
}

/// The address throttle's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    /// Failures within `window_secs` that block an address.
    pub max_failures: u32,
    /// Seconds failures are counted over, from the first one.
    pub window_secs: u64,
    /// Seconds a block lasts.
    pub block_secs: u64,
}

impl Default for FailureWindow {
    /// Ten failures in five minutes block an address for five minutes.
    fn default() -> Self {
        Self {
            max_failures: 10,
            window_secs: 300,
            block_secs: 300,
        }
    }
}

impl FailureWindow {
    /// Check the settings: at least one failure, windows and blocks of one
    /// second to a day. The error names the field (`max_failures`,
    /// `window_secs` or `block_secs`).
    pub fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_WINDOW_FAILURES).contains(&self.max_failures) {
            return Err(Error::input(
                "max_failures",
                format!("must be 1 to {MAX_WINDOW_FAILURES}"),
            ));
        }
        for (name, v) in [
            ("window_secs", self.window_secs),
            ("block_secs", self.block_secs),
        ] {
            if !(1..=MAX_WINDOW_SECS).contains(&v) {
                return Err(Error::input(
                    name,
                    format!("must be 1 to {MAX_WINDOW_SECS} seconds"),
                ));
            }
        }
        Ok(())
    }
}

/// The failures of one client address (or of any key a host throttles by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureCount {
    /// Failures counted in the current window.
    pub failures: u32,
    /// When the current window started.
    pub window_start: UnixTime,
    /// Blocked until then; 0: not blocked.
    pub blocked_until: UnixTime,
    /// From then on the count holds nothing (its window and its block are
    /// over): a host may drop it to make room.
    pub stale_at: UnixTime,
}

impl FailureCount {
    /// Seconds to wait before the next attempt, if blocked at `now`.
    pub fn retry_after(&self, now: UnixTime) -> Option<u64> {
        (self.blocked_until > now).then(|| self.blocked_until - now)
    }

    /// Whether the count is blocking at `now`.
    pub fn blocking(&self, now: UnixTime) -> bool {
        self.retry_after(now).is_some()
    }

    /// The count after one more failure at `now`. A failure after the window
    /// starts a new one; the limit blocks for `block_secs` from this failure,
    /// and each failure while blocked blocks again.
    pub fn failed(self, now: UnixTime, window: &FailureWindow) -> Self {
        let mut next = if now >= self.window_start.saturating_add(window.window_secs) {
            Self {
                failures: 0,
                window_start: now,
                blocked_until: self.blocked_until,
                stale_at: 0,
            }
        } else {
            self
        };
        next.failures = next.failures.saturating_add(1);
        if next.failures >= window.max_failures.max(1) {
            next.blocked_until = now.saturating_add(window.block_secs);
        }
        next.stale_at = next
            .window_start
            .saturating_add(window.window_secs)
            .max(next.blocked_until);
        next
    }

    /// The count after a refusal: [`FailureCount::failed`] when the refusal
    /// [`counts_against_address`], otherwise unchanged.
    pub fn refused(self, refusal: &Error, now: UnixTime, window: &FailureWindow) -> Self {
        if counts_against_address(refusal) {
            self.failed(now, window)
        } else {
            self
        }
    }

    /// Whether the count holds nothing (a success has nothing to reset).
    pub fn is_clear(&self) -> bool {
        self.failures == 0 && self.blocked_until == 0
    }

    /// A compact text form for a host's key-value store
    /// (`failures window_start blocked_until stale_at`).
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{} {} {} {}",
            self.failures, self.window_start, self.blocked_until, self.stale_at
        )
        .into_bytes()
    }

    /// Read [`FailureCount::encode`]'s form; anything unreadable is a fresh count.
    pub fn decode(bytes: &[u8]) -> Self {
        let text = std::str::from_utf8(bytes).unwrap_or_default();
        let mut parts = text.split(' ').map(|p| p.parse::<u64>().ok());
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Some(f)), Some(Some(w)), Some(Some(b)), Some(Some(s))) => Self {
                failures: u32::try_from(f).unwrap_or(u32::MAX),
                window_start: w,
                blocked_until: b,
                stale_at: s,
            },
            _ => Self::default(),
        }
    }
}

/// Until when a verification of an app password at `verified_at` may be
/// answered from a cache, without the hash; `None`: not at all.
///
/// At most `cache_secs`, never past the password's expiry, and — for a host
/// that holds the user's record (`last_used_at` given) — never past the time
/// the record's "last used" must be written again, so a cache never hides use
/// from the user's list. A cache entry must also be dropped when the stored
/// hash changes (the host compares it) or the password is deleted.
pub fn cache_until(
    verified_at: UnixTime,
    cache_secs: u64,
    expires_at: Option<UnixTime>,
    last_used_at: Option<UnixTime>,
) -> Option<UnixTime> {
    let mut until = verified_at.saturating_add(cache_secs);
    if let Some(e) = expires_at {
        until = until.min(e);
    }
    if let Some(t) = last_used_at {
        until = until.min(t.saturating_add(crate::app_password::LAST_USED_GRANULARITY));
    }
    (until > verified_at).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: FailureWindow = FailureWindow {
        max_failures: 3,
        window_secs: 60,
        block_secs: 30,
    };

    #[test]
    fn blocks_at_the_limit_and_unblocks_after_the_block() {
        let mut c = FailureCount::default();
        for t in 0..2 {
            c = c.failed(1000 + t, &W);
            assert_eq!(c.retry_after(1000 + t), None);
        }
        c = c.failed(1002, &W);
        assert_eq!(c.retry_after(1002), Some(30));
        assert_eq!(c.retry_after(1031), Some(1));
        assert_eq!(c.retry_after(1032), None);
        assert_eq!(c.stale_at, 1060);
        // Still inside the window: the next failure blocks again at once.
        c = c.failed(1040, &W);
        assert_eq!(c.retry_after(1040), Some(30));
        assert_eq!(c.stale_at, 1070);
        // A failure after the window starts counting from one.
        let c = c.failed(2000, &W);
        assert_eq!(c.failures, 1);
        assert_eq!(c.retry_after(2000), None);
        assert_eq!(c.stale_at, 2060);
    }

    #[test]
    fn only_guesses_count_against_an_address() {
        let c = FailureCount::default();
        for counted in [
            Error::WrongAppPassword,
            Error::UnknownAppPassword,
            Error::MalformedAppPassword,
        ] {
            assert_eq!(c.refused(&counted, 5, &W).failures, 1, "{counted:?}");
        }
        for not in [
            Error::AppPasswordRevoked,
            Error::AppPasswordExpired,
            Error::OutOfScope {
                scope: "imap".into(),
            },
            Error::RetryLater { until: 9 },
        ] {
            assert_eq!(c.refused(&not, 5, &W), c, "{not:?}");
        }
    }

    #[test]
    fn presented_credentials_are_read_once_for_every_host() {
        assert_eq!(
            present("al ice", "x").unwrap_err(),
            Error::UnknownAppPassword,
            "an impossible user name tells nothing"
        );
        assert_eq!(
            present(" Alice@Example.com", "not-a-password").unwrap_err(),
            Error::MalformedAppPassword
        );
    }

    #[test]
    fn round_trip_and_garbage() {
        let c = FailureCount {
            failures: 4,
            window_start: 17,
            blocked_until: 99,
            stale_at: 120,
        };
        assert_eq!(FailureCount::decode(&c.encode()), c);
        assert_eq!(FailureCount::decode(b"nonsense"), FailureCount::default());
        assert_eq!(FailureCount::decode(b"1 2 3"), FailureCount::default());
        assert_eq!(FailureCount::decode(&[0xff, 0xfe]), FailureCount::default());
    }

    #[test]
    fn settings_are_checked() {
        assert!(W.check().is_ok());
        let e = FailureWindow {
            max_failures: 0,
            ..W
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("max_failures"), "{e}");
        let e = FailureWindow { block_secs: 0, ..W }.check().unwrap_err();
        assert!(e.to_string().contains("block_secs"), "{e}");
        let e = FailureWindow {
            window_secs: 86_401,
            ..W
        }
        .check()
        .unwrap_err();
        assert!(e.to_string().contains("window_secs"), "{e}");
    }

    #[test]
    fn a_cache_never_outlives_expiry_or_last_used() {
        assert_eq!(cache_until(100, 60, None, None), Some(160));
        assert_eq!(cache_until(100, 60, Some(130), None), Some(130));
        assert_eq!(cache_until(100, 60, Some(100), None), None, "expired");
        assert_eq!(cache_until(100, 60, None, Some(90)), Some(150));
        assert_eq!(
            cache_until(100, 60, None, Some(30)),
            None,
            "last used is due"
        );
        assert_eq!(cache_until(100, 0, None, None), None, "no cache");
    }
}
