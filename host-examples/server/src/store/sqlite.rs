//! The embedded SQLite backend on synchronous `rusqlite` connections.
//!
//! - **Writes** go to one connection owned by its own thread
//!   ([`sqlite_writer`](super::sqlite_writer)), which commits the writes
//!   waiting at that moment in one transaction.
//! - **Reads** take a read-only connection from a small pool. A point read by
//!   primary key (a user, a setting, a passkey handle) runs on the calling
//!   task: in WAL mode a reader never waits for the writer, and the pages come
//!   through a memory map, so it costs a few microseconds, less than handing it
//!   to another thread. Listings, which can read a thousand rows, run on
//!   tokio's blocking threads.
//!
//! `sqlx` only runs the migrations, on a connection closed before the server
//! starts, so both backends keep one migration history.
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use tokio::sync::mpsc;

use super::sqlite_writer::spawn_writer;
use super::{
    AuditEntry, AuditQuery, SQL_BY_PASSKEY, SQL_GET_SETTING, SQL_GET_USER, SQLITE_MIGRATIONS,
    StoreError, UserRow, UserSummary, WriteJob, lite, migrator,
};
use crate::config::StorageConfig;

/// How long a connection waits for a lock another one holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of the file read through a memory map instead of one system call per page.
const MMAP_SIZE: i64 = 256 << 20;

/// `rusqlite` errors, named by the operation; never with values.
pub(super) fn lite_err(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError(format!("{op}: {e}"))
}

/// The SQLite half of [`Store`](super::Store).
pub(super) struct Lite {
    readers: Arc<Readers>,
    reads: ReadSql,
    pub(super) writer: mpsc::Sender<WriteJob>,
}

/// The point reads in SQLite's spelling, made once.
struct ReadSql {
    get_user: String,
    by_passkey: String,
    get_setting: String,
}

impl Lite {
    /// Create the file if needed, run the migrations, start the writer and
    /// open the first reader.
    pub(super) async fn open(cfg: &StorageConfig) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(&cfg.url)
            .map_err(|e| StoreError(format!("storage.url {:?}: {e}", cfg.url)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT);
        let path = opts.get_filename().to_path_buf();
        let mut conn = SqliteConnection::connect_with(&opts)
            .await
            .map_err(|e| StoreError(format!("cannot open {}: {e}", cfg.url)))?;
        migrator(SQLITE_MIGRATIONS)
            .run(&mut conn)
            .await
            .map_err(|e| StoreError(format!("migrations failed: {e}")))?;
        conn.close()
            .await
            .map_err(|e| StoreError(format!("cannot close {}: {e}", cfg.url)))?;

        let full = cfg.sqlite_synchronous != "normal";
        let open = || {
            open_writer(&path, full)
                .map_err(|e| StoreError(format!("cannot open {} for writing: {e}", cfg.url)))
        };
        let (writer, checkpoints) = (open()?, open()?);
        let (tx, rx) = mpsc::channel(4096);
        spawn_writer(writer, checkpoints, rx, cfg.sqlite_batch)
            .map_err(|e| StoreError(format!("cannot start the SQLite writer: {e}")))?;
        let readers = Readers {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle: cfg.max_connections.max(1) as usize,
        };
        // Open one reader now, so that a file that cannot be read fails the start.
        readers
            .with(|_| Ok(()))
            .map_err(|e| StoreError(format!("cannot open {} for reading: {e}", cfg.url)))?;
        Ok(Self {
            readers: Arc::new(readers),
            reads: ReadSql {
                get_user: lite(SQL_GET_USER),
                by_passkey: lite(SQL_BY_PASSKEY),
                get_setting: lite(SQL_GET_SETTING),
            },
            writer: tx,
        })
    }

    pub(super) fn get_user(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        self.readers
            .with(|c| {
                c.prepare_cached(&self.reads.get_user)?
                    .query_row([user_id], |r| {
                        Ok(UserRow {
                            record_json: r.get(0)?,
                            revision: r.get(1)?,
                            password_hash: r.get(2)?,
                        })
                    })
                    .optional()
            })
            .map_err(lite_err("read user"))
    }

    pub(super) fn user_by_passkey_handle(
        &self,
        handle: &str,
    ) -> Result<Option<String>, StoreError> {
        self.text(&self.reads.by_passkey, handle, "find user by passkey")
    }

    pub(super) fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.text(&self.reads.get_setting, name, "read setting")
    }

    /// One text column of the row with this key, if there is one.
    fn text(&self, sql: &str, key: &str, op: &'static str) -> Result<Option<String>, StoreError> {
        self.readers
            .with(|c| {
                c.prepare_cached(sql)?
                    .query_row([key], |r| r.get(0))
                    .optional()
            })
            .map_err(lite_err(op))
    }

    pub(super) fn ping(&self) -> Result<(), StoreError> {
        self.readers
            .with(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .map(|_| ())
            .map_err(lite_err("ping"))
    }

    pub(super) async fn list_users(
        &self,
        state: Option<&str>,
        search: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserSummary>, StoreError> {
        let (state, search, after) = (
            state.map(str::to_owned),
            search.map(str::to_owned),
            after.map(str::to_owned),
        );
        self.blocking("list users", move |c| {
            let mut st = c.prepare_cached(
                "SELECT user_id, mfa_state, revision, updated_at FROM users WHERE (?1 IS NULL OR mfa_state = ?1) AND (?2 IS NULL OR user_id > ?2) AND (?4 IS NULL OR instr(user_id, ?4) > 0) ORDER BY user_id LIMIT ?3",
            )?;
            let rows = st.query_map(params![state, after, limit, search], |r| {
                Ok(UserSummary {
                    user: r.get(0)?,
                    state: r.get(1)?,
                    revision: r.get(2)?,
                    updated_at: r.get(3)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    pub(super) async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let q = q.clone();
        self.blocking("read audit log", move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, at, user_id, actor, event, method, detail FROM audit_log WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR event = ?2) AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4) AND (?5 IS NULL OR id < ?5) ORDER BY id DESC LIMIT ?6",
            )?;
            let rows = st.query_map(
                params![q.user, q.event, q.since, q.until, q.before, q.limit],
                |r| {
                    let detail: String = r.get(6)?;
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        user: r.get(2)?,
                        actor: r.get(3)?,
                        event: r.get(4)?,
                        method: r.get(5)?,
                        detail: serde_json::from_str(&detail)
                            .unwrap_or(serde_json::Value::String(detail)),
                    })
                },
            )?;
            rows.collect()
        })
        .await
    }

    /// Run a longer read on tokio's blocking threads.
    async fn blocking<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(f).map_err(lite_err(op)))
            .await
            .map_err(|e| StoreError(format!("{op}: the reading thread failed: {e}")))?
    }
}

/// Read-only connections, reused.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Connections kept when idle; more are opened while more reads run at once.
    max_idle: usize,
}

impl Readers {
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let taken = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match taken {
            Some(c) => c,
            None => open_reader(&self.path)?,
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(conn);
        }
        out
    }
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    Ok(conn)
}

fn open_writer(path: &Path, full: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The journal mode is kept in the file; the rest is per connection.
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" })?;
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
