//! Admins who sign in: the admin role decided by the engine, against the real
//! server binary.
//!
//! Who may administer: automation with the admin token, and users holding
//! the admin role with an MFA session. What an attacker tries: a user's own
//! session on the admin API, an admin's password without the second factor,
//! another site's page using the admin's cookies, an admin page kept open
//! after the role was taken, an admin locking the others out by taking
//! their own role first.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use serde_json::json;

fn start(tag: &str) -> Server {
    let dir = temp_dir(tag);
    let url = db_url(Db::Sqlite, &dir).unwrap();
    Server::start(&dir, &base_config(&url, FAST_POLICY))
}

/// Sign `user` in and register an authenticator app; the client holds an MFA session.
async fn with_mfa(server: &Server, user: &str) -> Client {
    let mut c = server.client();
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "register", "{}", r.text);
    let r = c.post("/api/v1/methods/authenticator", json!({})).await;
    let secret = secret_of(r.json["otpauth_uri"].as_str().unwrap());
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": totp(&secret, 0)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_with_mfa_and_the_role_decides() {
    let server = start("admin-role");
    let mut token = server.admin();
    let r = token
        .post(
            "/api/v1/admin/users",
            json!({"user": "ada@example.com", "password": "password-123", "state": "enabled", "admin": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["admin"], true);
    create_user(&mut token, "bob@example.com", "password-123").await;
    create_user(&mut token, "eve@example.com", "password-123").await;

    // The admin's password alone is not enough: the second factor is asked.
    let mut half = server.client();
    let r = sign_in(&mut half, "ada@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = half.get("/api/v1/admin/users").await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"), "{}", r.text);

    let mut ada = with_mfa(&server, "ada@example.com").await;
    let r = ada.get("/api/v1/session").await;
    assert_eq!(r.json["admin"], true);
    let r = ada.get("/api/v1/admin/users?q=BOB").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let users = r.json["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{}", r.text);
    assert_eq!(users[0]["user"], "bob@example.com");

    // A user without the role, even with MFA, does not administer.
    let mut eve = with_mfa(&server, "eve@example.com").await;
    let r = eve.get("/api/v1/session").await;
    assert_eq!(r.json["admin"], false);
    let r = eve
        .post("/api/v1/admin/users/bob@example.com/unlock", json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "not_admin"), "{}", r.text);
    let r = eve
        .put(
            "/api/v1/admin/users/eve@example.com/admin",
            json!({"admin": true}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "not_admin"), "{}", r.text);

    // The admin acts; the audit names the admin, not the token.
    let r = ada
        .put(
            "/api/v1/admin/users/bob@example.com/state",
            json!({"state": "enforced"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = token
        .get("/api/v1/admin/audit?user=bob@example.com&event=mfa_state_changed")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let events = r.json["entries"].as_array().unwrap();
    assert_eq!(events[0]["actor"], "ada@example.com", "{}", r.text);

    // Another site's page cannot use the admin's cookies.
    let mut forged = ada.clone();
    forged
        .headers
        .push(("origin".into(), "https://evil.example".into()));
    let r = forged
        .put(
            "/api/v1/admin/users/eve@example.com/admin",
            json!({"admin": true}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "cross_site_request"));
    let mut sibling = ada.clone();
    sibling
        .headers
        .push(("sec-fetch-site".into(), "same-site".into()));
    let r = sibling
        .post("/api/v1/admin/users/bob@example.com/reset", json!({}))
        .await;
    assert_eq!((r.status, r.code()), (403, "cross_site_request"));
    let r = token.get("/api/v1/admin/users/eve@example.com").await;
    assert_eq!(r.json["admin"], false, "the forged request changed nothing");

    // An admin cannot take their own role (someone must be left to give it back).
    let r = ada
        .put(
            "/api/v1/admin/users/ada@example.com/admin",
            json!({"admin": false}),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "own_admin_role"), "{}", r.text);

    // Giving the role to eve lets her in at once; taking it ends her sessions.
    let r = ada
        .put(
            "/api/v1/admin/users/eve@example.com/admin",
            json!({"admin": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["admin"], true);
    let r = eve.get("/api/v1/admin/users").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = token
        .put(
            "/api/v1/admin/users/eve@example.com/admin",
            json!({"admin": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = eve.get("/api/v1/admin/users").await;
    assert_eq!((r.status, r.code()), (401, "token_revoked"), "{}", r.text);
    let r = token
        .get("/api/v1/admin/audit?user=eve@example.com&event=admin_role_changed")
        .await;
    let events = r.json["entries"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", r.text);
    assert_eq!(events[0]["actor"], "admin");
    assert_eq!(events[1]["actor"], "ada@example.com");

    // A bad body is a typed error.
    let r = ada
        .put(
            "/api/v1/admin/users/bob@example.com/admin",
            json!({"admin": "yes"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_field"), "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("boolean")
    );
}
