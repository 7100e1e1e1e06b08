//! Security item 2: sessions end when they must, and sensitive changes need a
//! recent second factor. Each test plays the attack of a stolen session
//! token and shows it fails.

mod common;

use common::{T0, engine, policy, secret_of, signed_in};
use mfa_core::{
    Action, Engine, Error, FirstFactor, MfaState, Proof, Registration, RevocationCheck,
    Revocations, SeededRandom, SignInStep, SignedIn, Standing, TokenKind, UserRecord, totp_code,
};

const USER: &str = "alice@example.com";

/// "Set it up now" with an authenticator app on `rec` at `now`: the
/// record, the sign-in and the app's secret.
fn set_up(
    e: &Engine,
    rng: &mut SeededRandom,
    mut rec: UserRecord,
    now: u64,
) -> (UserRecord, SignedIn, Vec<u8>) {
    let mut audit = Vec::new();
    let SignInStep::Next(login) =
        e.start_sign_in(&rec, FirstFactor::Password, None, now, rng, &mut audit)
    else {
        panic!("a user without methods must set one up")
    };
    let Registration::Authenticator { uri, .. } = e
        .begin_authenticator(&mut rec, None, now, rng, &mut audit)
        .expect("authenticator apps are allowed")
    else {
        panic!("an authenticator registration shows a QR code")
    };
    let secret = secret_of(uri.expose());
    let code = totp_code(&secret, &e.policy().totp, now).unwrap();
    let registered = e
        .finish_registration(
            &mut rec,
            Standing::Token(login.token.expose()),
            &code,
            false,
            now,
            rng,
            &mut audit,
        )
        .expect("the current code finishes the set-up");
    (rec, registered.signed_in.expect("set-up signs in"), secret)
}

fn enabled(user: &str, e: &Engine) -> UserRecord {
    let mut rec = UserRecord::new(user, T0);
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut Vec::new());
    rec
}

/// Every admin action that must end the user's sessions, by name.
/// An action on a record at a time.
type Act = fn(&Engine, &mut UserRecord, u64);

fn admin_actions() -> Vec<(&'static str, Act)> {
    vec![
        ("reset methods", |e, r, now| {
            e.reset_methods(r, "admin", now, &mut Vec::new())
        }),
        ("restore remembered devices", |e, r, now| {
            e.restore_remembered_devices(r, "admin", now, &mut Vec::new())
        }),
        ("delete all app passwords", |e, r, now| {
            e.delete_all_app_passwords(r, "admin", now, &mut Vec::new());
        }),
        ("require re-registration", |e, r, now| {
            e.require_reregistration(r, "admin", now, &mut Vec::new())
        }),
        ("disable MFA", |e, r, now| {
            e.set_mfa_state(r, MfaState::Disabled, "admin", now, &mut Vec::new())
        }),
        ("password changed", |e, r, now| {
            e.revoke_sessions(r, Some("admin"), now, &mut Vec::new())
        }),
        ("sign out everywhere", |e, r, now| {
            e.revoke_sessions(r, None, now, &mut Vec::new())
        }),
    ]
}

#[test]
fn a_stolen_session_is_refused_after_each_admin_action() {
    let e = engine(policy().build().unwrap());
    for (name, act) in admin_actions() {
        let mut rng = SeededRandom::new(name.as_bytes());
        let (mut rec, signed) = signed_in(&e, USER, T0, &mut rng);
        let stolen = signed.session.expose().to_string();
        // Before: the stolen token may create an app password.
        e.authorize(
            &rec,
            Standing::Token(&stolen),
            Action::CreateAppPassword,
            T0 + 5,
        )
        .unwrap_or_else(|err| panic!("{name}: before the action: {err}"));
        // A sign-in in progress (login token) ends too.
        let SignInStep::Next(login) = e.start_sign_in(
            &rec,
            FirstFactor::Password,
            None,
            T0 + 6,
            &mut rng,
            &mut Vec::new(),
        ) else {
            panic!("{name}: a second factor is due")
        };
        let epoch = rec.session_epoch();
        act(&e, &mut rec, T0 + 10);
        assert_eq!(rec.session_epoch(), epoch + 1, "{name}: epoch bumped");
        for action in [
            Action::ViewAccount,
            Action::CreateAppPassword,
            Action::ListAppPasswords,
            Action::AddMethod,
        ] {
            assert_eq!(
                e.authorize(&rec, Standing::Token(&stolen), action, T0 + 11)
                    .unwrap_err(),
                Error::TokenRevoked,
                "{name}: {action:?} with the old session"
            );
        }
        assert_eq!(
            e.authorize(
                &rec,
                Standing::Token(login.token.expose()),
                Action::ViewAccount,
                T0 + 11
            )
            .unwrap_err(),
            Error::TokenRevoked,
            "{name}: the login token of before"
        );
        // Presenting it at a sign-in step spends nothing and fails the same way.
        let before = rec.clone();
        let err = e
            .finish_sign_in(
                &mut rec,
                Standing::Token(&stolen),
                Proof::RecoveryCode("AAAA-BBBB-CCCC"),
                false,
                T0 + 12,
                &mut rng,
                &mut Vec::new(),
            )
            .unwrap_err();
        assert_eq!(err, Error::TokenRevoked, "{name}: a sign-in step");
        assert_eq!(rec, before, "{name}: nothing spent");
    }
}

