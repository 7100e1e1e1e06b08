//! The PostgreSQL backend, through a `sqlx` pool.
//!
//! A record write and its audit events are one statement: the
//! compare-and-swap `UPDATE` and the audit `INSERT` run as data-modifying
//! parts of one query, so a write is one round trip and one implicit
//! transaction, and PostgreSQL's own group commit shares the WAL flush
//! between the connections committing at once.
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use super::{
    AuditEntry, AuditQuery, AuditRow, Commit, POSTGRES_MIGRATIONS, SQL_BY_PASSKEY, SQL_GET_SETTING,
    SQL_GET_USER, SQL_INSERT_USER, SQL_PUT_SETTING, SQL_SET_PASSWORD, StoreError, UserRow,
    UserSummary, WriteOp, db, migrator,
};
use crate::config::{StorageConfig, redact_url};

/// The record's compare-and-swap and its audit events, in one statement.
/// The events are inserted only when the swap wrote the row.
const SQL_COMMIT_UPDATE: &str = "WITH u AS (UPDATE users SET record = $1, revision = $2, mfa_state = $3, updated_at = $4, passkey_handle = $7 WHERE user_id = $5 AND revision = $6 RETURNING 1), \
     a AS (INSERT INTO audit_log (at, user_id, actor, event, method, detail) SELECT * FROM unnest($8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[]) WHERE EXISTS (SELECT 1 FROM u)) \
     SELECT count(*) FROM u";
/// The same when the record did not change: the revision is checked and the
/// events are appended.
const SQL_COMMIT_CHECK: &str = "WITH u AS (SELECT 1 FROM users WHERE user_id = $1 AND revision = $2), \
     a AS (INSERT INTO audit_log (at, user_id, actor, event, method, detail) SELECT * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) WHERE EXISTS (SELECT 1 FROM u)) \
     SELECT count(*) FROM u";

/// The PostgreSQL half of [`Store`](super::Store).
pub(super) struct Pg(PgPool);

impl Pg {
    /// Connect and run the migrations.
    pub(super) async fn open(cfg: &StorageConfig) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&cfg.url)
            .await
            .map_err(|e| StoreError(format!("cannot connect to {}: {e}", redact_url(&cfg.url))))?;
        migrator(POSTGRES_MIGRATIONS)
            .run(&pool)
            .await
            .map_err(|e| StoreError(format!("migrations failed: {e}")))?;
        Ok(Self(pool))
    }

    pub(super) async fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(SQL_GET_USER)
            .bind(user_id)
            .fetch_optional(&self.0)
            .await
            .map_err(db("read user"))?;
        let Some(r) = row else {
            return Ok(None);
        };
        match (r.try_get(0), r.try_get(1), r.try_get(2)) {
            (Ok(record_json), Ok(revision), Ok(password_hash)) => Ok(Some(UserRow {
                record_json,
                revision,
                password_hash,
            })),
            _ => Err(StoreError("read user: unexpected column types".into())),
        }
    }

    pub(super) async fn user_by_passkey_handle(
        &self,
        handle: &str,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(SQL_BY_PASSKEY)
            .bind(handle)
            .fetch_optional(&self.0)
            .await
            .map_err(db("find user by passkey"))
    }

    pub(super) async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(SQL_GET_SETTING)
            .bind(name)
            .fetch_optional(&self.0)
            .await
            .map_err(db("read setting"))
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.0)
            .await
            .map(|_| ())
            .map_err(db("ping"))
    }

    pub(super) async fn list_users(
        &self,
        state: Option<&str>,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserSummary>, StoreError> {
        sqlx::query(
            "SELECT user_id, mfa_state, revision, updated_at FROM users WHERE ($1::text IS NULL OR mfa_state = $1) AND ($2::text IS NULL OR user_id > $2) AND ($4::text IS NULL OR strpos(user_id, $4) > 0) ORDER BY user_id LIMIT $3",
        )
        .bind(state)
        .bind(after)
        .bind(limit)
        .bind(search)
        .fetch_all(&self.0)
        .await
        .map_err(db("list users"))?
        .iter()
        .map(summary)
        .collect()
    }

    pub(super) async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        sqlx::query(
            "SELECT id, at, user_id, actor, event, method, detail FROM audit_log WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR event = $2) AND ($3::bigint IS NULL OR at >= $3) AND ($4::bigint IS NULL OR at < $4) AND ($5::bigint IS NULL OR id < $5) ORDER BY id DESC LIMIT $6",
        )
        .bind(q.user.as_deref())
        .bind(q.event.as_deref())
        .bind(q.since)
        .bind(q.until)
        .bind(q.before)
        .bind(q.limit)
        .fetch_all(&self.0)
        .await
        .map_err(db("read audit log"))?
        .iter()
        .map(audit_entry)
        .collect()
    }

    pub(super) async fn write(&self, op: WriteOp) -> Result<bool, StoreError> {
        let pool = &self.0;
        match op {
            WriteOp::Commit(c) => commit(pool, &c).await,
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
}

/// The audit events as one array per column, for `unnest`, borrowed.
struct AuditColumns<'a> {
    at: Vec<i64>,
    user_id: Vec<&'a str>,
    actor: Vec<Option<&'a str>>,
    event: Vec<&'a str>,
    method: Vec<Option<&'a str>>,
    detail: Vec<&'a str>,
}

