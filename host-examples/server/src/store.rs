//! Storage through `sqlx`: an SQLite file (WAL) as the embedded default, or
//! PostgreSQL. Each user's engine record is written with compare-and-swap on
//! its revision, in the same transaction as the audit events it produced.
//!
//! SQLite has one writer at a time; the server gives it one dedicated
//! connection that commits the writes waiting at that moment together (group
//! commit), so each commit still reaches the disk before it is acknowledged
//! while the cost of the flush is shared.
use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::config::{StorageConfig, redact_url};

mod sqlite_writer;
use sqlite_writer::sqlite_writer;

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
    Sqlite {
        read: SqlitePool,
        writer: mpsc::Sender<WriteJob>,
    },
    Postgres(PgPool),
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
const AUDIT_INSERT_HEAD: &str =
    "INSERT INTO audit_log (at, user_id, actor, event, method, detail) ";
/// Record writes per statement (six parameters each).
const CAS_ROWS_PER_UPDATE: usize = 500;
/// Six parameters a row, well under SQLite's and PostgreSQL's parameter limits.
const AUDIT_ROWS_PER_INSERT: usize = 500;
const SQL_SET_PASSWORD: &str =
    "UPDATE users SET password_hash = $1 WHERE user_id = $2 AND ($3 IS NULL OR password_hash = $3)";
const SQL_PUT_SETTING: &str = "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const SQL_GET_SETTING: &str = "SELECT value FROM settings WHERE name = $1";

impl Store {
    /// Connect, create the database file if needed, and run migrations.
    pub async fn connect(cfg: &StorageConfig) -> Result<Self, StoreError> {
        if cfg.url.starts_with("sqlite:") {
            Self::connect_sqlite(cfg).await
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(cfg.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&cfg.url)
                .await
                .map_err(|e| {
                    StoreError(format!("cannot connect to {}: {e}", redact_url(&cfg.url)))
                })?;
            migrator(POSTGRES_MIGRATIONS)
                .run(&pool)
                .await
                .map_err(|e| StoreError(format!("migrations failed: {e}")))?;
            Ok(Self {
                backend: Backend::Postgres(pool),
            })
        }
    }

