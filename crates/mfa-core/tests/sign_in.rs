//! The sign-in flow as a host drives it: the first factor, then one engine
//! call per user action (a code, a recovery code, "Set it up now"), and the
//! remembered device that skips the second factor. Each attack a host or a
//! caller could try on the flow is played here and refused.

mod common;

use common::{T0, engine, enrol_totp, policy, signed_in};
use mfa_core::{
    Engine, Error, FirstFactor, Keys, LOGIN_LIFETIME_SECS, NextStep, PhoneChannel, PhoneNumber,
    Policy, Proof, Registration, SeededRandom, SignInStep, Standing, TokenKind, UserRecord,
};

fn login(e: &Engine, rec: &UserRecord, first: FirstFactor, now: u64) -> (NextStep, String) {
    let mut rng = SeededRandom::new(b"login");
    match e.start_sign_in(rec, first, None, now, &mut rng, &mut Vec::new()) {
        SignInStep::Next(step) => (step.next, step.token.expose().to_string()),
        SignInStep::SignedIn(_) => panic!("no device token was presented"),
    }
}

#[test]
fn an_authenticator_code_signs_in_with_one_call() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"totp sign-in");
    let mut u = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let t = T0 + 600;
    let (next, token) = login(&e, &u.record, FirstFactor::Password, t);
    assert!(matches!(next, NextStep::Verify { .. }), "{next:?}");
    let caller = e.sign_in_caller(&token, t).unwrap();
    assert_eq!(caller.user_id, "alice@contoso.com");
    assert!(!caller.mfa);
    assert_eq!(caller.expires_at, t + LOGIN_LIFETIME_SECS);

    let code = u.code_at(t);
    let mut audit = Vec::new();
    let before = u.record.revision();
    let signed = e
        .finish_sign_in(
            &mut u.record,
            Standing::Token(&token),
            Proof::Code {
                method: None,
                code: &code,
            },
            true,
            t,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert_eq!(u.record.revision(), before + 1, "one change, one revision");
    let claims = e.verify_session(signed.session.expose(), t + 1).unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(signed.session_expires_at, claims.exp);
    let device = signed.device.expect("remembered");
    assert!(
        e.verify_device_token(&u.record, device.token.expose(), t + 1)
            .is_ok()
    );
    // The session is a standing of its own (mfa), the device token is not one.
    assert!(
        e.sign_in_caller(signed.session.expose(), t + 1)
            .unwrap()
            .mfa
    );
    assert_eq!(
        e.sign_in_caller(device.token.expose(), t + 1),
        Err(Error::WrongTokenKind)
    );
    // The same code again is a replay, even with a fresh login.
    let (_, again) = login(&e, &u.record, FirstFactor::Password, t + 5);
    let replay = e.finish_sign_in(
        &mut u.record,
        Standing::Token(&again),
        Proof::Code {
            method: None,
            code: &code,
        },
        false,
        t + 5,
        &mut rng,
        &mut audit,
    );
    assert_eq!(replay.unwrap_err(), Error::Replay);
}

#[test]
fn a_remembered_device_skips_the_second_factor_until_the_admin_restores_mfa() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"device sign-in");
    let (mut rec, signed) = signed_in(&e, "alice@contoso.com", T0, &mut rng);
    let device = signed.device.unwrap();
    let t = T0 + 86_400;
    let mut audit = Vec::new();
    let step = e.start_sign_in(
        &rec,
        FirstFactor::Password,
        Some(device.token.expose()),
        t,
        &mut rng,
        &mut audit,
    );
    let SignInStep::SignedIn(s) = step else {
        panic!("the remembered device signs in")
    };
    assert_eq!(
        e.verify_session(s.session.expose(), t).unwrap().amr,
        ["pwd", "mfa"]
    );
    assert!(
        s.device.is_none(),
        "a device sign-in does not remember again"
    );

    e.restore_remembered_devices(&mut rec, "admin", t, &mut audit);
    let step = e.start_sign_in(
        &rec,
        FirstFactor::Password,
        Some(device.token.expose()),
        t + 1,
        &mut rng,
        &mut audit,
    );
    assert!(
        matches!(
            step,
            SignInStep::Next(ref n) if matches!(n.next, NextStep::Verify { .. })
        ),
        "a stale device token asks for the second factor: {step:?}"
    );
    // A device token of another user, or a session token, is no device.
    let (bob, bob_signed) = signed_in(&e, "bob@contoso.com", T0, &mut rng);
    drop(bob);
    for foreign in [
        bob_signed.device.unwrap().token.expose().to_string(),
        s.session.expose().to_string(),
    ] {
        let step = e.start_sign_in(
            &rec,
            FirstFactor::Password,
            Some(&foreign),
            t + 2,
            &mut rng,
            &mut audit,
        );
        assert!(matches!(step, SignInStep::Next(_)), "{step:?}");
    }
}