impl<'a> AuditColumns<'a> {
    fn of(rows: &'a [AuditRow]) -> Self {
        Self {
            at: rows.iter().map(|a| a.at).collect(),
            user_id: rows.iter().map(|a| a.user_id.as_str()).collect(),
            actor: rows.iter().map(|a| a.actor.as_deref()).collect(),
            event: rows.iter().map(|a| a.event.as_str()).collect(),
            method: rows.iter().map(|a| a.method.as_deref()).collect(),
            detail: rows.iter().map(|a| a.detail.as_str()).collect(),
        }
    }
}

async fn commit(pool: &PgPool, c: &Commit) -> Result<bool, StoreError> {
    let a = AuditColumns::of(&c.audit);
    let written: i64 = match &c.update {
        Some(u) => sqlx::query_scalar(SQL_COMMIT_UPDATE)
            .bind(&u.json)
            .bind(u.revision)
            .bind(&u.state)
            .bind(c.now)
            .bind(&c.user_id)
            .bind(c.expected_revision)
            .bind(&u.passkey_handle),
        None => sqlx::query_scalar(SQL_COMMIT_CHECK)
            .bind(&c.user_id)
            .bind(c.expected_revision),
    }
    .bind(a.at)
    .bind(a.user_id)
    .bind(a.actor)
    .bind(a.event)
    .bind(a.method)
    .bind(a.detail)
    .fetch_one(pool)
    .await
    .map_err(db("write user"))?;
    Ok(written == 1)
}

fn summary(r: &PgRow) -> Result<UserSummary, StoreError> {
    let bad = |e: sqlx::Error| StoreError(format!("list users: {e}"));
    Ok(UserSummary {
        user: r.try_get(0).map_err(bad)?,
        state: r.try_get(1).map_err(bad)?,
        revision: r.try_get(2).map_err(bad)?,
        updated_at: r.try_get(3).map_err(bad)?,
    })
}

fn audit_entry(r: &PgRow) -> Result<AuditEntry, StoreError> {
    let bad = |e: sqlx::Error| StoreError(format!("read audit log: {e}"));
    let detail: String = r.try_get(6).map_err(bad)?;
    Ok(AuditEntry {
        id: r.try_get(0).map_err(bad)?,
        at: r.try_get(1).map_err(bad)?,
        user: r.try_get(2).map_err(bad)?,
        actor: r.try_get(3).map_err(bad)?,
        event: r.try_get(4).map_err(bad)?,
        method: r.try_get(5).map_err(bad)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
    })
}
