//! Security review item 3: when the admin stops allowing a user's only
//! methods, the password alone used to register a new method and get a full
//! session. Now the sign-in says `replace`; the password alone may not add a
//! method; a proof with the old method, a recovery code or the admin's
//! one-time pass may. The admin is told which users are affected.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use serde_json::json;

fn config(db_url: &str, hook: &str) -> String {
    base_config(
        db_url,
        &format!(
            r#"[policy]
argon2 = {{ m_kib = 64, t = 1, p = 1 }}
allowed_methods = ["authenticator_app", "text"]
send_gap_secs = 0
[delivery.webhook]
url = "{hook}"
secret = "{WEBHOOK_SECRET}"
timeout_secs = 5
attempts = 1
"#
        ),
    )
}

fn webhook_code(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["code"].as_str().unwrap().to_string()
}

/// A user with a text message as the only method; returns the method id.
async fn text_only(server: &Server, hook: &Webhook, user: &str, n: usize) -> u64 {
    let mut admin = server.admin();
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    sign_in(&mut c, user, "password-123").await;
    let r = c
        .post(
            "/api/v1/methods/phone",
            json!({"country_code": "+44", "number": format!("7700 90012{n}"), "channel": "text"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let last = hook.received.lock().unwrap().len() - 1;
    let code = webhook_code(&hook.wait(last).await.1);
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["method_id"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_alone_cannot_replace_disallowed_methods_and_a_one_time_pass_works_once() {
    let dir = temp_dir("replace");
    let hook = Webhook::start().await;
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let server = Server::start(&dir, &config(&url, &hook.url));
    let alice = "alice@example.com";
    let text = text_only(&server, &hook, alice, 1).await;
    text_only(&server, &hook, "bob@example.com", 2).await;
    let mut admin = server.admin();
    create_user(&mut admin, "carol@example.com", "password-123").await;

    // The admin stops allowing text messages and is told who is affected.
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"allowed_methods": ["authenticator_app"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["users_to_replace"],
        json!(["alice@example.com", "bob@example.com"])
    );
    assert_eq!(r.json["users_to_replace_complete"], true);

    // The attack: the password alone, then an authenticator of one's own.
    let mut c = server.client();
    let r = sign_in(&mut c, alice, "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let next = &r.json["next"];
    assert_eq!(next["next"], "replace", "{}", r.text);
    assert_eq!(next["methods"], json!([text]));
    assert_eq!(next["allowed"], json!(["authenticator_app"]));
    assert_eq!(next["one_time_pass"], false);
    let r = c.post("/api/v1/methods/authenticator", json!({})).await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"), "{}", r.text);
    assert!(!c.cookies.contains_key("mfa_session"));

    // The user proves it is them with the old text message, then replaces it.
    let before = hook.received.lock().unwrap().len();
    let r = c
        .post("/api/v1/verify/send", json!({"method_id": text}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = webhook_code(&hook.wait(before).await.1);
    let r = c
        .post("/api/v1/verify", json!({"method_id": text, "code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(c.cookies.contains_key("mfa_session"));
    let r = c.get("/api/v1/session").await;
    assert_eq!(
        r.json["next"]["next"], "replace",
        "still to replace: {}",
        r.text
    );
    let r = c.post("/api/v1/methods/authenticator", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = secret_of(r.json["otpauth_uri"].as_str().unwrap());
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": totp(&secret, 0)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c.get("/api/v1/session").await;
    assert_eq!(r.json["next"]["next"], "done", "replaced: {}", r.text);
    // The next sign-in asks for the new method.
    let mut again = server.client();
    let r = sign_in(&mut again, alice, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify", "{}", r.text);

    // Bob lost his phone: the admin's one-time pass signs him in once.
    let r = admin
        .post(
            "/api/v1/admin/users/bob@example.com/one-time-pass",
            json!({"lifetime_secs": 60}),
        )
        .await;
    assert_eq!(r.status, 422, "a lifetime under 10 minutes: {}", r.text);
    let r = admin
        .post(
            "/api/v1/admin/users/bob@example.com/one-time-pass",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pass = r.json["pass"].as_str().unwrap().to_string();
    assert!(r.json["expires_at"].as_u64().unwrap() > now() + 3500);
    let view = admin.get("/api/v1/admin/users/bob@example.com").await;
    assert!(!view.text.contains(&pass), "the pass is shown once only");
    assert!(view.json["one_time_pass_until"].as_u64().is_some());
    let mut b = server.client();
    let r = sign_in(&mut b, "bob@example.com", "password-123").await;
    assert_eq!(r.json["next"]["next"], "replace");
    assert_eq!(r.json["next"]["one_time_pass"], true);
    let r = b
        .post(
            "/api/v1/verify/one-time-pass",
            json!({"pass": "abcd-efgh-jkmn-pqrs"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_one_time_pass"),
        "{}",
        r.text
    );
    let r = b
        .post("/api/v1/verify/one-time-pass", json!({"pass": pass}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(b.cookies.contains_key("mfa_session"));
    // Used: a second sign-in with the same pass fails.
    let mut b2 = server.client();
    sign_in(&mut b2, "bob@example.com", "password-123").await;
    let r = b2
        .post("/api/v1/verify/one-time-pass", json!({"pass": pass}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_one_time_pass"),
        "{}",
        r.text
    );
    assert!(!b2.cookies.contains_key("mfa_session"));

    // A new user with no methods still sets one up with the password alone.
    let mut n = server.client();
    let r = sign_in(&mut n, "carol@example.com", "password-123").await;
    assert_eq!(r.json["next"]["next"], "register", "{}", r.text);
}
