//! The `gateway` interface: the engine's gateway rules
//! ([`mfa_core::gateway`]) for hosts that check app passwords.
use mfa_core as core;
use mfa_core::gateway::{FailureCount, FailureWindow};

use crate::Component;
use crate::bindings::exports::mfa::engine::gateway as wg;
use crate::bindings::exports::mfa::engine::types as w;
use crate::convert::into_error;

fn count_in(c: wg::FailureCount) -> FailureCount {
    FailureCount {
        failures: c.failures,
        window_start: c.window_start,
        blocked_until: c.blocked_until,
        stale_at: c.stale_at,
    }
}

fn count_out(c: FailureCount) -> wg::FailureCount {
    wg::FailureCount {
        failures: c.failures,
        window_start: c.window_start,
        blocked_until: c.blocked_until,
        stale_at: c.stale_at,
    }
}

fn window_in(w: wg::FailureWindow) -> FailureWindow {
    FailureWindow {
        max_failures: w.max_failures,
        window_secs: w.window_secs,
        block_secs: w.block_secs,
    }
}

/// The engine's error for a refusal the host was given, as far as the gateway
/// rule tells them apart (every other refusal is not an app-password guess).
fn refusal_in(e: &w::Refusal) -> core::Error {
    match e {
        w::Refusal::WrongAppPassword => core::Error::WrongAppPassword,
        w::Refusal::UnknownAppPassword => core::Error::UnknownAppPassword,
        w::Refusal::MalformedAppPassword => core::Error::MalformedAppPassword,
        w::Refusal::AppPasswordRevoked => core::Error::AppPasswordRevoked,
        w::Refusal::AppPasswordExpired => core::Error::AppPasswordExpired,
        w::Refusal::OutOfScope(scope) => core::Error::OutOfScope {
            scope: scope.clone(),
        },
        _ => core::Error::InvalidInput {
            field: "refusal",
            reason: "not a refusal of an app password".into(),
        },
    }
}

impl wg::Guest for Component {
    fn canonical_user(user: String) -> Result<String, w::Error> {
        core::UserId::parse(&user)
            .map(core::UserId::into_string)
            .map_err(into_error)
    }

    fn present(user: String, password: String) -> Result<wg::Presented, w::Error> {
        let (user, parsed) = core::gateway::present(&user, &password).map_err(into_error)?;
        Ok(wg::Presented {
            user: user.into_string(),
            canonical: parsed.canonical().expose().to_string(),
            id: parsed.id,
        })
    }

    fn counts_against_address(refusal: w::Refusal) -> bool {
        core::gateway::counts_against_address(&refusal_in(&refusal))
    }

    fn check_window(window: wg::FailureWindow) -> Result<(), w::Error> {
        window_in(window).check().map_err(into_error)
    }

    fn failed(count: wg::FailureCount, window: wg::FailureWindow, now: u64) -> wg::FailureCount {
        count_out(count_in(count).failed(now, &window_in(window)))
    }

    fn retry_after(count: wg::FailureCount, now: u64) -> Option<u64> {
        count_in(count).retry_after(now)
    }

    fn cache_until(
        verified_at: u64,
        cache_secs: u64,
        expires_at: Option<u64>,
        last_used_at: Option<u64>,
    ) -> Option<u64> {
        core::gateway::cache_until(verified_at, cache_secs, expires_at, last_used_at)
    }
}