#[test]
fn sensitive_changes_need_a_recent_second_factor() {
    let e = engine(policy().reauth_window_secs(600).build().unwrap());
    let mut rng = SeededRandom::new(b"step-up");
    let (rec, signed) = signed_in(&e, USER, T0, &mut rng);
    let session = signed.session.expose().to_string();
    let late = T0 + 601;
    for action in [
        Action::CreateAppPassword,
        Action::RemoveMethod,
        Action::RegenerateRecoveryCodes,
        Action::AddMethod,
    ] {
        assert!(
            e.authorize(&rec, Standing::Token(&session), action, T0 + 600)
                .is_ok()
        );
        assert_eq!(
            e.authorize(&rec, Standing::Token(&session), action, late)
                .unwrap_err(),
            Error::ReauthRequired { window_secs: 600 },
            "{action:?} eleven minutes after the second factor"
        );
    }
    // Reading and the safe direction stay open for the whole session.
    for action in [
        Action::ViewAccount,
        Action::ListAppPasswords,
        Action::DeleteAppPassword,
        Action::SetDefaultMethod,
        Action::SignOutEverywhere,
    ] {
        assert!(
            e.authorize(&rec, Standing::Token(&session), action, late)
                .is_ok()
        );
    }
    let err = Error::ReauthRequired { window_secs: 600 };
    assert_eq!(err.code(), "reauth_required");
    assert!(err.to_string().contains("10 minutes"), "{err}");
}

#[test]
fn verifying_again_makes_the_session_recent() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"re-verify");
    let (mut rec, signed, secret) = set_up(&e, &mut rng, enabled(USER, &e), T0);
    let late = T0 + 3600;
    let session = signed.session.expose().to_string();
    assert!(matches!(
        e.authorize(
            &rec,
            Standing::Token(&session),
            Action::CreateAppPassword,
            late
        ),
        Err(Error::ReauthRequired { .. })
    ));
    let code = totp_code(&secret, &e.policy().totp, late).unwrap();
    let again = e
        .finish_sign_in(
            &mut rec,
            Standing::Token(&session),
            Proof::Code {
                method: None,
                code: &code,
            },
            false,
            late,
            &mut rng,
            &mut Vec::new(),
        )
        .expect("the session verifies again");
    let fresh = again.session.expose();
    let caller = e
        .authorize(
            &rec,
            Standing::Token(fresh),
            Action::CreateAppPassword,
            late + 1,
        )
        .expect("the new session is recent");
    assert_eq!(caller.auth_time, Some(late));
}

#[test]
fn a_remembered_device_is_not_a_recent_second_factor() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"device");
    let (rec, signed) = signed_in(&e, USER, T0, &mut rng);
    let device = signed
        .device
        .expect("remembered")
        .token
        .expose()
        .to_string();
    let day = T0 + 86_400;
    let SignInStep::SignedIn(skip) = e.start_sign_in(
        &rec,
        FirstFactor::Password,
        Some(&device),
        day,
        &mut rng,
        &mut Vec::new(),
    ) else {
        panic!("the remembered device skips the second factor")
    };
    let session = skip.session.expose();
    let caller = e
        .authorize(&rec, Standing::Token(session), Action::ViewAccount, day)
        .unwrap();
    assert_eq!(
        caller.auth_time,
        Some(T0),
        "the device's own verification time"
    );
    assert!(matches!(
        e.authorize(
            &rec,
            Standing::Token(session),
            Action::CreateAppPassword,
            day
        ),
        Err(Error::ReauthRequired { .. })
    ));
}

