//! Every API flow against the real server binary, on SQLite and on a real PostgreSQL server.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use serde_json::json;

/// Run a flow once per backend.
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(Db::Postgres).await;
            }
        }
    };
}

fn start(db: Db, tag: &str, extra: &str) -> Option<Server> {
    let dir = temp_dir(tag);
    let url = db_url(db, &dir)?;
    Some(Server::start(&dir, &base_config(&url, extra)))
}

both!(user_journey, user_journey_flow);
async fn user_journey_flow(db: Db) {
    let Some(server) = start(db, "journey", FAST_POLICY) else {
        return;
    };
    let user = "alice@example.com";
    // Set it up now: sign in, register an authenticator app, prove it.
    let (mut c, secret, codes) = enrolled_user(&server, user).await;
    assert_eq!(codes.len(), 10);
    let r = c.get("/api/v1/session").await;
    assert_eq!(r.json["mfa"], true);
    assert_eq!(r.json["state"], "enforced");

    // App passwords: create (shown once), list, verify for a gateway, delete.
    let r = c
        .post(
            "/api/v1/app-passwords",
            json!({"name": "Outlook", "scopes": ["imap", "smtp"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let password = r.json["password"].as_str().unwrap().to_string();
    let id = r.json["id"].as_str().unwrap().to_string();
    let r = c.get("/api/v1/app-passwords").await;
    let list = r.json["app_passwords"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "Outlook");
    assert!(list[0]["last_used_at"].is_null());
    assert!(
        !r.text.contains(&password),
        "the password is shown only once"
    );

    let mut gw = server.client();
    gw.headers
        .push(("x-mfa-gateway-token".into(), GATEWAY.into()));
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": password, "scope": "imap"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["user"], user);
    assert_eq!(r.json["id"], id.as_str());
    assert_eq!(r.json["name"], "Outlook");
    // Second time answered from the cache, same answer.
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": password, "scope": "imap"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": password, "scope": "admin"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "out_of_scope"));
    // Security review item 6: a scoped password is refused where no scope is asked for.
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": password}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "out_of_scope"), "{}", r.text);
    let mut wrong = password.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'a' { b'b' } else { b'a' };
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": String::from_utf8(wrong).unwrap()}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": "nobody@example.com", "password": password}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "unknown_app_password"));
    let mut no_token = server.client();
    let r = no_token
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": password}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "gateway_token"));
    let r = c.get("/api/v1/app-passwords").await;
    assert!(
        r.json["app_passwords"][0]["last_used_at"].is_u64(),
        "last used is recorded"
    );
    let r = c.delete(&format!("/api/v1/app-passwords/{id}")).await;
    assert_eq!(r.status, 204);
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            json!({"user": user, "password": password, "scope": "imap"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "app_password_revoked"));

    // Sign out, sign in again: the second factor is asked; stay signed in on this device.
    let r = c.post("/api/v1/sign-out", json!({})).await;
    assert_eq!(r.status, 204);
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify", "{}", r.text);
    let r = c.get("/api/v1/app-passwords").await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"));
    let r = c.post("/api/v1/verify", json!({"code": "000000"})).await;
    assert_eq!((r.status, r.code()), (401, "wrong_code"));
    let r = c
        .post(
            "/api/v1/verify",
            json!({"code": totp(&secret, 1), "remember_device": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["amr"].as_array().unwrap().contains(&json!("otp")));
    assert!(c.cookies.contains_key("mfa_device"));
    let session = c.cookies["mfa_session"].clone();

    // The session token verifies with the published JWKS.
    let r = c.get("/.well-known/jwks.json").await;
    let jwks = mfa_core::Jwks::parse(&r.text).unwrap();
    let claims = jwks
        .verify(
            &session,
            "mfa-wasm",
            "mfa-wasm",
            mfa_core::TokenKind::Session,
            now(),
        )
        .unwrap();
    assert_eq!(claims.sub, user);
    assert!(claims.amr.contains(&"pwd".to_string()) && claims.amr.contains(&"mfa".to_string()));

    // Remembered device: the next sign-in skips the second factor.
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "done", "{}", r.text);
    assert_eq!(r.json["remembered_device"], true);
    // The admin restores MFA on all remembered devices: asked again.
    let mut admin = server.admin();
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{user}/restore-remembered-devices"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify");

    // A recovery code works once.
    let r = c
        .post("/api/v1/verify/recovery", json!({"code": codes[0]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["recovery_codes_left"], 9);
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, user, "password-123").await;
    let r = c
        .post("/api/v1/verify/recovery", json!({"code": codes[0]}))
        .await;
    assert_eq!((r.status, r.code()), (401, "wrong_recovery_code"));

    // Audit log: every step is there, newest first, paged.
    let r = admin
        .get(&format!("/api/v1/admin/audit?user={user}&limit=5"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page1 = r.json["entries"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 5);
    let next = r.json["next"].as_i64().unwrap();
    let r = admin
        .get(&format!(
            "/api/v1/admin/audit?user={user}&limit=1000&before={next}"
        ))
        .await;
    let rest = r.json["entries"].as_array().unwrap().clone();
    assert!(rest.iter().all(|e| e["id"].as_i64().unwrap() < next));
    let events: Vec<&str> = page1
        .iter()
        .chain(rest.iter())
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "mfa_state_changed",
        "method_added",
        "recovery_codes_issued",
        "app_password_created",
        "app_password_used",
        "app_password_deleted",
        "verification_succeeded",
        "verification_failed",
        "device_remembered",
        "remembered_devices_restored",
        "recovery_code_used",
    ] {
        assert!(events.contains(&e), "audit log lacks {e}: {events:?}");
    }
    let r = admin
        .get("/api/v1/admin/audit?event=app_password_created")
        .await;
    assert!(
        r.json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] == "app_password_created")
    );
    // No secret in the audit log.
    let r = admin
        .get(&format!("/api/v1/admin/audit?user={user}&limit=1000"))
        .await;
    assert!(!r.text.contains(&password) && !r.text.contains(&codes[1]));

    // Metrics count what happened.
    let r = c.get("/metrics").await;
    assert!(
        r.text
            .contains("mfa_verifications_total{method=\"authenticator_app\",outcome=\"ok\"} 1"),
        "{}",
        r.text
    );
    assert!(r.text.contains(
        "mfa_verifications_total{method=\"authenticator_app\",outcome=\"wrong_code\"} 1"
    ));
    assert!(
        r.text
            .contains("mfa_app_password_checks_total{outcome=\"ok\",cache=\"hit\"} 1")
    );
    assert!(
        r.text
            .contains("mfa_argon2_seconds_count{op=\"app_password_verify\"}")
    );
    let r = c.get("/healthz").await;
    assert_eq!(r.status, 200);
}

