//! The shared gateway vectors (`tests/vectors/gateway.json`) replayed over
//! HTTP against the verify endpoint, on the real clock. The Envoy filter
//! replays the same file (`crates/mfa-proxy/tests/gateway_vectors.rs`): the
//! two refuse and throttle identically because both ask the engine's gateway
//! rules (the user's canonical form, which refusals are guesses, the address
//! throttle and what a cached verification may trust).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{Value, json};

/// Sleep until `start + at` seconds (start is a whole second).
async fn until(start: u64, at: u64) {
    let target = Duration::from_secs(start + at);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    if let Some(wait) = target.checked_sub(now) {
        tokio::time::sleep(wait).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_vectors_hold_at_the_verify_endpoint() {
    let vectors: Value = serde_json::from_str(include_str!("../../../tests/vectors/gateway.json"))
        .expect("tests/vectors/gateway.json");
    let throttle = &vectors["throttle"];
    // The server's address throttle is the admin's lockout setting: one
    // length for the window and the block.
    assert_eq!(throttle["window_secs"], throttle["block_secs"]);
    let auth = format!(
        "[auth]\nmax_password_failures_per_address = {}\npassword_lockout_secs = {}\n",
        throttle["max_failures"], throttle["window_secs"]
    );
    let dir = temp_dir("gateway-vectors");
    let url = format!("sqlite://{}/mfa.db", dir.display());
    let config = base_config(&url, FAST_POLICY).replace("[auth]\n", &auth);
    let server = Server::start(&dir, &config);
    let owner = vectors["owner"].as_str().unwrap();
    let (mut c, _, _) = enrolled_user(&server, owner).await;
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "Mail"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let right = r.json["password"].as_str().unwrap().to_string();
    assert!(!right.starts_with("zzzz"));
    let password = |kind: &str| match kind {
        "right" => right.clone(),
        "wrong" => wrong_but_well_formed(&right),
        "unknown" => well_formed_with_id("zzzz"),
        "malformed" => "not-an-app-password".to_string(),
        other => panic!("unknown password kind {other}"),
    };
    let mut gw = server.client();
    gw.headers
        .push(("x-mfa-gateway-token".into(), GATEWAY.into()));

    // Start just after a second boundary, so that the steps of one second
    // run within it (each takes milliseconds with the tests' argon2).
    let start = now() + 1;
    until(start, 0).await;
    for (i, step) in vectors["steps"].as_array().unwrap().iter().enumerate() {
        let at = step["at"].as_u64().unwrap();
        until(start, at).await;
        let body = json!({
            "user": step["user"],
            "password": password(step["password"].as_str().unwrap()),
            "client_address": step["address"],
        });
        let r = gw.post("/api/v1/app-passwords/verify", body).await;
        let what = format!("step {i}: {step}");
        let want = step["status"].as_u64().unwrap();
        assert_eq!(u64::from(r.status), want, "{what}: {}", r.text);
        if want == 200 {
            assert_eq!(r.json["user"], step["user_is"], "{what}");
        }
        if let Some(code) = step["code"].as_str() {
            assert_eq!(r.code(), code, "{what}");
        }
        if let Some(wait) = step["retry_after"].as_u64() {
            let header: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            // The real clock may have passed into the next second.
            assert!(
                header == wait || header + 1 == wait,
                "{what}: Retry-After {header}"
            );
        }
    }
}
