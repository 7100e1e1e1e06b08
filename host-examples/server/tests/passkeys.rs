//! Passkeys through the real server: "Set it up now" with a passkey signs the
//! user in (`amr` `hwk`), the passkey is the next sign-in's second factor, and
//! the attacks a caller would try over HTTP fail: a replayed answer, a page
//! of another origin, an answer without the login cookie, a cross-site
//! request with the cookie, a password alone adding a second passkey.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

#[path = "../../../crates/mfa-core/tests/common/authenticator.rs"]
mod authenticator;

use authenticator::SoftKey;
use common::*;
use serde_json::{Value, json};

const ORIGIN: &str = "http://localhost:8080";

fn start(tag: &str) -> Server {
    start_on(Db::Sqlite, tag).unwrap().0
}

/// A server with passkeys for `localhost`, on this backend (`None`: skipped),
/// and its storage URL.
fn start_on(db: Db, tag: &str) -> Option<(Server, String)> {
    let dir = temp_dir(tag);
    let url = db_url(db, &dir)?;
    let policy = format!(
        "[policy]\nargon2 = {{ m_kib = 64, t = 1, p = 1 }}\nallowed_methods = [\"authenticator_app\", \"passkey\"]\n[policy.passkeys]\nrp_id = \"localhost\"\nrp_name = \"Contoso\"\norigins = [\"{ORIGIN}\"]\n"
    );
    Some((Server::start(&dir, &base_config(&url, &policy)), url))
}

fn options(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["type"], "passkey");
    r.json["options"].to_string()
}