    async fn connect_sqlite(cfg: &StorageConfig) -> Result<Self, StoreError> {
        let sync = if cfg.sqlite_synchronous == "normal" {
            SqliteSynchronous::Normal
        } else {
            SqliteSynchronous::Full
        };
        let opts = SqliteConnectOptions::from_str(&cfg.url)
            .map_err(|e| StoreError(format!("storage.url {:?}: {e}", cfg.url)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .busy_timeout(Duration::from_secs(10))
            .statement_cache_capacity(64)
            // Read pages through a memory map instead of one system call per page.
            .pragma("mmap_size", "268435456");
        let mut writer = SqliteConnection::connect_with(&opts)
            .await
            .map_err(|e| StoreError(format!("cannot open {}: {e}", cfg.url)))?;
        migrator(SQLITE_MIGRATIONS)
            .run(&mut writer)
            .await
            .map_err(|e| StoreError(format!("migrations failed: {e}")))?;
        let read = SqlitePoolOptions::new()
            .max_connections(cfg.max_connections)
            .min_connections(1)
            .connect_with(opts.read_only(true))
            .await
            .map_err(|e| StoreError(format!("cannot open {} for reading: {e}", cfg.url)))?;
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(sqlite_writer(writer, rx, cfg.sqlite_batch));
        Ok(Self {
            backend: Backend::Sqlite { read, writer: tx },
        })
    }

    /// `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    async fn write(&self, op: WriteOp) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                let (reply, rx) = oneshot::channel();
                writer
                    .send(WriteJob { op, reply })
                    .await
                    .map_err(|_| StoreError("the SQLite writer has stopped".into()))?;
                rx.await
                    .map_err(|_| StoreError("the SQLite writer has stopped".into()))?
            }
            Backend::Postgres(pool) => pg_write(pool, op).await,
        }
    }

    /// One user, if stored.
    pub async fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = match &self.backend {
            Backend::Sqlite { read, .. } => sqlx::query(&lite(SQL_GET_USER))
                .bind(user_id)
                .fetch_optional(read)
                .await
                .map_err(db("read user"))?
                .map(|r| (r.try_get(0), r.try_get(1), r.try_get(2))),
            Backend::Postgres(pool) => sqlx::query(SQL_GET_USER)
                .bind(user_id)
                .fetch_optional(pool)
                .await
                .map_err(db("read user"))?
                .map(|r| (r.try_get(0), r.try_get(1), r.try_get(2))),
        };
        match row {
            None => Ok(None),
            Some((Ok(record_json), Ok(revision), Ok(password_hash))) => Ok(Some(UserRow {
                record_json,
                revision,
                password_hash,
            })),
            Some(_) => Err(StoreError("read user: unexpected column types".into())),
        }
    }

    /// The user whose passkeys were made for this user handle, if any.
    pub async fn user_by_passkey_handle(&self, handle: &str) -> Result<Option<String>, StoreError> {
        let found = match &self.backend {
            Backend::Sqlite { read, .. } => {
                sqlx::query_scalar(&lite(SQL_BY_PASSKEY))
                    .bind(handle)
                    .fetch_optional(read)
                    .await
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar(SQL_BY_PASSKEY)
                    .bind(handle)
                    .fetch_optional(pool)
                    .await
            }
        };
        found.map_err(db("find user by passkey"))
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
        let v = match &self.backend {
            Backend::Sqlite { read, .. } => {
                sqlx::query_scalar(&lite(SQL_GET_SETTING))
                    .bind(name)
                    .fetch_optional(read)
                    .await
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar(SQL_GET_SETTING)
                    .bind(name)
                    .fetch_optional(pool)
                    .await
            }
        };
        v.map_err(db("read setting"))
    }

    /// Users ordered by id, optionally of one state, after a cursor.
    pub async fn list_users(
        &self,
        state: Option<&str>,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserSummary>, StoreError> {
        let sql = "SELECT user_id, mfa_state, revision, updated_at FROM users WHERE ($1 IS NULL OR mfa_state = $1) AND ($2 IS NULL OR user_id > $2) AND ($4 IS NULL OR instr(user_id, $4) > 0) ORDER BY user_id LIMIT $3";
        let rows = match &self.backend {
            Backend::Sqlite { read, .. } => sqlx::query(&lite(sql))
                .bind(state)
                .bind(after)
                .bind(limit)
                .bind(search)
                .fetch_all(read)
                .await
                .map_err(db("list users"))?
                .into_iter()
                .map(|r| summary(&r))
                .collect::<Result<Vec<_>, _>>()?,
            Backend::Postgres(pool) => sqlx::query(
                "SELECT user_id, mfa_state, revision, updated_at FROM users WHERE ($1::text IS NULL OR mfa_state = $1) AND ($2::text IS NULL OR user_id > $2) AND ($4::text IS NULL OR strpos(user_id, $4) > 0) ORDER BY user_id LIMIT $3",
            )
            .bind(state)
            .bind(after)
            .bind(limit)
            .bind(search)
            .fetch_all(pool)
            .await
            .map_err(db("list users"))?
            .into_iter()
            .map(|r| summary(&r))
            .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    /// Audit entries, newest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let pg = "SELECT id, at, user_id, actor, event, method, detail FROM audit_log WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR event = $2) AND ($3::bigint IS NULL OR at >= $3) AND ($4::bigint IS NULL OR at < $4) AND ($5::bigint IS NULL OR id < $5) ORDER BY id DESC LIMIT $6";
        let lt = "SELECT id, at, user_id, actor, event, method, detail FROM audit_log WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR event = ?2) AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4) AND (?5 IS NULL OR id < ?5) ORDER BY id DESC LIMIT ?6";
        macro_rules! run {
            ($sql:expr, $pool:expr) => {
                sqlx::query($sql)
                    .bind(q.user.as_deref())
                    .bind(q.event.as_deref())
                    .bind(q.since)
                    .bind(q.until)
                    .bind(q.before)
                    .bind(q.limit)
                    .fetch_all($pool)
                    .await
                    .map_err(db("read audit log"))?
                    .into_iter()
                    .map(|r| audit_entry(&r))
                    .collect::<Result<Vec<_>, _>>()
            };
        }
        match &self.backend {
            Backend::Sqlite { read, .. } => run!(lt, read),
            Backend::Postgres(pool) => run!(pg, pool),
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let r: Result<i32, _> = match &self.backend {
            Backend::Sqlite { read, .. } => sqlx::query_scalar("SELECT 1").fetch_one(read).await,
            Backend::Postgres(pool) => sqlx::query_scalar("SELECT 1").fetch_one(pool).await,
        };
        r.map(|_| ()).map_err(db("ping"))
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

fn summary<R: Row>(r: &R) -> Result<UserSummary, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let bad = |e: sqlx::Error| StoreError(format!("list users: {e}"));
    Ok(UserSummary {
        user: r.try_get(0usize).map_err(bad)?,
        state: r.try_get(1usize).map_err(bad)?,
        revision: r.try_get(2usize).map_err(bad)?,
        updated_at: r.try_get(3usize).map_err(bad)?,
    })
}

fn audit_entry<R: Row>(r: &R) -> Result<AuditEntry, StoreError>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    i64: for<'a> sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let bad = |e: sqlx::Error| StoreError(format!("read audit log: {e}"));
    let detail: String = r.try_get(6usize).map_err(bad)?;
    Ok(AuditEntry {
        id: r.try_get(0usize).map_err(bad)?,
        at: r.try_get(1usize).map_err(bad)?,
        user: r.try_get(2usize).map_err(bad)?,
        actor: r.try_get(3usize).map_err(bad)?,
        event: r.try_get(4usize).map_err(bad)?,
        method: r.try_get(5usize).map_err(bad)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
    })
}

async fn pg_write(pool: &PgPool, op: WriteOp) -> Result<bool, StoreError> {
    match op {
        WriteOp::Commit(c) => {
            let mut tx = pool.begin().await.map_err(db("begin"))?;
            let ok = match &c.update {
                Some(u) => {
                    sqlx::query(SQL_CAS)
                        .bind(&u.json)
                        .bind(u.revision)
                        .bind(&u.state)
                        .bind(c.now)
                        .bind(&c.user_id)
                        .bind(c.expected_revision)
                        .bind(&u.passkey_handle)
                        .execute(&mut *tx)
                        .await
                        .map_err(db("write user"))?
                        .rows_affected()
                        == 1
                }
                None => sqlx::query(SQL_REV)
                    .bind(&c.user_id)
                    .bind(c.expected_revision)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("check revision"))?
                    .is_some(),
            };
            if !ok {
                tx.rollback().await.map_err(db("rollback"))?;
                return Ok(false);
            }
            for chunk in c.audit.chunks(AUDIT_ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(AUDIT_INSERT_HEAD);
                q.push_values(chunk, |mut b, a| {
                    b.push_bind(a.at)
                        .push_bind(&a.user_id)
                        .push_bind(&a.actor)
                        .push_bind(&a.event)
                        .push_bind(&a.method)
                        .push_bind(&a.detail);
                });
                q.build()
                    .execute(&mut *tx)
                    .await
                    .map_err(db("write audit"))?;
            }
            tx.commit().await.map_err(db("commit"))?;
            Ok(true)
        }
        WriteOp::InsertUser {
            user_id,
            record_json,
            revision,
            state,
            password_hash,
            now,
        } => Ok(sqlx::query(SQL_INSERT_USER)
            .bind(user_id)
            .bind(password_hash)
            .bind(record_json)
            .bind(revision)
            .bind(state)
            .bind(now)
            .execute(pool)
            .await
            .map_err(db("create user"))?
            .rows_affected()
            == 1),
        WriteOp::SetPassword {
            user_id,
            hash,
            expected,
        } => Ok(sqlx::query(SQL_SET_PASSWORD)
            .bind(hash)
            .bind(user_id)
            .bind(expected)
            .execute(pool)
            .await
            .map_err(db("set password"))?
            .rows_affected()
            == 1),
        WriteOp::PutSetting { name, value, now } => {
            sqlx::query(SQL_PUT_SETTING)
                .bind(name)
                .bind(value)
                .bind(now)
                .execute(pool)
                .await
                .map_err(db("write setting"))?;
            Ok(true)
        }
    }
}
