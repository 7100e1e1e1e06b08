//! The store on its own, on SQLite and on a real PostgreSQL server: writes
//! racing for the same record, a write that breaks a constraint in the
//! middle of a batch, and audit events that belong only to writes that
//! happened.
mod common;

use std::sync::Arc;

use common::{Db, db_url, temp_dir};
use mfa_server::config::StorageConfig;
use mfa_server::store::{AuditQuery, AuditRow, Commit, RecordUpdate, Store};

async fn open(db: Db, tag: &str) -> Option<Arc<Store>> {
    let dir = temp_dir(tag);
    let url = db_url(db, &dir)?;
    let cfg = StorageConfig {
        url,
        ..StorageConfig::default()
    };
    Some(Arc::new(Store::connect(&cfg).await.expect("store opens")))
}

fn audit(user: &str, event: &str) -> AuditRow {
    AuditRow {
        at: 1_700_000_000,
        user_id: user.into(),
        actor: None,
        event: event.into(),
        method: Some("authenticator_app".into()),
        detail: format!("{{\"event\":\"{event}\"}}"),
    }
}

fn commit(user: &str, expected: i64, handle: Option<&str>, event: &str) -> Commit {
    Commit {
        user_id: user.into(),
        expected_revision: expected,
        update: Some(RecordUpdate {
            json: format!("{{\"user\":\"{user}\",\"rev\":{}}}", expected + 1),
            revision: expected + 1,
            state: "enabled".into(),
            passkey_handle: handle.map(str::to_owned),
        }),
        audit: vec![audit(user, event)],
        now: 1_700_000_000,
    }
}

async fn events(store: &Store, user: &str) -> Vec<String> {
    let mut e: Vec<String> = store
        .audit(&AuditQuery {
            user: Some(user.into()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.event)
        .collect();
    e.reverse();
    e
}

/// Many writers at once: each record swap wins exactly once per revision,
/// the losers leave no audit event behind, and a write whose passkey handle
/// another user already holds fails alone, without taking the writes
/// committed with it down.
async fn racing_writes(db: Db) {
    let Some(store) = open(db, &format!("store-race-{db:?}")).await else {
        return;
    };
    let users: Vec<String> = (0..64).map(|i| format!("user{i:02}")).collect();
    for u in &users {
        assert!(
            store
                .insert_user(u, String::new(), 0, "disabled", None, 0)
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .insert_user("user00", String::new(), 0, "disabled", None, 0)
            .await
            .unwrap(),
        "a second insert of the same user is refused"
    );
    // user00 holds the handle first.
    assert!(
        store
            .commit(commit("user00", 0, Some("handle-A"), "first"))
            .await
            .unwrap()
    );

    // A user who does not race; its write tries to take user00's handle.
    assert!(
        store
            .insert_user("mallory", String::new(), 0, "disabled", None, 0)
            .await
            .unwrap()
    );

    // Every user gets four writers expecting revision 0 (user00: 1). Halfway
    // through, mallory's write joins the queue, so it is committed in a
    // batch with other users' writes.
    let mut tasks = Vec::new();
    let mut thief = None;
    for round in 0..4 {
        if round == 2 {
            let store = store.clone();
            thief = Some(tokio::spawn(async move {
                store
                    .commit(commit("mallory", 0, Some("handle-A"), "thief"))
                    .await
            }));
        }
        for u in &users {
            let (store, u) = (store.clone(), u.clone());
            let expected = if u == "user00" { 1 } else { 0 };
            tasks.push(tokio::spawn(async move {
                let event = format!("race{round}");
                // A record write carries the record's handle: user00 keeps its own.
                let handle = (u == "user00").then_some("handle-A");
                let r = store.commit(commit(&u, expected, handle, &event)).await;
                (u, r)
            }));
        }
    }
    let mut wins = std::collections::HashMap::<String, usize>::new();
    for t in tasks {
        let (u, r) = t.await.unwrap();
        if r.expect("a racing write is answered, not failed") {
            *wins.entry(u).or_default() += 1;
        }
    }
    let thief = thief.unwrap().await.unwrap();
    assert!(
        thief.is_err(),
        "a passkey handle another user holds is refused: {thief:?}"
    );
    assert_eq!(
        store.get_user("mallory").await.unwrap().unwrap().revision,
        0
    );
    assert!(events(&store, "mallory").await.is_empty());
    for u in &users {
        assert_eq!(
            wins.get(u).copied().unwrap_or(0),
            1,
            "{u}: exactly one writer wins the revision"
        );
        let row = store.get_user(u).await.unwrap().unwrap();
        let want = if u == "user00" { 2 } else { 1 };
        assert_eq!(row.revision, want, "{u}");
        // Only the winner's event was kept.
        let ev = events(&store, u).await;
        let races: Vec<&String> = ev.iter().filter(|e| e.starts_with("race")).collect();
        assert_eq!(races.len(), 1, "{u}: events {ev:?}");
        assert!(!ev.iter().any(|e| e == "thief"), "{u}: {ev:?}");
    }
    assert_eq!(
        store.user_by_passkey_handle("handle-A").await.unwrap(),
        Some("user00".into())
    );

    // The handle taken on purpose, with no race: an error naming the write,
    // and nothing of it kept.
    let before = store.get_user("user02").await.unwrap().unwrap();
    let err = store
        .commit(commit("user02", before.revision, Some("handle-A"), "thief"))
        .await
        .expect_err("a second user cannot take a passkey handle");
    assert!(err.to_string().contains("write user"), "{err}");
    assert_eq!(
        store.get_user("user02").await.unwrap().unwrap().revision,
        before.revision
    );
    assert!(!events(&store, "user02").await.iter().any(|e| e == "thief"));
    // …and the next write of the same user still works.
    assert!(
        store
            .commit(commit("user02", before.revision, Some("handle-B"), "after"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.user_by_passkey_handle("handle-B").await.unwrap(),
        Some("user02".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writes_on_sqlite() {
    racing_writes(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writes_on_postgres() {
    racing_writes(Db::Postgres).await;
}
