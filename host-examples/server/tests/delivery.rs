//! Codes by e-mail through a real SMTP conversation, and by text and call
//! through the signed webhook, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use serde_json::json;

fn delivery_config(db_url: &str, smtp_port: u16, hook: &str, attempts: u32) -> String {
    base_config(
        db_url,
        &format!(
            r#"[policy]
argon2 = {{ m_kib = 64, t = 1, p = 1 }}
# These flows send codes a moment apart; the send limits have their own tests
# (send_limits.rs).
send_gap_secs = 0
sends_per_hour = 100
sends_per_day = 1000
[delivery.limits]
per_address_per_hour = 1000
per_destination_per_hour = 100
per_destination_per_day = 100
[delivery.smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "MFA <mfa@example.com>"
timeout_secs = 5
[delivery.webhook]
url = "{hook}"
secret = "{WEBHOOK_SECRET}"
timeout_secs = 5
attempts = {attempts}
"#
        ),
    )
}

fn check_signature(sig: &str, body: &[u8]) {
    let (t, v1) = sig.split_once(',').unwrap();
    let t: u64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    let expect = mfa_server::delivery::sign_webhook(WEBHOOK_SECRET.as_bytes(), t, body);
    assert_eq!(expect, sig, "signature verifies");
    assert!(v1.starts_with("v1=") && v1.len() == 3 + 64);
    // Independent check with the hmac crate.
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex = data_encoding::HEXLOWER.decode(&v1.as_bytes()[3..]).unwrap();
    mac.verify_slice(&hex).expect("HMAC-SHA256 over t.body");
}

async fn flow(db: Db) {
    let dir = temp_dir("delivery");
    let Some(url) = db_url(db, &dir) else { return };
    let smtp = SmtpSink::start().await;
    let hook = Webhook::start().await;
    let server = Server::start(&dir, &delivery_config(&url, smtp.port, &hook.url, 3));
    let mut admin = server.admin();
    let user = "hana@example.com";
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "register");

    // Authentication phone by text: the webhook gets a signed JSON body with the code.
    let r = c
        .post(
            "/api/v1/methods/phone",
            json!({"country_code": "+44", "number": "7700 900123", "channel": "text"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["type"], "code_sent");
    assert!(
        r.json["masked_destination"]
            .as_str()
            .unwrap()
            .ends_with("23")
    );
    assert!(
        !r.text.contains("7700900123"),
        "the full number is not echoed"
    );
    let (sig, body) = hook.wait(0).await;
    check_signature(&sig, &body);
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["channel"], "text");
    assert_eq!(payload["to"], "+447700900123");
    let code = payload["code"].as_str().unwrap().to_string();
    assert!(payload["message"].as_str().unwrap().contains(&code));
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["recovery_codes"].as_array().unwrap().len(), 10);
    let phone_id = r.json["method_id"].as_u64().unwrap();

    // Authentication e-mail: the message arrives by SMTP and its code proves the address.
    let r = c
        .post(
            "/api/v1/methods/email",
            json!({"address": "hana.personal@example.org"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = smtp.wait_message(0).await;
    assert!(mail.contains("hana.personal@example.org"));
    assert!(mail.contains("Subject: Your mfa-wasm verification code"));
    let code = find_code(mail.split("\r\n\r\n").nth(1).unwrap(), 6);
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json["recovery_codes"].is_null(),
        "recovery codes only with the first method"
    );
    let email_id = r.json["method_id"].as_u64().unwrap();

    // A voice call: the message reads the code out digit by digit.
    let r = c
        .post(
            "/api/v1/methods/phone",
            json!({"country_code": "1", "number": "2025550143", "channel": "call"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (sig, body) = hook.wait(1).await;
    check_signature(&sig, &body);
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["channel"], "call");
    let code = payload["code"].as_str().unwrap().to_string();
    let spoken: Vec<String> = code.chars().map(|c| c.to_string()).collect();
    assert!(
        payload["message"]
            .as_str()
            .unwrap()
            .contains(&spoken.join(", "))
    );
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Choose e-mail as default; sign-in sends the code there.
    let r = c
        .put("/api/v1/methods/default", json!({"method_id": email_id}))
        .await;
    assert_eq!(r.json["default_method"], email_id, "{}", r.text);
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify");
    assert_eq!(r.json["next"]["default"], email_id);
    let r = c.post("/api/v1/verify/send", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["channel"], "email");
    let mail = smtp.wait_message(1).await;
    let code = find_code(mail.split("\r\n\r\n").nth(1).unwrap(), 6);
    let r = c.post("/api/v1/verify", json!({"code": code})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The same code does not work twice.
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, user, "password-123").await;
    let r = c.post("/api/v1/verify", json!({"code": code})).await;
    assert_eq!((r.status, r.code()), (409, "no_active_code"));

    // Text to the phone, by choice of method.
    let r = c
        .post("/api/v1/verify/send", json!({"method_id": phone_id}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (sig, body) = hook.wait(2).await;
    check_signature(&sig, &body);
    let code = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .post(
            "/api/v1/verify",
            json!({"method_id": phone_id, "code": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["amr"], json!(["sms"]));

    // The webhook fails: retried, then a clear failure state.
    hook.status.store(500, std::sync::atomic::Ordering::Relaxed);
    let before = hook.received.lock().unwrap().len();
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, user, "password-123").await;
    let r = c
        .post("/api/v1/verify/send", json!({"method_id": phone_id}))
        .await;
    assert_eq!((r.status, r.code()), (502, "delivery_failed"), "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 attempt")
    );
    assert_eq!(
        hook.received.lock().unwrap().len() - before,
        3,
        "three attempts"
    );
    let r = c.get("/metrics").await;
    assert!(
        r.text
            .contains("mfa_deliveries_total{channel=\"text\",result=\"failed\"} 1"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("mfa_deliveries_total{channel=\"email\",result=\"ok\"} 2")
    );
    // No code in the server's own output.
    let out = server.output().join("\n");
    assert!(!out.contains(&code), "codes never reach the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    flow(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    flow(Db::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_is_a_clear_failure() {
    let dir = temp_dir("smtp-down");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let hook = Webhook::start().await;
    let server = Server::start(&dir, &delivery_config(&url, free_port(), &hook.url, 1));
    let mut admin = server.admin();
    create_user(&mut admin, "ivan@example.com", "password-123").await;
    let mut c = server.client();
    sign_in(&mut c, "ivan@example.com", "password-123").await;
    let r = c
        .post(
            "/api/v1/methods/email",
            json!({"address": "ivan@example.org"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (502, "delivery_failed"), "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("SMTP")
    );
    // Resend works once the relay is back is the user's next step; the registration is still pending.
    let r = c.post("/api/v1/methods/resend", json!({})).await;
    assert_eq!(r.code(), "delivery_failed");
}