#[test]
fn a_text_message_and_a_recovery_code_sign_in() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"phone sign-in");
    let (mut rec, first) = signed_in(&e, "alice@contoso.com", T0, &mut rng);
    let mut audit = Vec::new();
    let t = T0 + 60;
    let phone = PhoneNumber::parse("+1", "425 555 0100").unwrap();
    let Registration::CodeSent { delivery } = e
        .begin_phone(&mut rec, phone, PhoneChannel::Text, t, &mut rng, &mut audit)
        .unwrap()
    else {
        panic!("a phone registration sends a code")
    };
    // Adding a method with a session: no new session is issued.
    let standing_session = first.session.expose().to_string();
    let registered = e
        .finish_registration(
            &mut rec,
            Standing::Token(&standing_session),
            delivery.code.expose(),
            false,
            t,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert!(registered.signed_in.is_none());
    let phone_id = registered.confirmed.method_id;
    let recovery = registered.confirmed.recovery_codes;
    assert!(
        recovery.is_none(),
        "recovery codes came with the first method"
    );

    let t = t + 600;
    let sent = e
        .send_code(&mut rec, Some(phone_id), t, &mut rng, &mut audit)
        .unwrap();
    let (_, token) = login(&e, &rec, FirstFactor::External, t);
    let signed = e
        .finish_sign_in(
            &mut rec,
            Standing::Token(&token),
            Proof::Code {
                method: Some(phone_id),
                code: sent.code.expose(),
            },
            false,
            t,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert_eq!(
        e.verify_session(signed.session.expose(), t).unwrap().amr,
        ["ext", "sms", "mfa"]
    );

    let codes = e
        .regenerate_recovery_codes(&mut rec, t, &mut rng, &mut audit)
        .unwrap();
    let signed = e
        .finish_sign_in(
            &mut rec,
            Standing::External,
            Proof::RecoveryCode(codes.codes[0].expose()),
            false,
            t + 1,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert_eq!(signed.verified.recovery_codes_left(), Some(9));
    assert_eq!(
        e.verify_session(signed.session.expose(), t + 1)
            .unwrap()
            .amr,
        ["ext", "otp", "mfa"]
    );
}

#[test]
fn set_it_up_now_finishes_the_sign_in() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"set up");
    let (rec, signed) = signed_in(&e, "alice@contoso.com", T0, &mut rng);
    assert_eq!(rec.methods().len(), 1);
    let claims = e.verify_session(signed.session.expose(), T0).unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.token_use, TokenKind::Session);
    assert!(signed.verified.matched().is_some());
}

#[test]
fn stolen_stale_forged_and_foreign_login_tokens_are_refused() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"attacks");
    let mut u = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let bob = UserRecord::new("bob@contoso.com", T0);
    let t = T0 + 600;
    let code = u.code_at(t);
    let proof = Proof::Code {
        method: None,
        code: &code,
    };
    let mut audit = Vec::new();

    let mut other_rng = SeededRandom::new(b"other keys");
    let other = Engine::new(Policy::default(), Keys::generate(&mut other_rng)).unwrap();
    let (_, forged) = login(&other, &u.record, FirstFactor::Password, t);
    let (_, stale) = login(
        &e,
        &u.record,
        FirstFactor::Password,
        t - LOGIN_LIFETIME_SECS,
    );
    let (_, bobs) = login(&e, &bob, FirstFactor::Password, t);
    let cases = [
        (forged.as_str(), Error::BadSignature),
        (stale.as_str(), Error::TokenExpired),
        (bobs.as_str(), Error::TokenRevoked),
        ("not-a-token", Error::MalformedToken { reason: "" }),
    ];
    for (token, expected) in cases {
        let before = u.record.clone();
        let err = e
            .finish_sign_in(
                &mut u.record,
                Standing::Token(token),
                proof,
                false,
                t,
                &mut rng,
                &mut audit,
            )
            .unwrap_err();
        assert_eq!(
            std::mem::discriminant(&err),
            std::mem::discriminant(&expected),
            "{err:?}"
        );
        assert_eq!(u.record, before, "a refused standing spends nothing");
    }
    // The right token still works with the same code: nothing was consumed.
    let (_, good) = login(&e, &u.record, FirstFactor::Password, t);
    assert!(
        e.finish_sign_in(
            &mut u.record,
            Standing::Token(&good),
            proof,
            false,
            t,
            &mut rng,
            &mut audit
        )
        .is_ok()
    );
}

