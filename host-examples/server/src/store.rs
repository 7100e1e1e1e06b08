//! Storage through `sqlx`: an SQLite file (WAL) as the embedded default, or
//! PostgreSQL. Each user's engine record is written with compare-and-swap on
//! its revision, in the same transaction as the audit events it produced.
//!
//! SQLite has one writer at a time; the server gives it one connection on a
//! thread of its own that commits the writes waiting at that moment together
//! (group commit), so each commit still reaches the disk before it is
//! acknowledged while the cost of the flush is shared (`store/sqlite.rs`).
use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use tokio::sync::oneshot;

use crate::config::StorageConfig;

mod postgres;
mod sqlite;
mod sqlite_writer;
use postgres::Pg;
use sqlite::Lite;

/// A storage failure. The message names the operation; it never holds record contents.
#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

fn db(op: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError(format!("{op}: {e}"))
}

/// One stored user.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// The engine record, as JSON.
    pub record_json: String,
    /// Its revision.
    pub revision: i64,
    /// argon2id PHC of the primary password, when set.
    pub password_hash: Option<String>,
}

/// One audit event to store.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// Unix time.
    pub at: i64,
    /// The user concerned.
    pub user_id: String,
    /// The admin who acted, if any.
    pub actor: Option<String>,
    /// Event name.
    pub event: String,
    /// Method type, if any.
    pub method: Option<String>,
    /// The whole event as JSON.
    pub detail: String,
}

/// A stored audit event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the log (use as `before` to page).
    pub id: i64,
    /// Unix time.
    pub at: i64,
    /// The user concerned.
    pub user: String,
    /// The admin who acted, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Event name.
    pub event: String,
    /// Method type, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The event's fields.
    pub detail: serde_json::Value,
}

/// Filters for the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this user.
    pub user: Option<String>,
    /// Only this event name.
    pub event: Option<String>,
    /// At or after this time.
    pub since: Option<i64>,
    /// Before this time.
    pub until: Option<i64>,
    /// Only entries with a smaller id (the previous page's `next`).
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// One user in a listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserSummary {
    /// User id.
    pub user: String,
    /// `disabled`, `enabled` or `enforced`.
    pub state: String,
    /// Record revision.
    pub revision: i64,
    /// Last change (unix time).
    pub updated_at: i64,
}

/// A compare-and-swap write of one record with its audit events.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The user.
    pub user_id: String,
    /// Revision the record had when it was read.
    pub expected_revision: i64,
    /// The new record, when it changed.
    pub update: Option<RecordUpdate>,
    /// Events to append.
    pub audit: Vec<AuditRow>,
    /// Unix time.
    pub now: i64,
}

/// A record as written back, with the columns kept beside it.
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    /// The engine record, as JSON.
    pub json: String,
    /// Its revision.
    pub revision: i64,
    /// Its MFA state (`disabled`, `enabled`, `enforced`).
    pub state: String,
    /// The user handle its passkeys were made for, when it has one: the
    /// unique key a passwordless sign-in finds the user by.
    pub passkey_handle: Option<String>,
}

enum WriteOp {
    Commit(Commit),
    InsertUser {
        user_id: String,
        record_json: String,
        revision: i64,
        state: String,
        password_hash: Option<String>,
        now: i64,
    },
    SetPassword {
        user_id: String,
        hash: String,
        /// Replace only this hash (a rehash racing a new password loses).
        expected: Option<String>,
    },
    PutSetting {
        name: String,
        value: String,
        now: i64,
    },
}

