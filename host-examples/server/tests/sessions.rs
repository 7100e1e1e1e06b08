//! Security review item 2: a stolen `mfa_session` used to keep minting app
//! passwords after the admin reset the user. Now every admin action that
//! must end the user's sessions bumps the session epoch in the record, the
//! server refuses older tokens on every cookie route, gateways learn it
//! from the revocation feed, and sensitive changes need a recent second
//! factor (step-up).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// What ends a user's sessions: the admin's actions, a new password, and
/// the user's own "sign out everywhere".
const ACTIONS: [&str; 8] = [
    "reset",
    "restore-remembered-devices",
    "delete-app-passwords",
    "require-reregistration",
    "revoke-sessions",
    "disable",
    "password",
    "sign-out-everywhere",
];

async fn act(server: &Server, owner: &mut Client, user: &str, action: &str) {
    let mut admin = server.admin();
    let r = match action {
        "disable" => {
            admin
                .put(
                    &format!("/api/v1/admin/users/{user}/state"),
                    json!({"state": "disabled"}),
                )
                .await
        }
        "password" => {
            admin
                .put(
                    &format!("/api/v1/admin/users/{user}/password"),
                    json!({"password": "a-new-password-456"}),
                )
                .await
        }
        "sign-out-everywhere" => owner.post("/api/v1/sign-out-everywhere", json!({})).await,
        a => {
            admin
                .post(&format!("/api/v1/admin/users/{user}/{a}"), json!({}))
                .await
        }
    };
    assert!(r.status < 300, "{action}: {} {}", r.status, r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_session_is_refused_after_each_admin_action() {
    let dir = temp_dir("sessions");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let server = Server::start(&dir, &base_config(&url, FAST_POLICY));
    for (i, action) in ACTIONS.iter().enumerate() {
        let user = format!("user{i}@example.com");
        let (mut owner, _, _) = enrolled_user(&server, &user).await;
        // The thief copies the session cookie.
        let mut thief = server.client();
        thief
            .cookies
            .insert("mfa_session".into(), owner.cookies["mfa_session"].clone());
        let r = thief
            .post("/api/v1/app-passwords", json!({"name": "before"}))
            .await;
        assert_eq!(
            r.status, 201,
            "{action}: the stolen session works before: {}",
            r.text
        );

        act(&server, &mut owner, &user, action).await;

        let r = thief
            .post("/api/v1/app-passwords", json!({"name": "after"}))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (401, "token_revoked"),
            "{action}: creating an app password with the old session"
        );
        for path in [
            "/api/v1/session",
            "/api/v1/app-passwords",
            "/api/v1/methods",
        ] {
            let r = thief.get(path).await;
            assert_eq!(
                (r.status, r.code()),
                (401, "token_revoked"),
                "{action}: GET {path} with the old session"
            );
        }
        let r = thief.post("/api/v1/recovery-codes", json!({})).await;
        assert_eq!(r.status, 401, "{action}: new recovery codes");
        // The gateway's feed names the user with the epoch now in force.
        let mut gw = server.client();
        gw.headers
            .push(("x-mfa-gateway-token".into(), GATEWAY.into()));
        let r = gw.get("/.well-known/mfa-revocations.json").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            r.json["epochs"][&user].as_u64().unwrap() >= 1,
            "{action}: {}",
            r.text
        );
    }
    // The feed names users: only gateways with the token read it.
    let r = server
        .client()
        .get("/.well-known/mfa-revocations.json")
        .await;
    assert_eq!((r.status, r.code()), (401, "gateway_token"));
    // A user whose sessions were not revoked is not in it.
    let (_, _, _) = enrolled_user(&server, "untouched@example.com").await;
    let mut gw = server.client();
    gw.headers
        .push(("x-mfa-gateway-token".into(), GATEWAY.into()));
    let r = gw.get("/.well-known/mfa-revocations.json").await;
    assert!(r.json["epochs"].get("untouched@example.com").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sign_in_after_the_revocation_works() {
    let dir = temp_dir("sessions-again");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let server = Server::start(&dir, &base_config(&url, FAST_POLICY));
    let user = "frank@example.com";
    let (mut c, secret, _) = enrolled_user(&server, user).await;
    let r = c.post("/api/v1/sign-out-everywhere", json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(
        !c.cookies.contains_key("mfa_session") || c.cookies["mfa_session"].is_empty(),
        "the cookie is cleared"
    );
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify", "{}", r.text);
    let r = c
        .post("/api/v1/verify", json!({"code": totp(&secret, 1)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "Outlook"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // The password alone may not sign out everywhere.
    let mut p = server.client();
    sign_in(&mut p, user, "password-123").await;
    let r = p.post("/api/v1/sign-out-everywhere", json!({})).await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_changes_need_a_recent_second_factor() {
    let dir = temp_dir("step-up");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let policy = format!("{FAST_POLICY}reauth_window_secs = 60\n");
    let server = Server::start(&dir, &base_config(&url, &policy));
    let (mut c, secret, _) = enrolled_user(&server, "grace@example.com").await;
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "Outlook"}))
        .await;
    assert_eq!(r.status, 201, "within the window: {}", r.text);

    tokio::time::sleep(Duration::from_secs(62)).await;
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "Apple Mail"}))
        .await;
    assert_eq!((r.status, r.code()), (403, "reauth_required"), "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 minutes")
    );
    let r = c.post("/api/v1/recovery-codes", json!({})).await;
    assert_eq!((r.status, r.code()), (403, "reauth_required"));
    let r = c.delete("/api/v1/methods/1").await;
    assert_eq!((r.status, r.code()), (403, "reauth_required"));
    let r = c.post("/api/v1/methods/authenticator", json!({})).await;
    assert_eq!((r.status, r.code()), (403, "reauth_required"));
    // Reading and the safe direction stay open.
    assert_eq!(c.get("/api/v1/app-passwords").await.status, 200);
    assert_eq!(c.get("/api/v1/session").await.status, 200);

    // Step-up: the session verifies again, then the change goes through.
    let r = c
        .post("/api/v1/verify", json!({"code": totp(&secret, 0)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "Apple Mail"}))
        .await;
    assert_eq!(r.status, 201, "after verifying again: {}", r.text);
}
