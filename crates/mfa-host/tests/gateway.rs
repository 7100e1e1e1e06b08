//! The gateway's rules through the component agree with the engine linked
//! natively (`mfa_core::gateway`, what the Envoy filter links): the user-id
//! canonical form, which refusals are guesses, the address throttle and the
//! cache rule. A host that asks the component gets the filter's answers.
mod common;

use common::{NOW, host_with, test_policy};
use mfa_core as core;
use mfa_core::gateway::{FailureCount as NativeCount, FailureWindow as NativeWindow};
use mfa_host::{FailureCount, FailureWindow, Record, Refusal};

/// Inputs a client may type as a user name, look-alikes included.
const USERS: &[&str] = &[
    "alice@example.com",
    "Alice@Example.COM",
    "  alice@example.com\t",
    "ALICE",
    "al ice",
    "alice:x",
    "alice\u{0}",
    "",
    "   ",
    "\u{0410}lice", // Cyrillic А: another user, never alice
    "ÅNGSTRÖM",
    "İstanbul",
];

#[test]
fn the_user_id_rule_is_the_engines() {
    let host = host_with(&test_policy(), b"gateway users");
    for raw in USERS {
        let native = core::UserId::parse(raw).map(core::UserId::into_string);
        let hosted = host.canonical_user(raw);
        match (&native, &hosted) {
            (Ok(n), Ok(h)) => assert_eq!(n, h, "{raw:?}"),
            (Err(n), Err(h)) => assert_eq!(n.code(), h.code(), "{raw:?}"),
            _ => panic!("{raw:?}: native {native:?}, component {hosted:?}"),
        }
    }
    assert_ne!(host.canonical_user("\u{0410}lice").unwrap(), "alice");
    let long = "a".repeat(core::MAX_USER_ID_CHARS + 1);
    assert_eq!(
        host.canonical_user(&long).unwrap_err().code(),
        "invalid_input"
    );
    // An impossible user at the gateway is an unknown password, never a
    // different answer that tells user names apart.
    for raw in ["al ice", "alice:x", &long] {
        let e = host
            .present_app_password(raw, "not-an-app-password")
            .unwrap_err();
        assert_eq!(e.code(), "unknown_app_password", "{raw:?}");
    }
    let e = host
        .present_app_password("Alice", "not-an-app-password")
        .unwrap_err();
    assert_eq!(e.code(), "malformed_app_password");
}

#[test]
fn a_record_is_only_made_for_a_canonical_user() {
    let host = host_with(&test_policy(), b"gateway records");
    let request = mfa_host::AppPasswordRequest {
        name: "Mail".into(),
        scopes: Vec::new(),
        expires_at: None,
    };
    // `Alice` would be a second record beside `alice`: refused with the way out.
    let e = host
        .create_app_password(
            Record::New {
                user_id: "Alice",
                now: NOW,
            },
            &request,
            NOW,
        )
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().contains("canonical"), "{e}");
    let user = host.canonical_user(" Alice ").unwrap();
    let out = host
        .create_app_password(
            Record::New {
                user_id: &user,
                now: NOW,
            },
            &request,
            NOW,
        )
        .unwrap();
    let new = out.result.unwrap();
    let presented = host
        .present_app_password(" ALICE ", new.password.expose())
        .unwrap();
    assert_eq!(presented.user, "alice");
    assert_eq!(presented.id, new.id);
    assert!(!format!("{presented:?}").contains(new.password.expose()));
}

#[test]
fn only_guesses_count_against_an_address() {
    let host = host_with(&test_policy(), b"gateway refusals");
    let cases = [
        (Refusal::WrongAppPassword, core::Error::WrongAppPassword),
        (Refusal::UnknownAppPassword, core::Error::UnknownAppPassword),
        (
            Refusal::MalformedAppPassword,
            core::Error::MalformedAppPassword,
        ),
        (Refusal::AppPasswordRevoked, core::Error::AppPasswordRevoked),
        (Refusal::AppPasswordExpired, core::Error::AppPasswordExpired),
        (
            Refusal::AppPasswordsDisabled,
            core::Error::AppPasswordsDisabled,
        ),
        (Refusal::WrongCode, core::Error::WrongCode),
    ];
    for (hosted, native) in cases {
        assert_eq!(
            host.counts_against_address(&hosted).unwrap(),
            core::gateway::counts_against_address(&native),
            "{hosted:?}"
        );
    }
    assert!(
        host.counts_against_address(&Refusal::WrongAppPassword)
            .unwrap()
    );
    assert!(
        !host
            .counts_against_address(&Refusal::AppPasswordRevoked)
            .unwrap()
    );
}

fn hosted(c: NativeCount) -> FailureCount {
    FailureCount {
        failures: c.failures,
        window_start: c.window_start,
        blocked_until: c.blocked_until,
        stale_at: c.stale_at,
    }
}

#[test]
fn the_address_throttle_is_the_engines() {
    let host = host_with(&test_policy(), b"gateway throttle");
    let (max_failures, window_secs, block_secs) = (3, 4, 6);
    let native_window = NativeWindow {
        max_failures,
        window_secs,
        block_secs,
    };
    let window = FailureWindow {
        max_failures,
        window_secs,
        block_secs,
    };
    host.check_failure_window(window).unwrap();
    // Bad settings are refused with the field named, as natively.
    for bad in [(0, 4, 4), (3, 0, 4), (3, 4, 0), (3, 86_401, 4)] {
        let w = FailureWindow {
            max_failures: bad.0,
            window_secs: bad.1,
            block_secs: bad.2,
        };
        let e = host.check_failure_window(w).unwrap_err();
        let n = NativeWindow {
            max_failures: bad.0,
            window_secs: bad.1,
            block_secs: bad.2,
        }
        .check()
        .unwrap_err();
        assert_eq!(e.code(), n.code(), "{bad:?}");
        assert!(e.to_string().contains(&n.to_string()), "{bad:?}: {e} / {n}");
    }
    // A guesser's failures at these times (seconds from NOW), and the wait
    // asked of it at each: the same count and wait on both sides.
    let mut native = NativeCount::default();
    let mut count = FailureCount::default();
    let mut blocked_once = false;
    for at in [0, 0, 1, 1, 2, 3, 5, 7, 8, 9, 15, 16, 16, 16, 30] {
        let now = NOW + at;
        let wait = host.retry_after(count, now).unwrap();
        assert_eq!(wait, native.retry_after(now), "at {at}");
        blocked_once |= wait.is_some();
        native = native.failed(now, &native_window);
        count = host.failed(count, window, now).unwrap();
        assert_eq!(count, hosted(native), "at {at}");
    }
    assert!(blocked_once, "the script reaches the limit");
}

#[test]
fn the_cache_rule_is_the_engines() {
    let host = host_with(&test_policy(), b"gateway cache");
    for cache_secs in [0, 1, 60, 300] {
        for expires_at in [None, Some(NOW + 30), Some(NOW - 1)] {
            for last_used_at in [None, Some(NOW - 10_000), Some(NOW)] {
                assert_eq!(
                    host.cache_until(NOW, cache_secs, expires_at, last_used_at)
                        .unwrap(),
                    core::gateway::cache_until(NOW, cache_secs, expires_at, last_used_at),
                    "{cache_secs} {expires_at:?} {last_used_at:?}"
                );
            }
        }
    }
}
