//! Passkeys through the component, as a platform team's wasmtime host drives
//! them: "Set it up now" with a passkey signs the user in, the passkey is the
//! second factor of the next sign-in, and the session carries `hwk`. The
//! answers come from the engine's software authenticator; the attacks a
//! host would see (a replayed answer, a page of another site, a copied key)
//! are refused by the component with `passkey-refused` and the failed check.

mod common;

#[path = "../../mfa-core/tests/common/authenticator.rs"]
mod authenticator;

use authenticator::SoftKey;
use common::{NOW, User, host_with, test_policy};
use mfa_host::{
    self as host, FirstFactor, MethodKind, MfaHost, Proof, Refusal, SignInStarted, Standing,
};

const ORIGIN: &str = "http://localhost:8080";

fn passkey_host() -> MfaHost {
    let mut p = test_policy();
    p.allowed_methods = mfa_core::MethodType::ALL.to_vec();
    p.passkeys = mfa_core::PasskeyPolicy {
        rp_id: "localhost".into(),
        origins: vec![ORIGIN.into()],
        ..mfa_core::PasskeyPolicy::default()
    };
    host_with(&p, b"passkeys")
}

fn login_token(h: &MfaHost, u: &mut User, at: u64) -> String {
    let out = h.start_sign_in(u.record(), FirstFactor::Password, None, at);
    match u.keep(out).expect("start never refuses") {
        SignInStarted::Next { token, .. } => token.expose().to_string(),
        SignInStarted::SignedIn(_) => panic!("no device token was presented"),
    }
}

fn check(r: Result<host::SignedIn, host::EngineError>) -> String {
    let e = r.expect_err("refused");
    assert!(!e.message().is_empty());
    match e.reason() {
        Refusal::PasskeyRefused { check } => check.clone(),
        other => panic!("not a passkey refusal: {other:?}"),
    }
}

/// "Set it up now" with `key`, named "Security key".
fn set_up_with(h: &MfaHost, u: &mut User, key: &SoftKey) -> host::Registered {
    let out = h.set_mfa_state(u.record(), host::MfaState::Enabled, "admin", NOW);
    u.keep(out).unwrap();
    let token = login_token(h, u, NOW);
    let out = h.begin_passkey(u.record(), NOW);
    let options = u.keep(out).unwrap();
    let out = h.finish_passkey_registration(
        u.record(),
        Standing::Token(&token),
        &key.create(&options.options),
        "Security key",
        false,
        NOW,
    );
    u.keep(out).unwrap()
}

#[test]
fn a_passkey_sets_up_and_signs_in_through_the_component() {
    let h = passkey_host();
    let mut u = User { stored: None };
    let mut key = SoftKey::p256(11, "localhost", ORIGIN);
    let registered = set_up_with(&h, &mut u, &key);
    assert!(registered.confirmed.recovery_codes.is_some());
    let session = registered.signed_in.expect("signed in").session;
    let claims = h.verify_session(session.expose(), NOW + 1).unwrap();
    assert_eq!(claims.amr, ["pwd", "hwk", "user", "mfa"]);
    let methods = h.summary(u.record(), NOW).unwrap().methods;
    assert!(
        matches!(&methods[0].kind, MethodKind::Passkey(p) if p.name == "Security key"),
        "{methods:?}"
    );

    // The next sign-in, the passkey as its second factor.
    let t = NOW + 600;
    let token = login_token(&h, &mut u, t);
    let out = h.begin_passkey_sign_in(u.record(), Standing::Token(&token), t);
    let options = u.keep(out).unwrap();
    let answer = key.get(&options.options, None);
    let out = h.finish_sign_in(
        u.record(),
        Standing::Token(&token),
        Proof::Passkey(&answer),
        false,
        t,
    );
    let signed = u.keep(out).unwrap();
    assert_eq!(
        h.verify_session(signed.session.expose(), t + 1)
            .unwrap()
            .amr,
        ["pwd", "hwk", "user", "mfa"]
    );

    // The same answer again: the ceremony was used up.
    let out = h.finish_sign_in(
        u.record(),
        Standing::Token(&token),
        Proof::Passkey(&answer),
        false,
        t,
    );
    assert_eq!(check(u.keep(out)), "ceremony_expired");
    // A page of another site relaying the challenge.
    let out = h.begin_passkey_sign_in(u.record(), Standing::Token(&token), t + 10);
    let options = u.keep(out).unwrap();
    let mut phished = SoftKey::p256(11, "localhost", "http://localhost:9999");
    phished.counter = key.counter;
    let answer = phished.get(&options.options, None);
    let out = h.finish_sign_in(
        u.record(),
        Standing::Token(&token),
        Proof::Passkey(&answer),
        false,
        t + 10,
    );
    assert_eq!(check(u.keep(out)), "origin_not_allowed");
    // A copy of the key with an older sign count.
    let out = h.begin_passkey_sign_in(u.record(), Standing::Token(&token), t + 20);
    let options = u.keep(out).unwrap();
    let answer = key.get_with_count(&options.options, 1, None);
    let out = h.finish_sign_in(
        u.record(),
        Standing::Token(&token),
        Proof::Passkey(&answer),
        false,
        t + 20,
    );
    assert_eq!(check(u.keep(out)), "sign_count_regressed");
}

