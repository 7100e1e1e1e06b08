//! Security review item 1: sending codes is limited, per user (the engine's
//! send budget in the record), per destination and per client address over
//! all users, and by country; a refused send answers 429 with `Retry-After`
//! (or 422 for a country) and attempts no delivery.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn config(db_url: &str, hook: &str, limits: &str) -> String {
    base_config(
        db_url,
        &format!(
            r#"[policy]
argon2 = {{ m_kib = 64, t = 1, p = 1 }}
allowed_methods = ["authenticator_app", "text", "call"]
[delivery.webhook]
url = "{hook}"
secret = "{WEBHOOK_SECRET}"
timeout_secs = 5
attempts = 1
[delivery.limits]
{limits}
"#
        ),
    )
}

/// The webhook calls so far, after giving a late one time to arrive.
async fn calls(hook: &Webhook) -> usize {
    tokio::time::sleep(Duration::from_millis(300)).await;
    hook.received.lock().unwrap().len()
}

fn retry_after(r: &Resp) -> u64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {}", r.text))
}

async fn registering(server: &Server, user: &str) -> Client {
    let mut admin = server.admin();
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "register", "{}", r.text);
    c
}

fn phone(number: &str) -> serde_json::Value {
    json!({"country_code": "+44", "number": number, "channel": "text"})
}

#[tokio::test]
async fn send_budget_the_second_send_within_the_gap_and_the_sixth_in_the_hour_are_refused() {
    let dir = temp_dir("send-budget");
    let hook = Webhook::start().await;
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let server = Server::start(&dir, &config(&url, &hook.url, ""));
    let mut c = registering(&server, "ines@example.com").await;

    let r = c.post("/api/v1/methods/phone", phone("7700 900001")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(calls(&hook).await, 1);
    // The same number within the 30-second gap: by a resend, or a new start.
    for (path, body) in [
        ("/api/v1/methods/resend", json!({})),
        ("/api/v1/methods/phone", phone("7700 900001")),
    ] {
        let r = c.post(path, body).await;
        assert_eq!(r.status, 429, "{path}: {}", r.text);
        assert_eq!(r.code(), "send_limit");
        let wait = retry_after(&r);
        assert!((1..=30).contains(&wait), "{wait}");
    }
    assert_eq!(calls(&hook).await, 1, "no delivery was attempted");
    // Another number is not held by the gap, but counts towards the hour.
    let r = c.post("/api/v1/methods/phone", phone("7700 900002")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(calls(&hook).await, 2);

    // With the gap off, the hourly cap (5) still holds.
    let mut admin = server.admin();
    let r = admin
        .put("/api/v1/admin/settings", json!({"send_gap_secs": 0}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["sends_per_hour"], 5);
    for _ in 2..5 {
        let r = c.post("/api/v1/methods/resend", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = c.post("/api/v1/methods/resend", json!({})).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.code(), "send_limit");
    let wait = retry_after(&r);
    assert!((3500..=3600).contains(&wait), "{wait}");
    assert_eq!(calls(&hook).await, 5, "the sixth send delivered nothing");
    // The budget is in the record: it holds after a restart.
    let mut server = server;
    server.restart();
    let mut c2 = server.client();
    let r = sign_in(&mut c2, "ines@example.com", "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c2.post("/api/v1/methods/phone", phone("7700 900003")).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(calls(&hook).await, 5);
}

#[tokio::test]
async fn one_number_for_many_users_and_one_address_for_many_numbers_are_limited() {
    let dir = temp_dir("send-guard");
    let hook = Webhook::start().await;
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let limits = "per_destination_per_hour = 2\nper_address_per_hour = 3";
    let server = Server::start(&dir, &config(&url, &hook.url, limits));
    // Three accounts register the same premium-rate number: the third is refused.
    for (i, user) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let mut c = registering(&server, user).await;
        let r = c.post("/api/v1/methods/phone", phone("7700 900100")).await;
        if i < 2 {
            assert_eq!(r.status, 200, "{}", r.text);
        } else {
            assert_eq!(r.status, 429, "{}", r.text);
            assert_eq!(r.code(), "send_limit");
            assert!(retry_after(&r) > 3000);
        }
    }
    assert_eq!(calls(&hook).await, 2);
    // From one address, the fifth send in the hour is refused whatever the number.
    let mut c = registering(&server, "d@example.com").await;
    let r = c.post("/api/v1/methods/phone", phone("7700 900200")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut e = registering(&server, "e@example.com").await;
    let r = e.post("/api/v1/methods/phone", phone("7700 900300")).await;
    assert_eq!(
        r.status, 429,
        "the address already sent 3 (a refused send does not count): {}",
        r.text
    );
    assert_eq!(calls(&hook).await, 3);
}

#[tokio::test]
async fn a_phone_outside_the_allowed_countries_is_refused_without_a_send() {
    let dir = temp_dir("send-country");
    let hook = Webhook::start().await;
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let server = Server::start(&dir, &config(&url, &hook.url, ""));
    let mut admin = server.admin();
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"phone_country_codes": ["44", "353"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["phone_country_codes"], json!(["44", "353"]));
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"phone_country_codes": ["+44"]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let mut c = registering(&server, "fay@example.com").await;
    let r = c
        .post(
            "/api/v1/methods/phone",
            json!({"country_code": "+1", "number": "876 555 0100", "channel": "call"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("country")
    );
    assert_eq!(calls(&hook).await, 0);
    let r = c.post("/api/v1/methods/phone", phone("7700 900400")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(calls(&hook).await, 1);
}
