//! Passkeys as a sign-in method, through the engine's flow: "Set it up now"
//! with a passkey signs the user in, a passkey is the second factor of later
//! sign-ins, and the session says a key was used (RFC 8176 `hwk`/`swk`). Each
//! attack is played and refused: a replayed answer, a page of another site,
//! a copied key's sign count, another user's login, a code typed for a
//! passkey, a key model not on the organisation's list, one key registered
//! twice, more keys than the policy allows.
#![cfg(feature = "webauthn")]

mod common;

use common::authenticator::SoftKey;
use common::passkey_users::{ORIGIN, login, passkey_engine, passkey_policy, set_up_with};
use common::{T0, engine, enrol_totp, policy, round_trip};
use mfa_core::{
    AuditKind, Engine, Error, MethodKind, MethodType, MfaState, NextStep, PasskeyPolicy, Policy,
    Proof, SeededRandom, Standing, UserRecord,
};
use serde_json::Value;

/// Start a passkey sign-in; each start draws a new challenge.
fn begin(e: &Engine, rec: &mut UserRecord, token: &str, now: u64) -> String {
    static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut rng = SeededRandom::new(&n.to_le_bytes());
    e.begin_passkey_sign_in(rec, Standing::Token(token), now, &mut rng, &mut Vec::new())
        .unwrap()
        .options
}

fn finish(
    e: &Engine,
    rec: &mut UserRecord,
    token: &str,
    answer: &str,
    now: u64,
    audit: &mut Vec<mfa_core::AuditEvent>,
) -> Result<mfa_core::SignedIn, Error> {
    let mut rng = SeededRandom::new(b"passkey finish");
    e.finish_sign_in(
        rec,
        Standing::Token(token),
        Proof::Passkey(answer),
        false,
        now,
        &mut rng,
        audit,
    )
}