#[test]
fn a_passkey_signs_in_without_a_password_through_the_component() {
    let h = passkey_host();
    let mut u = User { stored: None };
    let mut key = SoftKey::p256(12, "localhost", ORIGIN);
    set_up_with(&h, &mut u, &key);
    let handle = h
        .summary(u.record(), NOW)
        .unwrap()
        .passkey_handle
        .expect("the summary names the handle a host indexes");

    let t = NOW + 600;
    let start = h.begin_passkey_discovery(t).unwrap();
    let options: serde_json::Value = serde_json::from_str(&start.options).unwrap();
    assert_eq!(options["userVerification"], "required");
    let answer = key.get(&start.options, Some(&handle));
    assert_eq!(h.passkey_user_handle(&answer).unwrap(), handle);
    let out = h.finish_passkey_discovery(u.record(), &start.ceremony, &answer, false, t);
    let signed = u.keep(out).unwrap();
    let session = signed.session.expose();
    assert_eq!(
        h.verify_session(session, t + 1).unwrap().amr,
        ["hwk", "user", "mfa"]
    );
    assert_eq!(
        h.sign_in_caller(session, t + 1).unwrap().first_factor,
        FirstFactor::Passkey
    );

    // The same answer again: refused, though the key's counter could not tell
    // (the stored record keeps the ceremonies it answered).
    let replay = key.get_with_count(&start.options, key.counter + 1, Some(&handle));
    let out = h.finish_passkey_discovery(u.record(), &start.ceremony, &replay, false, t + 2);
    assert_eq!(check(u.keep(out)), "ceremony_used");
    // A login token in place of the ceremony.
    let login = login_token(&h, &mut u, t + 3);
    let fresh = h.begin_passkey_discovery(t + 3).unwrap();
    let answer = key.get(&fresh.options, Some(&handle));
    let out = h.finish_passkey_discovery(u.record(), &login, &answer, false, t + 3);
    assert_eq!(
        u.keep(out).expect_err("refused").reason(),
        &Refusal::WrongTokenKind
    );
    // A ceremony is not a session anywhere.
    assert!(h.verify_session(&fresh.ceremony, t + 3).is_err());
    // An answer that names no user handle.
    let anonymous = key.get(&fresh.options, None);
    assert!(h.passkey_user_handle(&anonymous).is_err());
}

#[test]
fn passkeys_are_refused_where_the_policy_has_none() {
    let h = host_with(&test_policy(), b"no passkeys");
    let mut u = User { stored: None };
    let out = h.begin_passkey(u.record(), NOW);
    match u.keep(out) {
        Err(e) => assert_eq!(
            e.reason(),
            &Refusal::MethodNotAllowed {
                method: host::MethodType::Passkey
            }
        ),
        Ok(_) => panic!("no relying party is configured"),
    }
}
