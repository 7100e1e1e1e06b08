//! Primary passwords through the engine: the PHC strings the server stores are
//! made and checked by the component; new parameters lead to a rehash at the
//! next sign-in; a rehash never overwrites a password changed meanwhile; a
//! planted or unusable stored string refuses the sign-in instead of costing
//! the server its memory; lengths are the engine's rule.
//!
//! Who may call: anyone may try `POST /sign-in`; only the admin token sets a
//! password. What an attacker tries, each played below: an over-long password
//! (work for argon2's first pass), a stored string with huge parameters (a
//! planted row), and a rehash racing an administrator's password change.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use common::*;
use mfa_server::config::StorageConfig;
use mfa_server::store::Store;
use serde_json::json;

async fn stored_hash(url: &str, user: &str) -> Option<String> {
    let store = Store::connect(&StorageConfig {
        url: url.to_string(),
        ..StorageConfig::default()
    })
    .await
    .unwrap();
    store
        .get_user(user)
        .await
        .unwrap()
        .and_then(|r| r.password_hash)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_parameters_rehash_the_password_at_the_next_sign_in() {
    let dir = temp_dir("rehash");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let config = base_config(&url, FAST_POLICY);
    let mut server = Server::start(&dir, &config);
    let mut admin = server.admin();
    create_user(&mut admin, "rita@example.com", "correct horse").await;
    let first = stored_hash(&url, "rita@example.com").await.unwrap();
    assert!(first.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{first}");

    // The operator raises the parameters and restarts.
    let stronger = config.replace(
        "[auth]\nargon2 = { m_kib = 64, t = 1, p = 1 }",
        "[auth]\nargon2 = { m_kib = 128, t = 2, p = 1 }",
    );
    assert_ne!(stronger, config);
    std::fs::write(dir.join("server.toml"), &stronger).unwrap();
    server.restart();

    let mut c = server.client();
    let r = sign_in(&mut c, "rita@example.com", "correct horse!").await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_credentials"),
        "{}",
        r.text
    );
    assert_eq!(
        stored_hash(&url, "rita@example.com").await.as_ref(),
        Some(&first)
    );

    let r = sign_in(&mut c, "rita@example.com", "correct horse").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let second = stored_hash(&url, "rita@example.com").await.unwrap();
    assert!(
        second.starts_with("$argon2id$v=19$m=128,t=2,p=1$"),
        "{second}"
    );
    // The new string still signs in, and is not rehashed again.
    let mut c = server.client();
    let r = sign_in(&mut c, "rita@example.com", "correct horse").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(stored_hash(&url, "rita@example.com").await.unwrap(), second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehash_never_overwrites_a_password_changed_meanwhile() {
    for db in [Db::Sqlite, Db::Postgres] {
        let dir = temp_dir("rehash-race");
        let Some(url) = db_url(db, &dir) else {
            continue;
        };
        let store = Store::connect(&StorageConfig {
            url: url.clone(),
            ..StorageConfig::default()
        })
        .await
        .unwrap();
        let old =
            "$argon2id$v=19$m=64,t=1,p=1$b2xkc2FsdG9sZA$b2xkaGFzaG9sZGhhc2hvbGRoYXNo".to_string();
        assert!(
            store
                .insert_user(
                    "sam@example.com",
                    String::new(),
                    0,
                    "disabled",
                    Some(old.clone()),
                    1
                )
                .await
                .unwrap()
        );
        // The administrator sets a new password while a sign-in with the old
        // one is being rehashed: the rehash finds another string and loses.
        let admin_set =
            "$argon2id$v=19$m=64,t=1,p=1$bmV3c2FsdG5ldw$bmV3aGFzaG5ld2hhc2huZXdoYXNo".to_string();
        assert!(
            store
                .set_password_hash("sam@example.com", admin_set.clone())
                .await
                .unwrap()
        );
        let rehash =
            "$argon2id$v=19$m=128,t=2,p=1$cmVoYXNoc2FsdA$cmVoYXNoaGFzaHJlaGFzaGhhc2g".to_string();
        assert!(
            !store
                .rehash_password("sam@example.com", old, rehash.clone())
                .await
                .unwrap()
        );
        let row = store.get_user("sam@example.com").await.unwrap().unwrap();
        assert_eq!(row.password_hash, Some(admin_set.clone()), "{db:?}");
        // Against the current string the rehash is stored.
        assert!(
            store
                .rehash_password("sam@example.com", admin_set, rehash.clone())
                .await
                .unwrap()
        );
        let row = store.get_user("sam@example.com").await.unwrap().unwrap();
        assert_eq!(row.password_hash, Some(rehash), "{db:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_stored_strings_and_bad_lengths_are_refused_without_the_work() {
    let dir = temp_dir("planted");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let server = Server::start(&dir, &base_config(&url, FAST_POLICY));
    let mut admin = server.admin();
    create_user(&mut admin, "tess@example.com", "correct horse").await;

    // A planted row asks for 4 GiB + 1 KiB per check: refused like a wrong
    // password (an attacker learns nothing), and the server keeps answering.
    let store = Store::connect(&StorageConfig {
        url: url.clone(),
        ..StorageConfig::default()
    })
    .await
    .unwrap();
    let planted =
        "$argon2id$v=19$m=4194305,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    assert!(
        store
            .set_password_hash("tess@example.com", planted.into())
            .await
            .unwrap()
    );
    let mut c = server.client();
    let r = sign_in(&mut c, "tess@example.com", "correct horse").await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_credentials"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("4194305"), "{}", r.text);
    let r = c.get("/healthz").await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Lengths are the engine's rule, in its words.
    let long = "x".repeat(1025);
    let r = sign_in(&mut c, "tess@example.com", &long).await;
    assert_eq!((r.status, r.code()), (422, "invalid_input"), "{}", r.text);
    assert!(r.text.contains("1 to 1024 bytes"), "{}", r.text);
    let r = sign_in(&mut c, "tess@example.com", "").await;
    assert_eq!((r.status, r.code()), (422, "invalid_input"), "{}", r.text);
    for bad in ["short", long.as_str()] {
        let r = admin
            .post(
                "/api/v1/admin/users",
                json!({"user": "uma@example.com", "password": bad}),
            )
            .await;
        assert_eq!((r.status, r.code()), (422, "invalid_input"), "{}", r.text);
        assert!(r.text.contains("8 to 1024 bytes"), "{}", r.text);
        assert!(
            !r.text.contains(bad),
            "the password is never echoed: {}",
            r.text
        );
    }
    // The refused user was not created.
    let r = sign_in(&mut c, "uma@example.com", "long enough password").await;
    assert_eq!(
        (r.status, r.code()),
        (401, "invalid_credentials"),
        "{}",
        r.text
    );
}
