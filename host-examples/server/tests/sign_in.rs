//! The sign-in flow through the real server, decided by the engine: one
//! component call per verification, a remembered device, a recovery code,
//! and the attacks on the login step (forged, foreign and wrong-kind tokens,
//! a password alone adding a method, look-alike user names).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use serde_json::json;

fn start(tag: &str) -> Server {
    let dir = temp_dir(tag);
    let url = db_url(Db::Sqlite, &dir).unwrap();
    Server::start(&dir, &base_config(&url, FAST_POLICY))
}

async fn engine_calls(c: &mut Client) -> u64 {
    let r = c.get("/metrics").await;
    r.text
        .lines()
        .find_map(|l| l.strip_prefix("mfa_engine_calls_total "))
        .unwrap_or_else(|| panic!("no engine call counter in {}", r.text))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_totp_verification_is_one_engine_call() {
    let server = start("one-call");
    let user = "alice@example.com";
    let (mut c, secret, _) = enrolled_user(&server, user).await;
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify", "{}", r.text);
    let mut m = server.client();
    let before = engine_calls(&mut m).await;
    let r = c
        .post("/api/v1/verify", json!({"code": totp(&secret, 1)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["amr"], json!(["otp"]));
    let after = engine_calls(&mut m).await;
    assert_eq!(after - before, 1, "one component call serves the request");
    let r = c.get("/api/v1/session").await;
    assert_eq!(r.json["mfa"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_device_and_a_recovery_code_sign_in_through_the_engine() {
    let server = start("device");
    let user = "bob@example.com";
    let (mut c, secret, codes) = enrolled_user(&server, user).await;
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, user, "password-123").await;
    let r = c
        .post(
            "/api/v1/verify",
            json!({"code": totp(&secret, 1), "remember_device": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(c.cookies.contains_key("mfa_device"));

    // The password alone is enough on this device.
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "done", "{}", r.text);
    assert_eq!(r.json["remembered_device"], true);
    assert_eq!(c.get("/api/v1/session").await.json["mfa"], true);

    // The admin restores MFA on remembered devices: asked again.
    let mut admin = server.admin();
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{user}/restore-remembered-devices"),
            json!({}),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify", "{}", r.text);

    // A recovery code finishes the sign-in.
    let r = c
        .post("/api/v1/verify/recovery", json!({"code": codes[0]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["recovery_codes_left"], 9);
    assert_eq!(c.get("/api/v1/session").await.json["mfa"], true);
}

/// A login token made with other keys, naming `user`.
fn forged_login(user: &str) -> String {
    let mut rng = mfa_core::SeededRandom::new(b"attacker keys");
    let e = mfa_core::Engine::new(
        mfa_core::Policy::default(),
        mfa_core::Keys::generate(&mut rng),
    )
    .unwrap();
    let rec = mfa_core::UserRecord::new(user, now());
    match e.start_sign_in(
        &rec,
        mfa_core::FirstFactor::Password,
        None,
        now(),
        &mut rng,
        &mut Vec::new(),
    ) {
        mfa_core::SignInStep::Next(n) => n.token.expose().to_string(),
        mfa_core::SignInStep::SignedIn(_) => unreachable!("no device token"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_wrong_kind_login_tokens_spend_nothing() {
    let server = start("attacks");
    let user = "carol@example.com";
    let (mut c, secret, _) = enrolled_user(&server, user).await;
    let code = totp(&secret, 1);

    let (mut mallory, m_secret, _) = enrolled_user(&server, "mallory@example.com").await;
    let r = mallory
        .post(
            "/api/v1/verify",
            json!({"code": totp(&m_secret, 1), "remember_device": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let device = mallory.cookies["mfa_device"].clone();
    mallory.post("/api/v1/sign-out", json!({})).await;
    mallory.cookies.remove("mfa_device");
    sign_in(&mut mallory, "mallory@example.com", "password-123").await;

    for (what, token, expected) in [
        ("forged", forged_login(user), "bad_signature"),
        ("device token as login", device, "wrong_token_kind"),
        ("garbage", "x.y.z".to_string(), "not_signed_in"),
    ] {
        let mut a = server.client();
        a.cookies.insert("mfa_login".into(), token);
        let r = a.post("/api/v1/verify", json!({"code": code})).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.code(), expected, "{what}: {}", r.text);
    }
    // Mallory's own login with Carol's code checks Mallory's record.
    let r = mallory.post("/api/v1/verify", json!({"code": code})).await;
    assert_eq!(r.code(), "wrong_code", "{}", r.text);

    // None of it spent Carol's code or counted against her.
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, user, "password-123").await;
    let r = c.post("/api/v1/verify", json!({"code": code})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_alone_cannot_add_a_method_and_look_alike_names_are_one_user() {
    let server = start("bypass");
    let user = "dave@example.com";
    let (mut c, _, _) = enrolled_user(&server, user).await;
    c.post("/api/v1/sign-out", json!({})).await;
    // " Dave@Example.COM " is the same user, with the same password.
    let r = sign_in(&mut c, " Dave@Example.COM ", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["user"], user);
    assert_eq!(r.json["next"]["next"], "verify");
    let r = c.post("/api/v1/methods/authenticator", json!({})).await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"), "{}", r.text);
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": "123456"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"), "{}", r.text);
}