#[test]
fn a_password_alone_cannot_add_a_method_to_skip_the_second_factor() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"bypass");
    let mut u = enrol_totp(&e, "alice@contoso.com", T0, &mut rng);
    let t = T0 + 600;
    let mut audit = Vec::new();
    // An attacker who knows the password registers their own authenticator.
    let Registration::Authenticator { uri, .. } = e
        .begin_authenticator(&mut u.record, None, t, &mut rng, &mut audit)
        .unwrap()
    else {
        panic!("authenticator registration")
    };
    let code = mfa_core::totp_code(&common::secret_of(uri.expose()), &e.policy().totp, t).unwrap();
    let (_, token) = login(&e, &u.record, FirstFactor::Password, t);
    assert_eq!(e.check_may_register(&u.record, t), Err(Error::MfaRequired));
    let err = e
        .finish_registration(
            &mut u.record,
            Standing::Token(&token),
            &code,
            false,
            t,
            &mut rng,
            &mut audit,
        )
        .unwrap_err();
    assert_eq!(err, Error::MfaRequired);
    assert_eq!(u.record.methods().len(), 1, "no method was added");

    // After the admin requires re-registration, the same step is allowed.
    e.require_reregistration(&mut u.record, "admin", t, &mut audit);
    assert!(e.check_may_register(&u.record, t).is_ok());
}

#[test]
fn debug_output_never_shows_codes_or_tokens() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"debug");
    let (rec, signed) = signed_in(&e, "alice@contoso.com", T0, &mut rng);
    let (_, login_token) = login(&e, &rec, FirstFactor::Password, T0);
    let shown = format!(
        "{:?} {:?} {:?} {:?} {signed:?}",
        Standing::Token(&login_token),
        Proof::Code {
            method: None,
            code: "492039"
        },
        Proof::RecoveryCode("abcd-efgh-jkmn"),
        e.start_sign_in(
            &rec,
            FirstFactor::Password,
            None,
            T0,
            &mut rng,
            &mut Vec::new()
        ),
    );
    for secret in [
        login_token.as_str(),
        "492039",
        "abcd-efgh-jkmn",
        signed.session.expose(),
        signed.device.as_ref().unwrap().token.expose(),
    ] {
        assert!(!shown.contains(secret), "a secret is in Debug output");
    }
}

/// A user who registered a text message only; the admin then allows only the
/// authenticator app and e-mail. Returns the engine of the new policy (same
/// keys), the record and the text method's id.
fn text_user_after_text_is_disallowed(
    user: &str,
    rng: &mut SeededRandom,
) -> (Engine, UserRecord, u32) {
    let before = engine(policy().build().unwrap());
    let mut audit = Vec::new();
    let mut rec = UserRecord::new(user, T0);
    before.set_mfa_state(
        &mut rec,
        mfa_core::MfaState::Enabled,
        "admin",
        T0,
        &mut audit,
    );
    let number = PhoneNumber::parse("+44", "07700 900123").unwrap();
    let Registration::CodeSent { delivery } = before
        .begin_phone(&mut rec, number, PhoneChannel::Text, T0, rng, &mut audit)
        .unwrap()
    else {
        panic!("a text registration sends a code")
    };
    let id = before
        .confirm_registration(&mut rec, delivery.code.expose(), T0 + 5, rng, &mut audit)
        .unwrap()
        .method_id;
    let after = engine(
        policy()
            .allowed_methods(vec![
                mfa_core::MethodType::AuthenticatorApp,
                mfa_core::MethodType::Email,
            ])
            .build()
            .unwrap(),
    );
    (after, rec, id)
}

