//! Primary passwords through the component agree with the engine linked
//! natively: a string made by one checks in the other, new parameters ask for
//! a rehash, a user without a password is refused, and unusable strings and
//! lengths are the same typed errors with the same messages.
mod common;

use common::{host_with, test_policy};
use mfa_core as core;
use mfa_host::{Argon2Params, PasswordCheck};

const WEAK: Argon2Params = Argon2Params {
    m_kib: 64,
    t: 1,
    p: 1,
};
const NATIVE_WEAK: core::Argon2Params = core::Argon2Params::INSECURE_FOR_TESTS;

#[test]
fn strings_check_in_both_directions_and_ask_for_a_rehash() {
    let host = host_with(&test_policy(), b"passwords");
    let hosted = host.hash_new_password("correct horse", WEAK).unwrap();
    assert!(
        hosted.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{hosted}"
    );
    assert_eq!(
        core::check_password(Some(&hosted), "correct horse", &NATIVE_WEAK),
        Ok(core::PasswordCheck::Accepted {
            needs_rehash: false
        })
    );
    let mut rng = core::SeededRandom::new(b"native");
    let native = core::hash_new_password("correct horse", &NATIVE_WEAK, &mut rng).unwrap();
    for stored in [&hosted, &native] {
        assert_eq!(
            host.check_password(Some(stored), "correct horse", WEAK)
                .unwrap(),
            PasswordCheck::Accepted
        );
        assert_eq!(
            host.check_password(Some(stored), "Correct horse", WEAK)
                .unwrap(),
            PasswordCheck::Refused
        );
        let stronger = Argon2Params { m_kib: 128, ..WEAK };
        assert_eq!(
            host.check_password(Some(stored), "correct horse", stronger)
                .unwrap(),
            PasswordCheck::AcceptedNeedsRehash
        );
    }
    // Two hashes of one password differ (fresh salt each time).
    assert_ne!(
        host.hash_new_password("correct horse", WEAK).unwrap(),
        hosted
    );
    assert_eq!(
        host.check_password(None, "correct horse", WEAK).unwrap(),
        PasswordCheck::Refused
    );
}

#[test]
fn refusals_are_the_engines_with_its_messages() {
    let host = host_with(&test_policy(), b"passwords");
    let long = "x".repeat(core::MAX_PASSWORD_BYTES + 1);
    let planted =
        "$argon2id$v=19$m=4194305,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    let cases: [(Option<&str>, &str); 5] = [
        (None, ""),
        (None, long.as_str()),
        (Some("garbage"), "password"),
        (Some(planted), "password"),
        (
            Some(
                "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            ),
            "password",
        ),
    ];
    for (stored, password) in cases {
        let native = core::check_password(stored, password, &NATIVE_WEAK).unwrap_err();
        let hosted = host.check_password(stored, password, WEAK).unwrap_err();
        let mfa_host::Error::Engine(hosted) = hosted else {
            panic!("{stored:?}: not an engine refusal: {hosted:?}");
        };
        assert_eq!(hosted.code(), native.code(), "{stored:?}");
        assert_eq!(hosted.message(), native.to_string(), "{stored:?}");
    }
    for short in ["", "seven77"] {
        let e = host.hash_new_password(short, WEAK).unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{short:?}");
        assert!(!e.to_string().contains("seven77"), "{e}");
    }
    // Parameters the engine refuses are refused before any hashing.
    let huge = Argon2Params {
        m_kib: 5 * 1024 * 1024,
        ..WEAK
    };
    assert_eq!(
        host.hash_new_password("correct horse", huge)
            .unwrap_err()
            .code(),
        "invalid_policy"
    );
}