both!(admin_operations, admin_flow);
async fn admin_flow(db: Db) {
    let Some(server) = start(db, "admin", FAST_POLICY) else {
        return;
    };
    let mut admin = server.admin();
    let (mut c, secret, _) = enrolled_user(&server, "bob@example.com").await;
    for u in ["carol@example.com", "dave@example.com"] {
        let r = admin
            .post(
                "/api/v1/admin/users",
                json!({"user": u, "password": "password-123"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    // Admin API needs its own credential.
    let mut anon = server.client();
    let r = anon.get("/api/v1/admin/users").await;
    assert_eq!((r.status, r.code()), (401, "admin_token"));
    let r = c.get("/api/v1/admin/users").await;
    assert_eq!(
        (r.status, r.code()),
        (403, "not_admin"),
        "a user's session without the admin role does not administer"
    );

    // Many users at once.
    let r = admin
        .post("/api/v1/admin/bulk", json!({"users": ["carol@example.com", "dave@example.com", "nobody@example.com"], "action": "set-state", "state": "enforced"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["failed"], 1);
    assert_eq!(r.json["results"][2]["error"]["code"], "unknown_user");
    let r = admin.get("/api/v1/admin/users?state=enforced").await;
    let names: Vec<&str> = r.json["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["bob@example.com", "carol@example.com", "dave@example.com"]
    );
    let r = admin.get("/api/v1/admin/users?limit=2").await;
    assert_eq!(r.json["users"].as_array().unwrap().len(), 2);
    let after = r.json["next"].as_str().unwrap().to_string();
    let r = admin
        .get(&format!("/api/v1/admin/users?limit=2&after={after}"))
        .await;
    assert_eq!(r.json["users"][0]["user"], "dave@example.com");

    // App passwords: delete all of a user's.
    for n in ["a", "b"] {
        let r = c.post("/api/v1/app-passwords", json!({"name": n})).await;
        assert_eq!(r.status, 201);
    }
    let r = admin
        .post(
            "/api/v1/admin/users/bob@example.com/delete-app-passwords",
            json!({}),
        )
        .await;
    assert_eq!(r.json["deleted"], 2, "{}", r.text);
    let r = c.get("/api/v1/app-passwords").await;
    assert_eq!(
        (r.status, r.code()),
        (401, "token_revoked"),
        "deleting all app passwords ends the user's sessions"
    );
    let r = admin.get("/api/v1/admin/users/bob@example.com").await;
    assert_eq!(
        r.json["app_passwords"].as_array().unwrap().len(),
        0,
        "{}",
        r.text
    );

    // Lock by wrong codes, then unlock.
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, "bob@example.com", "password-123").await;
    let mut saw_429 = false;
    for _ in 0..12 {
        let r = c.post("/api/v1/verify", json!({"code": "000000"})).await;
        if r.status == 429 {
            assert!(r.headers.get("retry-after").is_some());
            assert!(matches!(r.code(), "retry_later" | "locked"));
            saw_429 = true;
            break;
        }
        assert_eq!(r.code(), "wrong_code");
    }
    assert!(saw_429, "repeated wrong codes are throttled");
    let r = admin
        .post("/api/v1/admin/users/bob@example.com/unlock", json!({}))
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .post("/api/v1/verify", json!({"code": totp(&secret, 1)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Require contact methods again.
    admin
        .post(
            "/api/v1/admin/users/bob@example.com/require-reregistration",
            json!({}),
        )
        .await;
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, "bob@example.com", "password-123").await;
    assert_eq!(r.json["next"]["next"], "reregister", "{}", r.text);
    // Reset: every method gone, register from scratch.
    let r = admin
        .post("/api/v1/admin/users/bob@example.com/reset", json!({}))
        .await;
    assert_eq!(r.status, 200);
    let r = admin.get("/api/v1/admin/users/bob@example.com").await;
    assert_eq!(r.json["methods"].as_array().unwrap().len(), 0);
    assert_eq!(r.json["next"]["next"], "register");
    let r = admin
        .post("/api/v1/admin/users/bob@example.com/explode", json!({}))
        .await;
    assert_eq!((r.status, r.code()), (404, "unknown_action"));

    // Service settings: app passwords off, remember-device days, allowed methods.
    let r = admin.put("/api/v1/admin/settings", json!({"app_passwords_allowed": false, "remember_device_days": 14, "lockout_threshold": 5})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["remember_device_days"], 14);
    let r = admin
        .put("/api/v1/admin/settings", json!({"lockout_threshold": 0}))
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_policy"));
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"allowed_methods": ["email"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "delivery_not_configured"));
    let r = admin
        .put("/api/v1/admin/settings", json!({"remember_days": 3}))
        .await;
    assert_eq!(r.status, 422);
    let (mut c2, _, _) = enrolled_user(&server, "erin@example.com").await;
    let r = c2.post("/api/v1/app-passwords", json!({"name": "x"})).await;
    assert_eq!((r.status, r.code()), (403, "app_passwords_disabled"));
    // Settings survive a restart (stored in the database).
    let mut server = server;
    server.restart();
    let mut admin = server.admin();
    let r = admin.get("/api/v1/admin/settings").await;
    assert_eq!(r.json["app_passwords_allowed"], false);
    assert_eq!(r.json["lockout_threshold"], 5);
}

both!(bad_input, bad_input_flow);
async fn bad_input_flow(db: Db) {
    let Some(server) = start(db, "bad", FAST_POLICY) else {
        return;
    };
    let (mut c, _, _) = enrolled_user(&server, "frank@example.com").await;
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Vec<u8>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            b"{not json".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            br#"{"user": 5, "password": "x"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            br#"{"user": "a@b.c"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            br#"{"user": "a@b.c", "password": "x", "extra": 1}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("text/plain"),
            br#"{"user": "a", "password": "b"}"#.to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            vec![b' '; 20_000],
            413,
            "body_too_large",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            br#"{"user": "a b", "password": "x"}"#.to_vec(),
            422,
            "invalid_user",
        ),
        (
            "POST",
            "/api/v1/sign-in",
            Some("application/json"),
            br#"{"user": "ghost@example.com", "password": "x"}"#.to_vec(),
            401,
            "invalid_credentials",
        ),
        (
            "POST",
            "/api/v1/verify",
            Some("application/json"),
            br#"{"code": 123456}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/verify",
            Some("application/json"),
            br#"{"code": "12"}"#.to_vec(),
            422,
            "malformed_code",
        ),
        (
            "POST",
            "/api/v1/verify",
            Some("application/json"),
            br#"{"code": "123456", "method_id": 99}"#.to_vec(),
            404,
            "unknown_method",
        ),
        (
            "DELETE",
            "/api/v1/methods/abc",
            None,
            vec![],
            422,
            "invalid_method_id",
        ),
        (
            "DELETE",
            "/api/v1/app-passwords/zzzz",
            None,
            vec![],
            401,
            "unknown_app_password",
        ),
        (
            "POST",
            "/api/v1/app-passwords",
            Some("application/json"),
            br#"{"name": ""}"#.to_vec(),
            422,
            "invalid_input",
        ),
        (
            "POST",
            "/api/v1/app-passwords",
            Some("application/json"),
            br#"{"name": "x", "scopes": "imap"}"#.to_vec(),
            422,
            "invalid_field",
        ),
        (
            "GET",
            "/api/v1/no-such-thing",
            None,
            vec![],
            404,
            "not_found",
        ),
        (
            "DELETE",
            "/api/v1/sign-in",
            None,
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "POST",
            "/api/v1/methods/email",
            Some("application/json"),
            br#"{"address": "x@y.z"}"#.to_vec(),
            403,
            "method_not_allowed",
        ),
    ];
    for (method, path, ct, body, status, code) in cases {
        let r = c.raw(method, path, ct, body).await;
        assert_eq!(
            (r.status, r.code()),
            (status, code),
            "{method} {path}: {}",
            r.text
        );
        assert!(
            r.json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // Not signed in.
    let mut anon = server.client();
    let r = anon.post("/api/v1/verify", json!({"code": "123456"})).await;
    assert_eq!((r.status, r.code()), (401, "not_signed_in"));
    let mut forged = server.client();
    forged.cookies.insert(
        "mfa_login".into(),
        "eyJ1IjoiZnJhbmtAZXhhbXBsZS5jb20iLCJleHAiOjk5OTk5OTk5OTksImFtciI6InB3ZCJ9.AAAA".into(),
    );
    let r = forged
        .post("/api/v1/verify", json!({"code": "123456"}))
        .await;
    assert_eq!((r.status, r.code()), (401, "not_signed_in"));
    // Gateway endpoint: malformed and unknown are 401, never 500.
    let mut gw = server.client();
    gw.headers
        .push(("x-mfa-gateway-token".into(), GATEWAY.into()));
    for body in [
        json!({"user": "frank@example.com", "password": "short"}),
        json!({"user": "", "password": "x"}),
        json!({"user": "x:y", "password": "abcd-efgh-jkmn-pqrs-tuvw-xyz2-3456-789a"}),
    ] {
        let r = gw.post("/api/v1/app-passwords/verify", body).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // Locked user: too many wrong passwords → 429 with Retry-After.
    let mut admin = server.admin();
    create_user(&mut admin, "gina@example.com", "password-123").await;
    let mut g = server.client();
    let mut last = 0;
    for _ in 0..11 {
        last = sign_in(&mut g, "gina@example.com", "wrong-password")
            .await
            .status;
    }
    let r = sign_in(&mut g, "gina@example.com", "password-123").await;
    assert_eq!(last, 429);
    assert_eq!((r.status, r.code()), (429, "password_locked"));
    assert!(
        r.headers
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 0
    );
    // The server is still healthy after all this.
    let r = c.get("/healthz").await;
    assert_eq!(r.status, 200);
    assert!(
        !server.output().iter().any(|l| l.contains("panicked")),
        "{:?}",
        server.output()
    );
}

/// Security review item 8: a page on another site cannot make a signed-in
/// user's browser replace the recovery codes (or change anything else); the
/// same request from the server's own page, or from a script, works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_cross_site_requests_are_refused() {
    let Some(server) = start(Db::Sqlite, "csrf", FAST_POLICY) else {
        return;
    };
    let (mut c, _secret, codes) = enrolled_user(&server, "mallory-target@example.com").await;
    let own = server.url.clone();
    /// What the attack is, its content type and the headers its browser sends.
    type Attack<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>);
    let attacks: [Attack; 5] = [
        (
            "a form post from another site",
            Some("application/x-www-form-urlencoded"),
            vec![
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
        (
            "fetch from another site",
            Some("application/json"),
            vec![("origin", "https://evil.example")],
        ),
        (
            "a sibling subdomain",
            Some("application/json"),
            vec![("sec-fetch-site", "same-site")],
        ),
        (
            "a sandboxed frame",
            Some("application/json"),
            vec![("origin", "null")],
        ),
        ("an empty body without a type", None, vec![]),
    ];
    for (what, content_type, headers) in attacks {
        c.headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = c
            .raw("POST", "/api/v1/recovery-codes", content_type, Vec::new())
            .await;
        assert!(
            r.status == 403 || r.status == 415,
            "{what}: {} {}",
            r.status,
            r.text
        );
        assert!(r.json["recovery_codes"].is_null(), "{what}: no new codes");
    }
    // The old codes still work: nothing was replaced.
    c.headers.clear();
    let r = c.get("/api/v1/session").await;
    assert_eq!(
        r.json["recovery_codes_left"],
        codes.len() as u64,
        "{}",
        r.text
    );
    // The widget's own request (same origin, JSON) goes through.
    c.headers = vec![
        ("origin".into(), own),
        ("sec-fetch-site".into(), "same-origin".into()),
    ];
    let r = c.post("/api/v1/recovery-codes", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Security review item 15: `/metrics` can be kept to a scraper with a token
/// and to listed addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_restricted_by_token_and_address() {
    let token = "metrics-token-0123456789";
    let extra = format!("{FAST_POLICY}[metrics]\ntoken = \"{token}\"\n");
    let Some(server) = start(Db::Sqlite, "metrics-token", &extra) else {
        return;
    };
    let mut c = server.client();
    let r = c.get("/metrics").await;
    assert_eq!((r.status, r.code()), (401, "metrics_token"));
    c.bearer = Some("metrics-token-wrong-guess".into());
    assert_eq!(c.get("/metrics").await.status, 401);
    c.bearer = Some(token.into());
    let r = c.get("/metrics").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("# TYPE"), "{}", r.text);

    let extra = format!("{FAST_POLICY}[metrics]\nallowed_addresses = [\"10.0.0.0/8\"]\n");
    let Some(server) = start(Db::Sqlite, "metrics-addr", &extra) else {
        return;
    };
    let r = server.client().get("/metrics").await;
    assert_eq!((r.status, r.code()), (403, "metrics_forbidden"));
}