fn refusal(r: Result<mfa_core::SignedIn, Error>) -> &'static str {
    match r {
        Err(Error::Passkey { kind, .. }) => kind,
        Err(other) => panic!("not a passkey refusal: {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn set_it_up_now_with_a_passkey_then_sign_in_with_it() {
    let e = passkey_engine(passkey_policy());
    let mut rng = SeededRandom::new(b"passkey set-up");
    let mut rec = UserRecord::new("alice@contoso.com", T0);
    let mut audit = Vec::new();
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
    let (_, token) = login(&e, &rec, T0);

    let options = e.begin_passkey(&mut rec, T0, &mut rng, &mut audit).unwrap();
    let o: Value = serde_json::from_str(&options.options).unwrap();
    assert_eq!(
        o["rp"],
        serde_json::json!({"id": "localhost", "name": "Contoso"})
    );
    assert_eq!(o["user"]["name"], "alice@contoso.com");
    assert_ne!(o["user"]["id"], "alice@contoso.com", "the handle is random");
    assert_eq!(o["excludeCredentials"], serde_json::json!([]));
    assert_eq!(o["authenticatorSelection"]["userVerification"], "preferred");
    assert!(options.expires_at > T0 && options.expires_at <= T0 + 300);

    let key = SoftKey::p256(1, "localhost", ORIGIN);
    let done = e
        .finish_passkey_registration(
            &mut rec,
            Standing::Token(&token),
            &key.create(&options.options),
            "  YubiKey 5  ",
            true,
            T0,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert!(
        done.confirmed.recovery_codes.is_some(),
        "the first method hands out codes"
    );
    let signed = done
        .signed_in
        .expect("set-up is the sign-in's second factor");
    let claims = e.verify_session(signed.session.expose(), T0 + 1).unwrap();
    assert_eq!(
        claims.amr,
        ["pwd", "hwk", "user", "mfa"],
        "a device-bound key that verified the user"
    );
    assert!(signed.device.is_some(), "don't ask again on this device");
    assert_eq!(rec.state(), MfaState::Enforced);
    let methods = rec.methods();
    assert_eq!(methods.len(), 1);
    match &methods[0].kind {
        MethodKind::Passkey {
            name,
            aaguid,
            backup_eligible,
            ..
        } => {
            assert_eq!(name, "YubiKey 5");
            assert_eq!(aaguid, &"aa".repeat(16));
            assert!(!backup_eligible);
        }
        other => panic!("{other:?}"),
    }
    assert!(methods[0].is_default);
    let mut rec = round_trip(&rec);

    // The next sign-in: the passkey is the second factor.
    let mut key = key;
    let t = T0 + 600;
    let (next, token) = login(&e, &rec, t);
    assert!(matches!(next, NextStep::Verify { .. }), "{next:?}");
    let options = begin(&e, &mut rec, &token, t);
    let o: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(o["rpId"], "localhost");
    assert_eq!(
        o["allowCredentials"][0]["id"],
        common::authenticator::b64url(&key.id)
    );
    let mut audit = Vec::new();
    let signed = finish(
        &e,
        &mut rec,
        &token,
        &key.get(&options, None),
        t,
        &mut audit,
    )
    .unwrap();
    let claims = e.verify_session(signed.session.expose(), t + 1).unwrap();
    assert_eq!(claims.amr, ["pwd", "hwk", "user", "mfa"]);
    assert_eq!(signed.verified.method_type(), Some(MethodType::Passkey));
    assert!(
        audit
            .iter()
            .any(|a| matches!(a.kind, AuditKind::VerificationSucceeded { .. }))
    );
    assert_eq!(rec.methods()[0].last_used_at, Some(t));
    let rec = round_trip(&rec);
    assert!(
        !format!("{rec:?}").contains(o["challenge"].as_str().unwrap()),
        "Debug of the record shows no challenge"
    );
}

#[test]
fn a_synced_passkey_that_verified_the_user_is_swk_and_user() {
    let e = passkey_engine(PasskeyPolicy {
        require_user_verification: true,
        ..passkey_policy()
    });
    let mut rng = SeededRandom::new(b"synced");
    let mut key = SoftKey::p256(2, "localhost", ORIGIN);
    key.flags = 0x01 | 0x04 | 0x08 | 0x10;
    let mut rec = set_up_with(&e, "bo@contoso.com", &key, &mut rng);
    let (_, token) = login(&e, &rec, T0 + 60);
    let options = begin(&e, &mut rec, &token, T0 + 60);
    let signed = finish(
        &e,
        &mut rec,
        &token,
        &key.get(&options, None),
        T0 + 60,
        &mut Vec::new(),
    )
    .unwrap();
    let claims = e.verify_session(signed.session.expose(), T0 + 61).unwrap();
    assert_eq!(claims.amr, ["pwd", "swk", "user", "mfa"]);

    // Under `require_user_verification` a key that did not verify is refused.
    key.flags = 0x01 | 0x08 | 0x10;
    let options = begin(&e, &mut rec, &token, T0 + 70);
    let r = finish(
        &e,
        &mut rec,
        &token,
        &key.get(&options, None),
        T0 + 70,
        &mut Vec::new(),
    );
    assert_eq!(refusal(r), "user_not_verified");
}

#[test]
fn attacks_on_a_passkey_sign_in_are_refused() {
    let e = passkey_engine(passkey_policy());
    let mut rng = SeededRandom::new(b"attacks");
    let mut key = SoftKey::p256(3, "localhost", ORIGIN);
    let mut rec = set_up_with(&e, "cy@contoso.com", &key, &mut rng);
    let mut t = T0 + 60;
    let (_, token) = login(&e, &rec, t);

    // A replayed answer: the ceremony was used up by its first answer.
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    let answer = key.get(&options, None);
    finish(&e, &mut rec, &token, &answer, t, &mut Vec::new()).unwrap();
    assert_eq!(
        refusal(finish(&e, &mut rec, &token, &answer, t, &mut Vec::new())),
        "ceremony_expired"
    );
    // The old answer against a new ceremony: another challenge.
    t += 30;
    let _ = begin(&e, &mut rec, &token, t);
    assert_eq!(
        refusal(finish(&e, &mut rec, &token, &answer, t, &mut Vec::new())),
        "challenge_mismatch"
    );
    // A phishing page relays the challenge: its own origin is in the signed data.
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    let mut phished = SoftKey::p256(3, "localhost", "http://localhost:9090");
    phished.counter = key.counter;
    assert_eq!(
        refusal(finish(
            &e,
            &mut rec,
            &token,
            &phished.get(&options, None),
            t,
            &mut Vec::new()
        )),
        "origin_not_allowed"
    );
    // Another key (not registered) and a forged signature.
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    let mut stranger = SoftKey::p256(4, "localhost", ORIGIN);
    assert_eq!(
        refusal(finish(
            &e,
            &mut rec,
            &token,
            &stranger.get(&options, None),
            t,
            &mut Vec::new()
        )),
        "unknown_credential"
    );
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    stranger.id = key.id.clone();
    assert_eq!(
        refusal(finish(
            &e,
            &mut rec,
            &token,
            &stranger.get(&options, None),
            t,
            &mut Vec::new()
        )),
        "bad_signature"
    );
    // A copied key: its sign count does not go up.
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    let cloned = key.get_with_count(&options, key.counter, None);
    assert_eq!(
        refusal(finish(&e, &mut rec, &token, &cloned, t, &mut Vec::new())),
        "sign_count_regressed"
    );
    // The same answer with the other user's login token.
    let other = {
        let mut r = UserRecord::new("dee@contoso.com", T0);
        e.set_mfa_state(&mut r, MfaState::Enabled, "admin", T0, &mut Vec::new());
        r
    };
    let (_, other_token) = login(&e, &other, t);
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    let r = finish(
        &e,
        &mut rec,
        &other_token,
        &key.get(&options, None),
        t,
        &mut Vec::new(),
    );
    assert_eq!(r.unwrap_err(), Error::TokenRevoked);
    assert!(
        e.begin_passkey_sign_in(
            &mut rec,
            Standing::Token(&other_token),
            t,
            &mut rng,
            &mut Vec::new()
        )
        .is_err()
    );
    // Garbage is a typed refusal, never a panic.
    t += 30;
    let _ = begin(&e, &mut rec, &token, t);
    assert_eq!(
        refusal(finish(
            &e,
            &mut rec,
            &token,
            "{not json",
            t,
            &mut Vec::new()
        )),
        "malformed_response"
    );
    // A code typed for the passkey method.
    let id = rec.methods()[0].id;
    let r = e.finish_sign_in(
        &mut rec,
        Standing::Token(&token),
        Proof::Code {
            method: Some(id),
            code: "123456",
        },
        false,
        t,
        &mut rng,
        &mut Vec::new(),
    );
    assert!(
        matches!(
            r,
            Err(Error::InvalidInput {
                field: "method",
                ..
            })
        ),
        "{r:?}"
    );
    // A flood is throttled: right after a failure, nothing starts (the back-off).
    let r = e.begin_passkey_sign_in(
        &mut rec,
        Standing::Token(&token),
        t,
        &mut rng,
        &mut Vec::new(),
    );
    assert!(matches!(r, Err(Error::RetryLater { .. })), "{r:?}");
    t += 60;
    // Still signs in with the real key afterwards.
    t += 30;
    let options = begin(&e, &mut rec, &token, t);
    finish(
        &e,
        &mut rec,
        &token,
        &key.get(&options, None),
        t,
        &mut Vec::new(),
    )
    .unwrap();
}

#[test]
fn a_copied_key_is_audited_when_the_policy_accepts_it() {
    let e = passkey_engine(PasskeyPolicy {
        accept_sign_count_regression: true,
        ..passkey_policy()
    });
    let mut rng = SeededRandom::new(b"audit clone");
    let mut key = SoftKey::p256(5, "localhost", ORIGIN);
    let mut rec = set_up_with(&e, "eve@contoso.com", &key, &mut rng);
    let (_, token) = login(&e, &rec, T0 + 60);
    let options = begin(&e, &mut rec, &token, T0 + 60);
    finish(
        &e,
        &mut rec,
        &token,
        &key.get(&options, None),
        T0 + 60,
        &mut Vec::new(),
    )
    .unwrap();
    let options = begin(&e, &mut rec, &token, T0 + 61);
    let mut audit = Vec::new();
    let cloned = key.get_with_count(&options, 1, None);
    finish(&e, &mut rec, &token, &cloned, T0 + 61, &mut audit).unwrap();
    assert!(
        audit
            .iter()
            .any(|a| matches!(a.kind, AuditKind::PasskeySignCountRegressed { .. })),
        "{audit:?}"
    );
}

#[test]
fn registration_rules_a_second_key_the_cap_the_models_and_the_policy() {
    let e = passkey_engine(PasskeyPolicy {
        max_per_user: 2,
        ..passkey_policy()
    });
    let mut rng = SeededRandom::new(b"registration rules");
    let mut first = SoftKey::p256(6, "localhost", ORIGIN);
    let mut rec = set_up_with(&e, "fay@contoso.com", &first, &mut rng);
    let (_, login_token) = login(&e, &rec, T0 + 10);
    let mut audit = Vec::new();
    let session = finish_with(&e, &mut rec, &login_token, &mut first, T0 + 10);

    // The same key again: excluded in the options, refused if answered anyway.
    let options = e
        .begin_passkey(&mut rec, T0 + 20, &mut rng, &mut audit)
        .unwrap();
    let o: Value = serde_json::from_str(&options.options).unwrap();
    assert_eq!(
        o["excludeCredentials"][0]["id"],
        common::authenticator::b64url(&first.id)
    );
    let r = e.finish_passkey_registration(
        &mut rec,
        Standing::Token(&session),
        &first.create(&options.options),
        "again",
        false,
        T0 + 20,
        &mut rng,
        &mut audit,
    );
    assert!(
        matches!(
            r,
            Err(Error::Passkey {
                kind: "credential_already_registered",
                ..
            })
        ),
        "{r:?}"
    );
    // A second key, named by default; then the cap.
    let options = e
        .begin_passkey(&mut rec, T0 + 30, &mut rng, &mut audit)
        .unwrap();
    let second = SoftKey::p256(7, "localhost", ORIGIN);
    let done = e
        .finish_passkey_registration(
            &mut rec,
            Standing::Token(&session),
            &second.create(&options.options),
            "",
            false,
            T0 + 30,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert!(done.signed_in.is_none() && done.confirmed.recovery_codes.is_none());
    let added = rec
        .methods()
        .into_iter()
        .find(|m| m.id == done.confirmed.method_id)
        .unwrap();
    match &added.kind {
        MethodKind::Passkey { name, .. } => assert_eq!(name, "Passkey 2"),
        other => panic!("{other:?}"),
    }
    let r = e.begin_passkey(&mut rec, T0 + 40, &mut rng, &mut audit);
    assert!(
        matches!(
            r,
            Err(Error::InvalidInput {
                field: "passkey",
                ..
            })
        ),
        "{r:?}"
    );
    // A name too long, and a name with control characters.
    let e2 = passkey_engine(passkey_policy());
    let options = e2
        .begin_passkey(&mut rec, T0 + 50, &mut rng, &mut audit)
        .unwrap();
    let third = SoftKey::p256(8, "localhost", ORIGIN);
    for bad in ["x".repeat(65), "a\u{7}b".to_string()] {
        let r = e2.finish_passkey_registration(
            &mut rec,
            Standing::Token(&session),
            &third.create(&options.options),
            &bad,
            false,
            T0 + 50,
            &mut rng,
            &mut audit,
        );
        assert!(
            matches!(r, Err(Error::InvalidInput { field: "name", .. })),
            "{r:?}"
        );
    }
    // A password-only caller may not add a passkey once set up.
    let options = e2
        .begin_passkey(&mut rec, T0 + 60, &mut rng, &mut audit)
        .unwrap();
    let password_only = login(&e2, &rec, T0 + 60).1;
    let r = e2.finish_passkey_registration(
        &mut rec,
        Standing::Token(&password_only),
        &third.create(&options.options),
        "",
        false,
        T0 + 60,
        &mut rng,
        &mut audit,
    );
    assert_eq!(r.unwrap_err(), Error::MfaRequired);

    // Only the listed models: the soft key's AAGUID (aa…aa) is not on it.
    let only = passkey_engine(PasskeyPolicy {
        allowed_aaguids: vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".into()],
        ..passkey_policy()
    });
    let options = only
        .begin_passkey(&mut rec, T0 + 70, &mut rng, &mut audit)
        .unwrap();
    let r = only.finish_passkey_registration(
        &mut rec,
        Standing::Token(&session),
        &third.create(&options.options),
        "",
        false,
        T0 + 70,
        &mut rng,
        &mut audit,
    );
    assert!(
        matches!(
            r,
            Err(Error::Passkey {
                kind: "authenticator_not_allowed",
                ..
            })
        ),
        "{r:?}"
    );

    // Passkeys not allowed by the policy: nothing starts.
    let off = engine(policy().build().unwrap());
    let r = off.begin_passkey(&mut rec, T0 + 80, &mut rng, &mut audit);
    assert_eq!(
        r.unwrap_err(),
        Error::MethodNotAllowed { method: "passkey" }
    );
}

fn finish_with(
    e: &Engine,
    rec: &mut UserRecord,
    token: &str,
    key: &mut SoftKey,
    now: u64,
) -> String {
    let options = begin(e, rec, token, now);
    let signed = finish(
        e,
        rec,
        token,
        &key.get(&options, None),
        now,
        &mut Vec::new(),
    )
    .unwrap();
    signed.session.expose().to_string()
}

#[test]
fn passkey_settings_are_checked() {
    let bad = |p: PasskeyPolicy| {
        Policy::builder()
            .allowed_methods(MethodType::ALL.to_vec())
            .passkeys(p)
            .build()
            .unwrap_err()
            .to_string()
    };
    assert!(bad(PasskeyPolicy::default()).contains("passkeys need the site"));
    assert!(
        bad(PasskeyPolicy {
            origins: vec!["https://evil.example".into()],
            ..passkey_policy()
        })
        .contains("not on the relying party id")
    );
    assert!(
        bad(PasskeyPolicy {
            allowed_aaguids: vec!["not-hex".into()],
            ..passkey_policy()
        })
        .contains("is not an AAGUID")
    );
    assert!(
        bad(PasskeyPolicy {
            max_per_user: 0,
            ..passkey_policy()
        })
        .contains("max_per_user must be 1 to 10")
    );
    // Passkeys not allowed: the site may be left unset.
    assert!(Policy::builder().build().is_ok());
    assert!(!Policy::default().allows(MethodType::Passkey));
    // The TOTP users of a site that turns passkeys on are unaffected.
    let e = passkey_engine(passkey_policy());
    let mut rng = SeededRandom::new(b"totp beside");
    let u = enrol_totp(&e, "gus@contoso.com", T0, &mut rng);
    assert_eq!(u.record.methods().len(), 1);
}

#[test]
fn an_rs256_key_registers_and_signs_in() {
    let e = passkey_engine(passkey_policy());
    let mut rng = SeededRandom::new(b"rs256");
    let mut key = SoftKey::rs256("localhost", ORIGIN);
    let mut rec = set_up_with(&e, "rsa@contoso.com", &key, &mut rng);
    let (_, token) = login(&e, &rec, T0 + 60);
    let options = begin(&e, &mut rec, &token, T0 + 60);
    let answer = key.get(&options, None);
    let signed = finish(&e, &mut rec, &token, &answer, T0 + 60, &mut Vec::new()).unwrap();
    assert_eq!(signed.verified.amr(), ["hwk", "user"]);
    // A flipped bit of the RSA signature is refused.
    let options = begin(&e, &mut rec, &token, T0 + 70);
    let mut forged: Value = serde_json::from_str(&key.get(&options, None)).unwrap();
    let sig = forged["response"]["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if sig.ends_with('A') { 'B' } else { 'A' };
    forged["response"]["signature"] = Value::from(format!("{}{flipped}", &sig[..sig.len() - 1]));
    let r = finish(
        &e,
        &mut rec,
        &token,
        &forged.to_string(),
        T0 + 70,
        &mut Vec::new(),
    );
    assert_eq!(refusal(r), "bad_signature");
}
