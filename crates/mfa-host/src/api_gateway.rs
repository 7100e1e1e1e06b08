//! [`MfaHost`]: the engine's gateway rules (the `gateway` interface), for a
//! host's verify endpoint and its throttles. The counts are the host's to
//! keep; what they mean is the engine's.
use crate::api::text;
use crate::bindings::exports::mfa::engine::types as w;
use crate::*;

pub use crate::bindings::exports::mfa::engine::gateway::{FailureCount, FailureWindow};

/// A user name and app password as a client presented them, after the
/// engine checked their form. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    /// The user id in canonical form.
    pub user: String,
    /// The app password's public id.
    pub id: String,
    /// The password in canonical form, for a keyed cache digest only.
    pub canonical: Secret,
}

impl core::fmt::Debug for Presented {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Presented")
            .field("user", &self.user)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[allow(
    clippy::derivable_impls,
    reason = "the type is generated from wit/; a derive cannot be added there"
)]
impl Default for FailureCount {
    fn default() -> Self {
        Self {
            failures: 0,
            window_start: 0,
            blocked_until: 0,
            stale_at: 0,
        }
    }
}

/// The WIT form of a refusal, as far as the gateway rule tells refusals
/// apart; any other travels as its code.
fn refusal_out(e: &Refusal) -> w::Refusal {
    match e {
        Refusal::WrongAppPassword => w::Refusal::WrongAppPassword,
        Refusal::UnknownAppPassword => w::Refusal::UnknownAppPassword,
        Refusal::MalformedAppPassword => w::Refusal::MalformedAppPassword,
        Refusal::AppPasswordRevoked => w::Refusal::AppPasswordRevoked,
        Refusal::AppPasswordExpired => w::Refusal::AppPasswordExpired,
        Refusal::OutOfScope { scope } => w::Refusal::OutOfScope(scope.clone()),
        other => w::Refusal::Other(other.code().to_string()),
    }
}

impl MfaHost {
    /// The canonical form of a user id: `Alice` and ` alice ` are one user.
    pub fn canonical_user(&self, user: &str) -> Result<String, Error> {
        text("user", user)?;
        self.plain(
            |store, api| api.mfa_engine_gateway().call_canonical_user(store, user),
            |u| u,
        )
    }

    /// Check a presented user name and app password for form and checksum
    /// (no hashing, no record).
    pub fn present_app_password(&self, user: &str, password: &str) -> Result<Presented, Error> {
        text("user", user)?;
        text("app password", password)?;
        self.plain(
            |store, api| api.mfa_engine_gateway().call_present(store, user, password),
            |p| Presented {
                user: p.user,
                id: p.id,
                canonical: Secret::new(p.canonical),
            },
        )
    }

    /// Whether a refusal is a guess that counts against the client address.
    pub fn counts_against_address(&self, refusal: &Refusal) -> Result<bool, Error> {
        let refusal = refusal_out(refusal);
        self.rt.call(|slot| {
            slot.api
                .mfa_engine_gateway()
                .call_counts_against_address(&mut slot.store, &refusal)
        })
    }

    /// Check a throttle's settings.
    pub fn check_failure_window(&self, window: FailureWindow) -> Result<(), Error> {
        self.plain(
            |store, api| api.mfa_engine_gateway().call_check_window(store, window),
            |()| (),
        )
    }

    /// The count after one more failure at `now`.
    pub fn failed(
        &self,
        count: FailureCount,
        window: FailureWindow,
        now: UnixTime,
    ) -> Result<FailureCount, Error> {
        self.rt.call(|slot| {
            slot.api
                .mfa_engine_gateway()
                .call_failed(&mut slot.store, count, window, now)
        })
    }

    /// Seconds to wait before the next attempt, if `count` blocks at `now`.
    pub fn retry_after(&self, count: FailureCount, now: UnixTime) -> Result<Option<u64>, Error> {
        self.rt.call(|slot| {
            slot.api
                .mfa_engine_gateway()
                .call_retry_after(&mut slot.store, count, now)
        })
    }

    /// Until when a verification at `verified_at` may be answered from a
    /// cache without the hash (`None`: not at all).
    pub fn cache_until(
        &self,
        verified_at: UnixTime,
        cache_secs: u64,
        expires_at: Option<UnixTime>,
        last_used_at: Option<UnixTime>,
    ) -> Result<Option<UnixTime>, Error> {
        self.rt.call(|slot| {
            slot.api.mfa_engine_gateway().call_cache_until(
                &mut slot.store,
                verified_at,
                cache_secs,
                expires_at,
                last_used_at,
            )
        })
    }
}
