//! The SQLite writer: one connection on its own thread that takes every write
//! waiting at that moment and commits them in one transaction (group commit),
//! answering each only after the commit reached the disk.
//!
//! The thread runs the statements itself, so a batch costs one wake-up and
//! one flush however many writes it holds. Each write runs inside its own
//! savepoint: a write that fails (a constraint, say) is undone and answered
//! with its error while the rest of the batch commits.
//!
//! Checkpoints (copying the WAL back into the database file) run on a second
//! thread with its own connection, nudged after commits and at most every
//! [`CHECKPOINT_EVERY`]: a passive checkpoint takes no writer lock, so the
//! writer never waits for one. Without it SQLite would checkpoint inside the
//! commit that crossed 1000 WAL pages, on the writer's thread.
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, params};
use tokio::sync::mpsc;

use super::sqlite::lite_err;
use super::{
    AuditRow, SQL_CAS, SQL_INSERT_USER, SQL_PUT_SETTING, SQL_REV, SQL_SET_PASSWORD, StoreError,
    WriteJob, WriteOp, lite,
};

/// One audit event (SQLite numbers its parameters `?N`).
const SQL_AUDIT_ONE: &str = "INSERT INTO audit_log (at, user_id, actor, event, method, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The least time between two checkpoints while writes go on.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Start the writer thread, and the checkpointer on `checkpoints` (a second
/// connection to the same file). Both end when every sender is dropped.
pub(super) fn spawn_writer(
    conn: Connection,
    checkpoints: Connection,
    rx: mpsc::Receiver<WriteJob>,
    batch: usize,
) -> std::io::Result<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(std::io::Error::other)?;
    let (nudge, nudged) = sync_channel::<()>(1);
    thread::Builder::new()
        .name("mfa-sqlite-ckpt".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                if let Err(e) =
                    checkpoints.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
                }
                thread::sleep(CHECKPOINT_EVERY);
            }
        })?;
    thread::Builder::new()
        .name("mfa-sqlite-writer".into())
        .spawn(move || run(conn, rx, batch, nudge))
        .map(|_| ())
}

/// The statements, in SQLite's spelling, made once.
struct Sql {
    cas: String,
    rev: String,
    insert: String,
    set_pw: String,
    put: String,
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<WriteJob>,
    batch: usize,
    checkpoint: SyncSender<()>,
) {
    let sql = Sql {
        cas: lite(SQL_CAS),
        rev: lite(SQL_REV),
        insert: lite(SQL_INSERT_USER),
        set_pw: lite(SQL_SET_PASSWORD),
        put: lite(SQL_PUT_SETTING),
    };
    let mut jobs: Vec<WriteJob> = Vec::with_capacity(batch);
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        while jobs.len() < batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        match apply_batch(&mut conn, &jobs, &sql) {
            Ok(results) => {
                for (job, r) in jobs.drain(..).zip(results) {
                    let _ = job.reply.send(r);
                }
                // One nudge waiting is enough; the checkpointer takes every
                // commit made until it runs.
                if let Err(TrySendError::Disconnected(())) = checkpoint.try_send(()) {
                    tracing::error!("the SQLite checkpointer has stopped");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "SQLite write batch failed and was rolled back");
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Apply the batch in one transaction. The outer error is the
/// transaction's own (begin, savepoint, commit): then nothing of the batch
/// was written.
fn apply_batch(
    conn: &mut Connection,
    jobs: &[WriteJob],
    sql: &Sql,
) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
    exec(conn, "BEGIN IMMEDIATE").map_err(lite_err("begin"))?;
    match apply_in_transaction(conn, jobs, sql) {
        Ok(results) => match exec(conn, "COMMIT") {
            Ok(()) => Ok(results),
            Err(e) => {
                let _ = exec(conn, "ROLLBACK");
                Err(lite_err("commit")(e))
            }
        },
        Err(e) => {
            let _ = exec(conn, "ROLLBACK");
            Err(e)
        }
    }
}

fn apply_in_transaction(
    conn: &Connection,
    jobs: &[WriteJob],
    sql: &Sql,
) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        exec(conn, "SAVEPOINT w").map_err(lite_err("savepoint"))?;
        let r = apply_one(conn, &job.op, sql);
        if !matches!(r, Ok(true)) {
            // A refused compare-and-swap or a failed statement leaves no trace.
            exec(conn, "ROLLBACK TO w").map_err(lite_err("roll back a write"))?;
        }
        exec(conn, "RELEASE w").map_err(lite_err("release savepoint"))?;
        results.push(r);
    }
    Ok(results)
}

/// Run a statement without parameters, prepared once per connection.
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// One write; `Ok(false)` when its condition did not hold (a stale revision,
/// an existing user, a replaced password).
fn apply_one(conn: &Connection, op: &WriteOp, sql: &Sql) -> Result<bool, StoreError> {
    match op {
        WriteOp::Commit(c) => {
            let ok = match &c.update {
                Some(u) => {
                    conn.prepare_cached(&sql.cas)
                        .and_then(|mut st| {
                            st.execute(params![
                                u.json,
                                u.revision,
                                u.state,
                                c.now,
                                c.user_id,
                                c.expected_revision,
                                u.passkey_handle
                            ])
                        })
                        .map_err(lite_err("write user"))?
                        == 1
                }
                None => conn
                    .prepare_cached(&sql.rev)
                    .and_then(|mut st| st.exists(params![c.user_id, c.expected_revision]))
                    .map_err(lite_err("check revision"))?,
            };
            if ok {
                append_audit(conn, &c.audit)?;
            }
            Ok(ok)
        }
        WriteOp::InsertUser {
            user_id,
            record_json,
            revision,
            state,
            password_hash,
            now,
        } => Ok(conn
            .prepare_cached(&sql.insert)
            .and_then(|mut st| {
                st.execute(params![
                    user_id,
                    password_hash,
                    record_json,
                    revision,
                    state,
                    now
                ])
            })
            .map_err(lite_err("create user"))?
            == 1),
        WriteOp::SetPassword {
            user_id,
            hash,
            expected,
        } => Ok(conn
            .prepare_cached(&sql.set_pw)
            .and_then(|mut st| st.execute(params![hash, user_id, expected]))
            .map_err(lite_err("set password"))?
            == 1),
        WriteOp::PutSetting { name, value, now } => {
            conn.prepare_cached(&sql.put)
                .and_then(|mut st| st.execute(params![name, value, now]))
                .map_err(lite_err("write setting"))?;
            Ok(true)
        }
    }
}

fn append_audit(conn: &Connection, audit: &[AuditRow]) -> Result<(), StoreError> {
    if audit.is_empty() {
        return Ok(());
    }
    let mut st = conn
        .prepare_cached(SQL_AUDIT_ONE)
        .map_err(lite_err("write audit"))?;
    for a in audit {
        st.execute(params![
            a.at, a.user_id, a.actor, a.event, a.method, a.detail
        ])
        .map_err(lite_err("write audit"))?;
    }
    Ok(())
}