/// Security review item 3 (reproduced over the API before): once a user's
/// only methods are disallowed, the password alone used to get "register" and
/// a full session by registering an authenticator. Now the sign-in says
/// `replace`: the password alone may not register; a proof with the old
/// method (or a recovery code) may, and then the new method is added.
#[test]
fn the_password_alone_cannot_replace_methods_the_admin_disallowed() {
    let mut rng = SeededRandom::new(b"item 3");
    let (e, mut rec, text) = text_user_after_text_is_disallowed("alice@contoso.com", &mut rng);
    let t = T0 + 600;
    let mut audit = Vec::new();
    let (next, token) = login(&e, &rec, FirstFactor::Password, t);
    let NextStep::Replace {
        allowed,
        methods,
        recovery_codes,
        one_time_pass,
    } = &next
    else {
        panic!("expected replace, got {next:?}")
    };
    assert_eq!(methods, &[text]);
    assert!(*recovery_codes && !*one_time_pass);
    assert!(!allowed.contains(&mfa_core::MethodType::Text));
    // The attack: register an authenticator with the password alone.
    assert_eq!(e.check_may_register(&rec, t), Err(Error::MfaRequired));
    let Registration::Authenticator { uri, .. } = e
        .begin_authenticator(&mut rec, None, t, &mut rng, &mut audit)
        .unwrap()
    else {
        panic!("authenticator registration")
    };
    let secret = common::secret_of(uri.expose());
    let code = mfa_core::totp_code(&secret, &e.policy().totp, t).unwrap();
    let err = e
        .finish_registration(
            &mut rec,
            Standing::Token(&token),
            &code,
            false,
            t,
            &mut rng,
            &mut audit,
        )
        .unwrap_err();
    assert_eq!(err, Error::MfaRequired);
    assert_eq!(rec.methods().len(), 1, "no method was added");

    // The user proves it is them with the old text message, then replaces it.
    let sent = e
        .send_code(&mut rec, Some(text), t, &mut rng, &mut audit)
        .unwrap();
    let signed = e
        .finish_sign_in(
            &mut rec,
            Standing::Token(&token),
            Proof::Code {
                method: Some(text),
                code: sent.code.expose(),
            },
            false,
            t + 10,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert_eq!(signed.verified.amr(), ["sms"]);
    let code = mfa_core::totp_code(&secret, &e.policy().totp, t + 60).unwrap();
    let done = e
        .finish_registration(
            &mut rec,
            Standing::Token(signed.session.expose()),
            &code,
            false,
            t + 60,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert!(done.signed_in.is_none(), "already signed in");
    assert!(matches!(
        e.enrollment_check(&rec, t + 60),
        NextStep::Verify { .. }
    ));
}

/// Item 3: the admin's one-time pass (Entra's Temporary Access Pass) signs the
/// user in once, within its lifetime; a wrong pass counts as a failure; the
/// pass is never shown in `Debug` output or stored in the record.
#[test]
fn a_one_time_pass_works_once_within_its_lifetime() {
    let mut rng = SeededRandom::new(b"one-time pass");
    let (e, mut rec, _) = text_user_after_text_is_disallowed("bob@contoso.com", &mut rng);
    let mut audit = Vec::new();
    let t = T0 + 600;
    assert!(matches!(
        e.issue_one_time_pass(&mut rec, "admin@contoso.com", 60, t, &mut rng, &mut audit),
        Err(Error::InvalidInput {
            field: "lifetime_secs",
            ..
        })
    ));
    let pass = e
        .issue_one_time_pass(&mut rec, "admin@contoso.com", 3600, t, &mut rng, &mut audit)
        .unwrap();
    let typed = pass.pass.expose().to_string();
    assert_eq!(typed.len(), 19);
    assert!(!format!("{pass:?}").contains(&typed));
    assert!(!rec.to_json().contains(&typed.replace('-', "")));
    assert_eq!(rec.one_time_pass_until(t), Some(t + 3600));
    let (next, token) = login(&e, &rec, FirstFactor::Password, t);
    assert!(
        matches!(
            next,
            NextStep::Replace {
                one_time_pass: true,
                ..
            }
        ),
        "{next:?}"
    );

    let wrong = "abcd-efgh-jkmn-pqrs";
    let err = e
        .finish_sign_in(
            &mut rec,
            Standing::Token(&token),
            Proof::OneTimePass(wrong),
            false,
            t,
            &mut rng,
            &mut audit,
        )
        .unwrap_err();
    assert_eq!(err, Error::InvalidOneTimePass);
    assert_eq!(rec.consecutive_failures(mfa_core::Factor::Recovery), 1);
    // Typed in capitals, without dashes: still the pass.
    let signed = e
        .finish_sign_in(
            &mut rec,
            Standing::Token(&token),
            Proof::OneTimePass(&typed.replace('-', " ").to_uppercase()),
            false,
            t + 1,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    assert_eq!(signed.verified.amr(), ["otp"]);
    assert!(
        audit
            .iter()
            .any(|a| a.kind == mfa_core::AuditKind::OneTimePassUsed)
    );
    // Used once: it no longer works, and the sign-in no longer offers it.
    let again = e.finish_sign_in(
        &mut rec,
        Standing::Token(&token),
        Proof::OneTimePass(&typed),
        false,
        t + 2,
        &mut rng,
        &mut audit,
    );
    assert_eq!(again.unwrap_err(), Error::InvalidOneTimePass);
    assert_eq!(rec.one_time_pass_until(t + 2), None);

    // An unused pass stops working when its lifetime ends.
    let pass = e
        .issue_one_time_pass(
            &mut rec,
            "admin@contoso.com",
            600,
            t + 100,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    let (_, late_token) = login(&e, &rec, FirstFactor::Password, t + 700);
    let late = e.finish_sign_in(
        &mut rec,
        Standing::Token(&late_token),
        Proof::OneTimePass(pass.pass.expose()),
        false,
        t + 700,
        &mut rng,
        &mut audit,
    );
    assert_eq!(late.unwrap_err(), Error::InvalidOneTimePass);
}