struct WriteJob {
    op: WriteOp,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

enum Backend {
    Sqlite(Lite),
    Postgres(Pg),
}

/// The database.
pub struct Store {
    backend: Backend,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

/// The migrations, in order: (version, name, SQL). Applied ones are never
/// edited; a change of the schema is a new one.
type Migrations = [(i64, &'static str, &'static str)];

fn migrator(steps: &'static Migrations) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            steps
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

const SQLITE_MIGRATIONS: &Migrations = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "passkey handles",
        include_str!("../migrations/sqlite/0002_passkey_handle.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &Migrations = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "passkey handles",
        include_str!("../migrations/postgres/0002_passkey_handle.sql"),
    ),
];

/// SQLite takes `?N` where PostgreSQL takes `$N`.
fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

const SQL_GET_USER: &str = "SELECT record, revision, password_hash FROM users WHERE user_id = $1";
const SQL_INSERT_USER: &str = "INSERT INTO users (user_id, password_hash, record, revision, mfa_state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (user_id) DO NOTHING";
const SQL_CAS: &str = "UPDATE users SET record = $1, revision = $2, mfa_state = $3, updated_at = $4, passkey_handle = $7 WHERE user_id = $5 AND revision = $6";
const SQL_BY_PASSKEY: &str = "SELECT user_id FROM users WHERE passkey_handle = $1";
const SQL_REV: &str = "SELECT 1 FROM users WHERE user_id = $1 AND revision = $2";
const SQL_SET_PASSWORD: &str =
    "UPDATE users SET password_hash = $1 WHERE user_id = $2 AND ($3 IS NULL OR password_hash = $3)";
const SQL_PUT_SETTING: &str = "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const SQL_GET_SETTING: &str = "SELECT value FROM settings WHERE name = $1";

impl Store {
    /// Connect, create the database file if needed, and run migrations.
    pub async fn connect(cfg: &StorageConfig) -> Result<Self, StoreError> {
        let backend = if cfg.url.starts_with("sqlite:") {
            Backend::Sqlite(Lite::open(cfg).await?)
        } else {
            Backend::Postgres(Pg::open(cfg).await?)
        };
        Ok(Self { backend })
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    async fn write(&self, op: WriteOp) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => {
                let (reply, rx) = oneshot::channel();
                lite.writer
                    .send(WriteJob { op, reply })
                    .await
                    .map_err(|_| StoreError("the SQLite writer has stopped".into()))?;
                rx.await
                    .map_err(|_| StoreError("the SQLite writer has stopped".into()))?
            }
            Backend::Postgres(pg) => pg.write(op).await,
        }
    }

    /// One user, if stored.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => lite.get_user(user_id),
            Backend::Postgres(pg) => pg.get_user(user_id).await,
        }
    }

    /// The user whose passkeys were made for this user handle, if any.
    pub async fn user_by_passkey_handle(&self, handle: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => lite.user_by_passkey_handle(handle),
            Backend::Postgres(pg) => pg.user_by_passkey_handle(handle).await,
        }
    }

    /// Create a user; `false` when it already exists.
    pub async fn insert_user(
        &self,
        user_id: &str,
        record_json: String,
        revision: i64,
        state: &str,
        password_hash: Option<String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(WriteOp::InsertUser {
            user_id: user_id.to_string(),
            record_json,
            revision,
            state: state.to_string(),
            password_hash,
            now,
        })
        .await
    }

    /// Write a record if its revision is still `expected_revision`, with its audit
    /// events, atomically. `false`: someone else changed the record first.
    pub async fn commit(&self, commit: Commit) -> Result<bool, StoreError> {
        self.write(WriteOp::Commit(commit)).await
    }

    /// Set a user's primary password hash. `false`: no such user.
    pub async fn set_password_hash(&self, user_id: &str, hash: String) -> Result<bool, StoreError> {
        self.write(WriteOp::SetPassword {
            user_id: user_id.to_string(),
            hash,
            expected: None,
        })
        .await
    }

    /// Replace a user's primary password hash by a rehash of the same
    /// password, only while `old` is still the stored one. `false`: the
    /// password was changed (or the user removed) meanwhile, and stays so.
    pub async fn rehash_password(
        &self,
        user_id: &str,
        old: String,
        new: String,
    ) -> Result<bool, StoreError> {
        self.write(WriteOp::SetPassword {
            user_id: user_id.to_string(),
            hash: new,
            expected: Some(old),
        })
        .await
    }

    /// Store a setting.
    pub async fn put_setting(&self, name: &str, value: String, now: i64) -> Result<(), StoreError> {
        self.write(WriteOp::PutSetting {
            name: name.to_string(),
            value,
            now,
        })
        .await
        .map(|_| ())
    }

    /// Read a setting.
    pub async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => lite.get_setting(name),
            Backend::Postgres(pg) => pg.get_setting(name).await,
        }
    }

    /// Users ordered by id, optionally of one state, after a cursor.
    pub async fn list_users(
        &self,
        state: Option<&str>,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserSummary>, StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => lite.list_users(state, search, after, limit).await,
            Backend::Postgres(pg) => pg.list_users(state, search, after, limit).await,
        }
    }

    /// Audit entries, newest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => lite.audit(q).await,
            Backend::Postgres(pg) => pg.audit(q).await,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(lite) => lite.ping(),
            Backend::Postgres(pg) => pg.ping().await,
        }
    }

    /// Every user id (for maintenance such as re-sealing), in pages.
    pub async fn all_user_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.list_users(None, None, after.as_deref(), 1000).await?;
            if page.is_empty() {
                return Ok(out);
            }
            after = page.last().map(|u| u.user.clone());
            out.extend(page.into_iter().map(|u| u.user));
        }
    }
}
