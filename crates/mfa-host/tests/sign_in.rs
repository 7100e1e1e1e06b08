//! The sign-in flow through the component, as a platform team's own
//! wasmtime host drives it: the password, "Set it up now", a code, a
//! recovery code and a remembered device, each one `MfaHost` call; and the
//! login tokens an attacker would try, refused.

mod common;

use common::{NOW, User, host_with, test_policy};
use mfa_host::{self as host, FirstFactor, MfaHost, Proof, Record, SignInStarted, Standing};

fn secret_of(h: &MfaHost, uri: &str) -> Vec<u8> {
    h.parse_otpauth(uri).expect("uri").secret.expose().to_vec()
}

fn code(secret: &[u8], at: u64) -> String {
    mfa_core::totp_code(secret, &mfa_core::Totp::default(), at).expect("code")
}

fn login(h: &MfaHost, u: &mut User, device: Option<&str>, at: u64) -> SignInStarted {
    let out = h.start_sign_in(u.record(), FirstFactor::Password, device, at);
    u.keep(out).expect("start never refuses")
}

#[test]
fn every_step_of_a_sign_in_is_one_call() {
    let h = host_with(&test_policy(), b"sign-in");
    let mut u = User { stored: None };
    let out = h.set_mfa_state(u.record(), host::MfaState::Enabled, "admin", NOW);
    u.keep(out).unwrap();

    // Password accepted: "Set it up now", with a login token.
    let SignInStarted::Next { next, token, .. } = login(&h, &mut u, None, NOW) else {
        panic!("no device yet")
    };
    assert!(matches!(next, host::NextStep::Register(_)));
    let caller = h.sign_in_caller(token.expose(), NOW).unwrap();
    assert!(!caller.mfa);
    assert_eq!(caller.first_factor, FirstFactor::Password);
    let out = h.begin_authenticator(u.record(), None, NOW);
    let setup = u.keep(out).unwrap();
    let secret = secret_of(&h, setup.uri.expose());
    let calls = h.calls();
    let out = h.finish_registration(
        u.record(),
        Standing::Token(token.expose()),
        &code(&secret, NOW),
        true,
        NOW,
    );
    let registered = u.keep(out).unwrap();
    assert_eq!(
        h.calls() - calls,
        1,
        "confirm, sign-in and summary in one call"
    );
    let signed = registered.signed_in.expect("set-up signs in");
    let codes = registered.confirmed.recovery_codes.expect("first method");
    let claims = h.verify_session(signed.session.expose(), NOW).unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    let device = signed.device.expect("remembered").token;

    // The remembered device skips the second factor.
    let t = NOW + 3600;
    let SignInStarted::SignedIn(s) = login(&h, &mut u, Some(device.expose()), t) else {
        panic!("the device is remembered")
    };
    assert_eq!(
        h.verify_session(s.session.expose(), t).unwrap().amr,
        ["pwd", "mfa"]
    );

    // Without it: a code, then a recovery code.
    let SignInStarted::Next { token, .. } = login(&h, &mut u, None, t) else {
        panic!("no device presented")
    };
    let c = code(&secret, t);
    let proof = Proof::Code {
        method: None,
        code: &c,
    };
    let calls = h.calls();
    let out = h.finish_sign_in(u.record(), Standing::Token(token.expose()), proof, false, t);
    assert!(u.keep(out).is_ok());
    assert_eq!(h.calls() - calls, 1);
    let out = h.finish_sign_in(
        u.record(),
        Standing::Token(token.expose()),
        Proof::RecoveryCode(codes.codes[0].expose()),
        false,
        t + 1,
    );
    let signed = u.keep(out).unwrap();
    assert_eq!(signed.verified.recovery_codes_left, Some(9));
}

#[test]
fn forged_foreign_and_wrong_kind_tokens_are_refused_and_spend_nothing() {
    let h = host_with(&test_policy(), b"sign-in");
    let other = host_with(&test_policy(), b"another deployment");
    let mut u = User { stored: None };
    let out = h.set_mfa_state(u.record(), host::MfaState::Enabled, "admin", NOW);
    u.keep(out).unwrap();
    let out = h.begin_authenticator(u.record(), None, NOW);
    let setup = u.keep(out).unwrap();
    let secret = secret_of(&h, setup.uri.expose());
    let out = h.finish_registration(
        u.record(),
        Standing::External,
        &code(&secret, NOW),
        true,
        NOW,
    );
    let device = u
        .keep(out)
        .unwrap()
        .signed_in
        .unwrap()
        .device
        .unwrap()
        .token;

    let t = NOW + 600;
    let mut foreign = User { stored: None };
    let SignInStarted::Next { token: forged, .. } =
        login(&other, &mut User { stored: None }, None, t)
    else {
        panic!("a new user has no device")
    };
    let out = h.start_sign_in(
        Record::New {
            user_id: "mallory@example.com",
            now: t,
        },
        FirstFactor::Password,
        None,
        t,
    );
    let SignInStarted::Next {
        token: mallorys, ..
    } = foreign.keep(out).unwrap()
    else {
        panic!("a new user has no device")
    };
    let c = code(&secret, t);
    for (token, expected) in [
        (forged.expose(), "bad_signature"),
        (mallorys.expose(), "token_revoked"),
        (device.expose(), "wrong_token_kind"),
    ] {
        let before = u.stored.clone();
        let proof = Proof::Code {
            method: None,
            code: &c,
        };
        let out = h.finish_sign_in(u.record(), Standing::Token(token), proof, false, t);
        assert_eq!(u.keep(out).unwrap_err().code(), expected);
        assert_eq!(u.stored, before, "nothing spent, nothing counted");
    }
    assert_eq!(
        h.sign_in_caller(device.expose(), t)
            .unwrap_err()
            .engine()
            .map(|e| e.code()),
        Some("wrong_token_kind")
    );
}
