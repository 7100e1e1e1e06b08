//! Passwordless sign-in with a passkey: the browser offers the site's
//! passkeys without a user name (conditional mediation), the key names its
//! user by the handle it was made for, and the engine signs the person in
//! with no password (`amr` `hwk user mfa`). Each attack is played and
//! refused: a replayed answer (a synced key's counter stays at zero), a
//! forged, altered, expired or other kind of ceremony token, a key that did
//! not verify the person, another user's record, another origin, an answer
//! without a user handle, a user who must register again, a flood of
//! sign-ins, and the ceremony token used as a session.
#![cfg(feature = "webauthn")]

mod common;

use common::authenticator::SoftKey;
use common::passkey_users::{ORIGIN, login, passkey_engine, passkey_policy, set_up_with};
use common::{T0, engine, policy, round_trip};
use mfa_core::{
    Engine, Error, FirstFactor, MAX_RECENT_PASSKEY_SIGN_INS, MethodType, PasskeyDiscovery,
    SeededRandom, SignedIn, UserRecord,
};
use serde_json::Value;

/// Flags of a synced passkey that verified the person: UP, UV, BE, BS.
const SYNCED_UV: u8 = 0x01 | 0x04 | 0x08 | 0x10;

fn discover(e: &Engine, now: u64) -> PasskeyDiscovery {
    static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut rng = SeededRandom::new(&n.to_le_bytes());
    e.begin_passkey_discovery(now, &mut rng).unwrap()
}

fn finish(
    e: &Engine,
    rec: &mut UserRecord,
    ceremony: &str,
    answer: &str,
    now: u64,
) -> Result<SignedIn, Error> {
    let mut rng = SeededRandom::new(b"passwordless finish");
    e.finish_passkey_discovery(rec, ceremony, answer, false, now, &mut rng, &mut Vec::new())
}