#[test]
fn sign_out_everywhere_also_forgets_remembered_devices() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"everywhere");
    let (mut rec, signed) = signed_in(&e, USER, T0, &mut rng);
    let device = signed
        .device
        .expect("remembered")
        .token
        .expose()
        .to_string();
    e.revoke_sessions(&mut rec, None, T0 + 5, &mut Vec::new());
    assert_eq!(
        e.verify_device_token(&rec, &device, T0 + 6).unwrap_err(),
        Error::TokenRevoked
    );
}

#[test]
fn the_password_alone_may_not_take_session_actions() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"password only");
    let (rec, _) = signed_in(&e, USER, T0, &mut rng);
    let SignInStep::Next(login) = e.start_sign_in(
        &rec,
        FirstFactor::Password,
        None,
        T0 + 5,
        &mut rng,
        &mut Vec::new(),
    ) else {
        panic!("a second factor is due")
    };
    let t = login.token.expose();
    assert!(
        e.authorize(&rec, Standing::Token(t), Action::ViewAccount, T0 + 6)
            .is_ok()
    );
    for action in [
        Action::CreateAppPassword,
        Action::ListAppPasswords,
        Action::AddMethod,
        Action::SignOutEverywhere,
    ] {
        assert_eq!(
            e.authorize(&rec, Standing::Token(t), action, T0 + 6)
                .unwrap_err(),
            Error::MfaRequired,
            "{action:?}"
        );
    }
    // Another user's session never acts on this record.
    let (_, mallory) = signed_in(&e, "mallory@example.com", T0, &mut rng);
    assert_eq!(
        e.authorize(
            &rec,
            Standing::Token(mallory.session.expose()),
            Action::ViewAccount,
            T0 + 6
        )
        .unwrap_err(),
        Error::TokenRevoked
    );
}

#[test]
fn the_gateway_feed_refuses_sessions_of_before_the_revocation() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"feed");
    let (mut rec, old) = signed_in(&e, USER, T0, &mut rng);
    let (_, bob) = signed_in(&e, "bob@example.com", T0, &mut rng);
    let mut audit = Vec::new();
    e.reset_methods(&mut rec, "admin", T0 + 10, &mut audit);
    let events: Vec<(&str, u32)> = audit
        .iter()
        .filter_map(|a| match a.kind {
            mfa_core::AuditKind::SessionsRevoked { epoch } => Some((a.user_id.as_str(), epoch)),
            _ => None,
        })
        .collect();
    assert_eq!(events, vec![(USER, 1)]);
    let feed = Revocations::parse(&Revocations::from_events(events, T0 + 10).to_json()).unwrap();
    let jwks = e.jwks();
    let claims = |t: &str| {
        jwks.verify(t, "mfa-wasm", "mfa-wasm", TokenKind::Session, T0 + 11)
            .expect("the signature is still good")
    };
    assert_eq!(
        feed.check(&claims(old.session.expose())),
        Err(Error::TokenRevoked)
    );
    assert_eq!(feed.check(&claims(bob.session.expose())), Ok(()));
    // A session of after the reset passes (the user set up again).
    let (_, fresh, _) = set_up(&e, &mut rng, rec, T0 + 20);
    assert_eq!(feed.check(&claims(fresh.session.expose())), Ok(()));
    // What a gateway decides by: a fresh feed judges; a stale or missing one
    // refuses every session (fails closed) until a new one arrives.
    let old_claims = claims(old.session.expose());
    let bob_claims = claims(bob.session.expose());
    let held = Some((&feed, T0 + 10));
    assert_eq!(
        Revocations::judge(held, &old_claims, T0 + 40, 30),
        RevocationCheck::Revoked
    );
    assert_eq!(
        Revocations::judge(held, &bob_claims, T0 + 40, 30),
        RevocationCheck::Current
    );
    assert_eq!(
        Revocations::judge(held, &bob_claims, T0 + 41, 30),
        RevocationCheck::Unknown { age_secs: Some(31) }
    );
    assert_eq!(
        Revocations::judge(None, &bob_claims, T0 + 41, 30),
        RevocationCheck::Unknown { age_secs: None }
    );
    assert!(Revocations::parse("{\"issued_at\": 1, \"epochs\": [1]}").is_err());
    assert!(Revocations::parse(&" ".repeat(5 << 20)).is_err());
}