fn answer(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_it_up_now_with_a_passkey_then_sign_in_with_it() {
    let server = start("passkeys");
    let user = "pia@example.com";
    let mut admin = server.admin();
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "register", "{}", r.text);
    assert!(
        r.json["next"]["allowed"]
            .as_array()
            .unwrap()
            .contains(&json!("passkey"))
    );

    let r = c.post("/api/v1/methods/passkey", json!({})).await;
    let o = options(&r);
    let created: Value = serde_json::from_str(&o).unwrap();
    assert_eq!(created["rp"]["id"], "localhost");
    assert_eq!(created["user"]["name"], user);
    let mut key = SoftKey::p256(21, "localhost", ORIGIN);
    let r = c
        .post(
            "/api/v1/methods/passkey/confirm",
            json!({"response": answer(&key.create(&o)), "name": "YubiKey"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json["error"]);
    assert_eq!(r.json["recovery_codes"].as_array().unwrap().len(), 10);
    let kind = &r.json["methods"][0]["kind"];
    assert_eq!(kind["type"], "passkey", "{kind}");
    assert_eq!(kind["name"], "YubiKey");
    assert_eq!(r.json["methods"][0]["method_type"], "passkey");
    let session = c.get("/api/v1/session").await;
    assert_eq!(session.json["mfa"], true, "{}", session.text);

    // Sign out, sign in: the passkey is the second factor.
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify", "{}", r.text);
    let r = c.post("/api/v1/verify/passkey/options", json!({})).await;
    let o = options(&r);
    let a = answer(&key.get(&o, None));
    // Without the login cookie, the answer is nobody's.
    let mut stranger = server.client();
    let r = stranger
        .post("/api/v1/verify/passkey", json!({"response": a}))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    // From a page of another site, with the cookie: refused before the engine.
    let mut cross = c.clone();
    cross
        .headers
        .push(("origin".into(), "https://evil.example".into()));
    let r = cross
        .post("/api/v1/verify/passkey", json!({"response": a}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "cross_site_request");
    let r = c
        .post("/api/v1/verify/passkey", json!({"response": a}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["amr"], json!(["hwk", "user"]));
    // The same answer again: the ceremony was used once.
    sign_in(&mut c, user, "password-123").await;
    let r = c
        .post("/api/v1/verify/passkey", json!({"response": a}))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.code(), "passkey_refused");
    // A page of another origin relaying a fresh challenge.
    let r = c.post("/api/v1/verify/passkey/options", json!({})).await;
    let o = options(&r);
    let mut phished = SoftKey::p256(21, "localhost", "http://localhost:9999");
    phished.counter = key.counter;
    let r = c
        .post(
            "/api/v1/verify/passkey",
            json!({"response": answer(&phished.get(&o, None))}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not one of this site's origins")
    );
    // Garbage is a typed refusal.
    let r = c
        .post("/api/v1/verify/passkey", json!({"response": {"id": 1}}))
        .await;
    assert!(r.status == 401 || r.status == 429, "{}", r.text);
    // A password alone may not add a second passkey once one is set up.
    let mut fresh = server.client();
    sign_in(&mut fresh, user, "password-123").await;
    let r = fresh.post("/api/v1/methods/passkey", json!({})).await;
    assert_eq!(r.status, 403, "{}", r.json["error"]);
    assert_eq!(r.code(), "mfa_required");
}

/// The admin's passkey settings: which key models may be registered and
/// whether the key must verify the person. The relying party and origins are
/// the deployment's, not the admin API's; a refusal names the engine's check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_passkey_settings_allow_only_listed_models_and_require_verification() {
    let server = start("passkey-settings");
    let mut admin = server.admin();
    let r = admin.get("/api/v1/admin/settings").await;
    assert_eq!(r.json["passkeys"]["rp_id"], "localhost", "{}", r.text);
    assert_eq!(r.json["passkeys"]["origins"], json!([ORIGIN]));
    assert_eq!(r.json["passkeys"]["require_user_verification"], false);

    // Only the organisation's security keys (another model's AAGUID).
    let company = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"passkeys": {"allowed_aaguids": [company]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["passkeys"]["allowed_aaguids"], json!([company]));

    let user = "rae@example.com";
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    sign_in(&mut c, user, "password-123").await;
    let o = options(&c.post("/api/v1/methods/passkey", json!({})).await);
    let key = SoftKey::p256(31, "localhost", ORIGIN);
    let r = c
        .post(
            "/api/v1/methods/passkey/confirm",
            json!({"response": answer(&key.create(&o))}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json["error"]["code"], "passkey_refused");
    assert_eq!(r.json["error"]["check"], "authenticator_not_allowed");

    // The model listed (as pasted, in capitals): accepted.
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"passkeys": {"allowed_aaguids": [company, " AAAAAAAA-AAAA-AAAA-AAAA-AAAAAAAAAAAA "]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["passkeys"]["allowed_aaguids"][1],
        "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
    );
    // User verification required: a key that only tests presence is refused.
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"passkeys": {"require_user_verification": true}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = options(&c.post("/api/v1/methods/passkey", json!({})).await);
    assert_eq!(
        serde_json::from_str::<Value>(&o).unwrap()["authenticatorSelection"]["userVerification"],
        "required"
    );
    let mut presence_only = SoftKey::p256(31, "localhost", ORIGIN);
    presence_only.flags = 0x01;
    let r = c
        .post(
            "/api/v1/methods/passkey/confirm",
            json!({"response": answer(&presence_only.create(&o))}),
        )
        .await;
    assert_eq!(r.json["error"]["check"], "user_not_verified", "{}", r.text);
    let o = options(&c.post("/api/v1/methods/passkey", json!({})).await);
    let r = c
        .post(
            "/api/v1/methods/passkey/confirm",
            json!({"response": answer(&key.create(&o)), "name": "Company key"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // What an admin may not do: move the relying party, or list a malformed model.
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"passkeys": {"rp_id": "evil.example"}}),
        )
        .await;
    assert!(
        r.status == 400 || r.status == 422,
        "the site is not an admin setting: {} {}",
        r.status,
        r.text
    );
    let r = admin
        .put(
            "/api/v1/admin/settings",
            json!({"passkeys": {"allowed_aaguids": ["not-an-aaguid"]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("passkeys.allowed_aaguids"),
        "{}",
        r.text
    );
    let r = admin.get("/api/v1/admin/settings").await;
    assert_eq!(r.json["passkeys"]["rp_id"], "localhost");
    assert_eq!(r.json["passkeys"]["require_user_verification"], true);
}

/// Undo the passkey-handle migration on a stopped server's database, as a
/// database written before it would be: the next start must apply it and
/// fill the column from the records.
async fn before_passkey_handles(url: &str) {
    use sqlx::{Connection, Executor};
    let undo = [
        "DROP INDEX users_by_passkey_handle",
        "ALTER TABLE users DROP COLUMN passkey_handle",
        "DELETE FROM _sqlx_migrations WHERE version = 2",
    ];
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        for q in undo {
            c.execute(q).await.unwrap();
        }
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        for q in undo {
            c.execute(q).await.unwrap();
        }
    }
}

/// Passwordless sign-in on `db`: the passkey offered without a user name
/// signs the person in with no password (`amr` `hwk user`), on a database
/// written before passkey handles were indexed too; a replayed answer, a
/// made-up user handle, a forged or other kind of ceremony, a cross-site
/// request and a key that did not verify the person are refused.
async fn passwordless(db: Db) {
    let Some((mut server, url)) = start_on(db, "passwordless") else {
        return;
    };
    let user = "noor@example.com";
    let mut admin = server.admin();
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    sign_in(&mut c, user, "password-123").await;
    let o = options(&c.post("/api/v1/methods/passkey", json!({})).await);
    let handle = answer(&o)["user"]["id"].as_str().unwrap().to_string();
    let mut key = SoftKey::p256(31, "localhost", ORIGIN);
    let r = c
        .post(
            "/api/v1/methods/passkey/confirm",
            json!({"response": answer(&key.create(&o)), "name": "Phone"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Stored before the handles were indexed: the migration fills them in.
    server.kill();
    before_passkey_handles(&url).await;
    server.restart();

    let mut anon = server.client();
    let start = anon
        .post("/api/v1/sign-in/passkey/options", json!({}))
        .await;
    let o = options(&start);
    assert_eq!(answer(&o)["userVerification"], "required");
    assert!(
        answer(&o)["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    let ceremony = start.json["ceremony"].as_str().unwrap().to_string();
    let a = answer(&key.get(&o, Some(&handle)));
    // From a page of another site: refused before the engine.
    let mut cross = anon.clone();
    cross
        .headers
        .push(("origin".into(), "https://evil.example".into()));
    let r = cross
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": ceremony, "response": a}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = anon
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": ceremony, "response": a}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["user"], user);
    assert_eq!(r.json["amr"], json!(["hwk", "user"]));
    let session = anon.get("/api/v1/session").await;
    assert_eq!(session.json["mfa"], true, "{}", session.text);
    assert_eq!(session.json["user"], user);

    // The same answer again, from anywhere.
    let mut thief = server.client();
    let r = thief
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": ceremony, "response": a}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json["error"]["check"], "ceremony_used", "{}", r.text);
    assert!(thief.get("/api/v1/session").await.status == 401);

    // A fresh ceremony, answered for a user handle nobody has.
    let start = thief
        .post("/api/v1/sign-in/passkey/options", json!({}))
        .await;
    let o = options(&start);
    let ceremony = start.json["ceremony"].as_str().unwrap().to_string();
    let made_up = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let r = thief
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": ceremony, "response": answer(&key.get(&o, Some(made_up)))}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json["error"]["check"], "unknown_credential");
    // A forged ceremony, and a login token where the ceremony goes.
    let a = answer(&key.get(&o, Some(&handle)));
    let r = thief
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": "e30.e30.AAAA", "response": a}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let mut pw = server.client();
    sign_in(&mut pw, user, "password-123").await;
    let login = pw.cookies.get("mfa_login").unwrap().clone();
    let r = thief
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": login, "response": a}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.code(), "wrong_token_kind");
    // A key that only saw a person, without verifying them.
    key.flags = 0x01;
    let r = thief
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": ceremony, "response": answer(&key.get(&o, Some(&handle)))}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json["error"]["check"], "user_not_verified");
    // Malformed answers are typed refusals.
    let r = thief
        .post(
            "/api/v1/sign-in/passkey",
            json!({"ceremony": ceremony, "response": {"id": 1}}),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.code(), "passkey_refused");
    let r = thief
        .post("/api/v1/sign-in/passkey", json!({"response": {}}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwordless_sign_in_on_sqlite() {
    passwordless(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwordless_sign_in_on_postgres() {
    passwordless(Db::Postgres).await;
}