fn refusal(r: Result<SignedIn, Error>) -> &'static str {
    match r {
        Err(Error::Passkey { kind, .. }) => kind,
        Err(other) => panic!("not a passkey refusal: {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

/// A user who set up a synced passkey that verifies them; returns the
/// record, the key and the user handle it answers with.
fn user_with_passkey(e: &Engine, user: &str, seed: u8) -> (UserRecord, SoftKey, String) {
    let mut rng = SeededRandom::new(user.as_bytes());
    let mut key = SoftKey::p256(seed, "localhost", ORIGIN);
    key.flags = SYNCED_UV;
    let rec = set_up_with(e, user, &key, &mut rng);
    let handle = rec.passkey_handle().expect("a passkey user has a handle");
    let handle = handle.to_string();
    (rec, key, handle)
}

#[test]
fn a_passkey_signs_in_without_a_user_name_or_password() {
    let e = passkey_engine(passkey_policy());
    let (mut rec, key, handle) = user_with_passkey(&e, "alice@contoso.com", 1);

    let d = discover(&e, T0 + 60);
    let o: Value = serde_json::from_str(&d.options).unwrap();
    assert_eq!(o["rpId"], "localhost");
    assert_eq!(
        o["userVerification"], "required",
        "the key is the only factor"
    );
    assert!(
        o["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "any of the site's passkeys may answer: {o}"
    );
    assert!(d.expires_at > T0 + 60 && d.expires_at <= T0 + 360);

    // A synced key's counter stays at zero.
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    assert_eq!(e.passkey_user_handle(&answer).unwrap(), handle);
    let revision = rec.revision();
    let signed = finish(&e, &mut rec, &d.ceremony, &answer, T0 + 61).unwrap();
    assert!(
        rec.revision() > revision,
        "the answered ceremony is recorded"
    );
    let claims = e.verify_session(signed.session.expose(), T0 + 62).unwrap();
    assert_eq!(
        claims.amr,
        ["swk", "user", "mfa"],
        "no password, the key's amr"
    );
    assert_eq!(claims.sub, "alice@contoso.com");
    let caller = e.sign_in_caller(signed.session.expose(), T0 + 62).unwrap();
    assert_eq!(caller.first_factor, FirstFactor::Passkey);
    assert!(caller.mfa);
    assert_eq!(signed.verified.method_type(), Some(MethodType::Passkey));

    // The stored record still refuses the same answer after a round trip.
    let mut stored = round_trip(&rec);
    assert_eq!(
        refusal(finish(&e, &mut stored, &d.ceremony, &answer, T0 + 63)),
        "ceremony_used"
    );

    // A device-bound key (hwk) that verifies the person signs in the same way.
    let mut rng = SeededRandom::new(b"bound key");
    let bound = SoftKey::ed25519(9, "localhost", ORIGIN);
    let mut bob = set_up_with(&e, "bob@contoso.com", &bound, &mut rng);
    let bob_handle = bob.passkey_handle().unwrap().to_string();
    let d = discover(&e, T0 + 70);
    let mut bound = bound;
    let answer = bound.get(&d.options, Some(&bob_handle));
    let signed = finish(&e, &mut bob, &d.ceremony, &answer, T0 + 71).unwrap();
    let claims = e.verify_session(signed.session.expose(), T0 + 72).unwrap();
    assert_eq!(claims.amr, ["hwk", "user", "mfa"]);
}

#[test]
fn attacks_on_a_passwordless_sign_in_are_refused() {
    let e = passkey_engine(passkey_policy());
    let (mut rec, mut key, handle) = user_with_passkey(&e, "alice@contoso.com", 1);
    let (mut bob, _, _) = user_with_passkey(&e, "bob@contoso.com", 2);
    let t = T0 + 100;

    // Replay: the same answer twice (a synced key's counter cannot tell).
    let d = discover(&e, t);
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    finish(&e, &mut rec, &d.ceremony, &answer, t + 1).unwrap();
    assert_eq!(
        refusal(finish(&e, &mut rec, &d.ceremony, &answer, t + 2)),
        "ceremony_used"
    );

    // The answer to one ceremony presented with another one.
    let (d1, d2) = (discover(&e, t + 3), discover(&e, t + 3));
    let answer = key.get_with_count(&d1.options, 0, Some(&handle));
    assert_eq!(
        refusal(finish(&e, &mut rec, &d2.ceremony, &answer, t + 4)),
        "challenge_mismatch"
    );

    // A key that only saw a person, without verifying them.
    let d = discover(&e, t + 5);
    key.flags = 0x01 | 0x08 | 0x10;
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    assert_eq!(
        refusal(finish(&e, &mut rec, &d.ceremony, &answer, t + 6)),
        "user_not_verified"
    );
    key.flags = SYNCED_UV;

    // Alice's answer with Bob's record (a host that found the wrong user).
    let d = discover(&e, t + 7);
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    assert_eq!(
        refusal(finish(&e, &mut bob, &d.ceremony, &answer, t + 8)),
        "unknown_credential"
    );

    // An answer claiming Bob's handle with Alice's key, given Bob's record.
    let bob_handle = bob.passkey_handle().unwrap().to_string();
    let answer = key.get_with_count(&d.options, 0, Some(&bob_handle));
    assert_eq!(
        refusal(finish(&e, &mut bob, &d.ceremony, &answer, t + 8)),
        "unknown_credential"
    );

    // The page of another origin relaying the request.
    let mut relay = SoftKey::p256(1, "localhost", "http://localhost:9090");
    relay.flags = SYNCED_UV;
    let d = discover(&e, t + 9);
    let answer = relay.get_with_count(&d.options, 0, Some(&handle));
    assert_eq!(
        refusal(finish(&e, &mut rec, &d.ceremony, &answer, t + 10)),
        "origin_not_allowed"
    );

    // An answer without a user handle names nobody.
    let d = discover(&e, t + 11);
    let answer = key.get_with_count(&d.options, 0, None);
    match e.passkey_user_handle(&answer) {
        Err(Error::Passkey { kind, .. }) => assert_eq!(kind, "malformed_response"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        refusal(finish(&e, &mut rec, &d.ceremony, &answer, t + 12)),
        "malformed_response"
    );
    assert!(matches!(
        e.passkey_user_handle("{\"id\": 1}"),
        Err(Error::Passkey { .. })
    ));

    // A ceremony signed by another engine (other keys), or altered.
    let mut rng = SeededRandom::new(b"other engine keys");
    let other = Engine::new(e.policy().clone(), mfa_core::Keys::generate(&mut rng)).unwrap();
    let forged = other.begin_passkey_discovery(t + 13, &mut rng).unwrap();
    let answer = key.get_with_count(&forged.options, 0, Some(&handle));
    assert!(matches!(
        finish(&e, &mut rec, &forged.ceremony, &answer, t + 14),
        Err(Error::BadSignature | Error::MalformedToken { .. })
    ));
    let d = discover(&e, t + 15);
    let mut altered = d.ceremony.clone();
    altered.insert(altered.len() / 2, 'A');
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    assert!(finish(&e, &mut rec, &altered, &answer, t + 16).is_err());

    // A login or session token is not a ceremony, and a ceremony is no session.
    let (_, login_token) = login(&e, &rec, t + 17);
    assert!(matches!(
        finish(&e, &mut rec, &login_token, &answer, t + 17),
        Err(Error::WrongTokenKind)
    ));
    assert!(matches!(
        e.verify_session(&d.ceremony, t + 17),
        Err(Error::WrongTokenKind)
    ));
    assert!(e.sign_in_caller(&d.ceremony, t + 17).is_err());

    // An expired ceremony.
    let late = d.expires_at;
    assert_eq!(
        refusal(finish(&e, &mut rec, &d.ceremony, &answer, late)),
        "ceremony_expired"
    );

    // Anyone can send answers naming Alice: they are audited, but do not
    // lock her out of her passkey.
    let mut audit = Vec::new();
    let mut rng = SeededRandom::new(b"flood");
    for i in 0..20 {
        let bad = relay.get_with_count(&d.options, 0, Some(&handle));
        let r = e.finish_passkey_discovery(
            &mut rec,
            &d.ceremony,
            &bad,
            false,
            t + 17 + i / 10,
            &mut rng,
            &mut audit,
        );
        assert_eq!(refusal(r), "origin_not_allowed");
    }
    assert_eq!(
        audit
            .iter()
            .filter(|a| matches!(a.kind, mfa_core::AuditKind::VerificationFailed { .. }))
            .count(),
        20
    );

    // Still good after all of that: the real answer within its time.
    finish(&e, &mut rec, &d.ceremony, &answer, t + 18).unwrap();

    // A user the admin asked to register again must use the password.
    let d = discover(&e, t + 19);
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    e.require_reregistration(&mut rec, "admin", t + 19, &mut Vec::new());
    assert_eq!(
        refusal(finish(&e, &mut rec, &d.ceremony, &answer, t + 20)),
        "password_required"
    );
}

#[test]
fn a_flood_of_passwordless_sign_ins_is_capped_until_ceremonies_expire() {
    let e = passkey_engine(passkey_policy());
    let (mut rec, key, handle) = user_with_passkey(&e, "alice@contoso.com", 1);
    let t = T0 + 1_000;
    for i in 0..MAX_RECENT_PASSKEY_SIGN_INS as u64 {
        let d = discover(&e, t + i);
        let answer = key.get_with_count(&d.options, 0, Some(&handle));
        finish(&e, &mut rec, &d.ceremony, &answer, t + i).unwrap();
    }
    let d = discover(&e, t + 20);
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    match finish(&e, &mut rec, &d.ceremony, &answer, t + 20) {
        Err(Error::RetryLater { until }) => assert!(until > t + 20 && until <= t + 300),
        other => panic!("{other:?}"),
    }
    // Once the first ceremonies expired, a new sign-in goes through, and the
    // expired ones are dropped from the record.
    let later = t + 400;
    let d = discover(&e, later);
    let answer = key.get_with_count(&d.options, 0, Some(&handle));
    finish(&e, &mut rec, &d.ceremony, &answer, later).unwrap();
    let stored: Value = serde_json::from_str(&rec.to_json()).unwrap();
    assert_eq!(stored["used_ceremonies"].as_array().unwrap().len(), 1);
}

#[test]
fn passwordless_sign_in_needs_passkeys_allowed() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"no passkeys");
    assert!(matches!(
        e.begin_passkey_discovery(T0, &mut rng),
        Err(Error::MethodNotAllowed { method: "passkey" })
    ));
}
