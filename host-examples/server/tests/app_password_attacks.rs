//! Security review item 5 against the real binary: app-password lockout was
//! a denial of service (well-formed garbage locked a victim's mail clients
//! out for good) and told real accounts from invented ones (401 against
//! 429). Now the verify endpoint never locks a user: failures count per
//! client address (the address the gateway reports), a correct password
//! passes during any attack, and a real and an invented user get the same
//! answers.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_password_lockout_is_not_a_denial_of_service() {
    let dir = temp_dir("ap-attacks");
    let url = format!("sqlite://{}/mfa.db", dir.display());
    let server = Server::start(&dir, &base_config(&url, FAST_POLICY));
    let user = "victim@example.com";
    let (mut c, _, _) = enrolled_user(&server, user).await;
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "Outlook"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let password = r.json["password"].as_str().unwrap().to_string();
    let mut gw = server.client();
    gw.headers
        .push(("x-mfa-gateway-token".into(), GATEWAY.into()));
    let verify = |pw: &str, who: &str, address: &str| json!({"user": who, "password": pw, "client_address": address});

    // The attack: well-formed wrong passwords with the victim's real id,
    // from one address until it is throttled (100 failures by default) …
    let wrong = wrong_but_well_formed(&password);
    let mut statuses = Vec::new();
    for _ in 0..101 {
        let r = gw
            .post(
                "/api/v1/app-passwords/verify",
                verify(&wrong, user, "203.0.113.9"),
            )
            .await;
        statuses.push(r.status);
    }
    assert!(statuses[..100].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[100], 429, "the attacking address is throttled");
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            verify(&wrong, user, "203.0.113.9"),
        )
        .await;
    assert_eq!(r.code(), "retry_later");
    assert!(r.headers.get("retry-after").is_some());
    // … and from many addresses.
    for i in 0..30 {
        let r = gw
            .post(
                "/api/v1/app-passwords/verify",
                verify(&wrong, user, &format!("198.51.100.{i}")),
            )
            .await;
        assert_eq!((r.status, r.code()), (401, "wrong_app_password"));
    }
    // The victim's mail client, from its own address, never verified before
    // (nothing cached): it passes.
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            verify(&password, user, "192.0.2.44"),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "the correct password works during the attack: {}",
        r.text
    );
    assert_eq!(r.json["user"], user);
    // Even from the throttled address once it was proven (a proven credential is not a guess).
    let r = gw
        .post(
            "/api/v1/app-passwords/verify",
            verify(&password, user, "203.0.113.9"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The victim's sign-in with the second factor is untouched.
    let r = c.get("/api/v1/session").await;
    assert_eq!(r.json["mfa"], true);

    // A real and an invented user: the same answers for the same garbage,
    // up to and including the throttle, each from a fresh address.
    assert!(!password.starts_with("zzzz"));
    let garbage = well_formed_with_id("zzzz");
    let mut answers = Vec::new();
    for (who, address) in [
        (user, "192.0.2.101"),
        ("nobody-here@example.com", "192.0.2.102"),
    ] {
        let mut seen = Vec::new();
        for _ in 0..101 {
            let r = gw
                .post(
                    "/api/v1/app-passwords/verify",
                    verify(&garbage, who, address),
                )
                .await;
            // The wait in a 429's text is in whole seconds and may tick
            // between the two runs: compare its code and header there.
            let text = if r.status == 429 {
                r.code().to_string()
            } else {
                r.text.clone()
            };
            seen.push((r.status, text, r.headers.get("retry-after").is_some()));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0].last().unwrap().0, 429);
    assert_eq!(
        answers[0], answers[1],
        "a real and an invented user are answered alike"
    );
}
