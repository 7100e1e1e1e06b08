//! The SQLite writer: one connection that takes every write waiting at that
//! moment and commits them in one transaction (group commit), answering each
//! only after the commit reached the disk.
use super::*;

/// The SQLite writer: waits for a write, takes every other write already
/// waiting (up to `batch`), applies them in one transaction, and answers each
/// after the commit has reached the disk.
pub(super) async fn sqlite_writer(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<WriteJob>,
    batch: usize,
) {
    let mut jobs: Vec<WriteJob> = Vec::with_capacity(batch);
    let cas = lite(SQL_CAS);
    let rev = lite(SQL_REV);
    let insert = lite(SQL_INSERT_USER);
    let set_pw = lite(SQL_SET_PASSWORD);
    let put = lite(SQL_PUT_SETTING);
    let stmts = LiteSql {
        cas: &cas,
        rev: &rev,
        insert: &insert,
        set_pw: &set_pw,
        put: &put,
    };
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let outcome = apply_batch(&mut conn, &jobs, &stmts).await;
        match outcome {
            Ok(results) => {
                for (job, r) in jobs.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(r));
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

struct LiteSql<'a> {
    cas: &'a str,
    rev: &'a str,
    insert: &'a str,
    set_pw: &'a str,
    put: &'a str,
}

async fn apply_batch(
    conn: &mut SqliteConnection,
    jobs: &[WriteJob],
    s: &LiteSql<'_>,
) -> Result<Vec<bool>, StoreError> {
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(db("begin"))?;
    let mut results = vec![false; jobs.len()];
    // Record writes of distinct users go in one compare-and-swap statement;
    // everything else (and a second write of the same user) follows in order.
    let mut bulk: Vec<usize> = Vec::new();
    let mut users: HashSet<&str> = HashSet::new();
    for (i, job) in jobs.iter().enumerate() {
        if let WriteOp::Commit(c) = &job.op
            && c.update.is_some()
            && users.insert(c.user_id.as_str())
        {
            bulk.push(i);
        }
    }
    for chunk in bulk.chunks(CAS_ROWS_PER_UPDATE) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "WITH v(uid, rec, rev, st, upd, exp, pkh) AS (",
        );
        q.push_values(chunk, |mut b, i| {
            if let WriteOp::Commit(c) = &jobs[*i].op
                && let Some(u) = &c.update
            {
                b.push_bind(&c.user_id)
                    .push_bind(&u.json)
                    .push_bind(u.revision)
                    .push_bind(&u.state)
                    .push_bind(c.now)
                    .push_bind(c.expected_revision)
                    .push_bind(&u.passkey_handle);
            }
        });
        q.push(") UPDATE users SET record = v.rec, revision = v.rev, mfa_state = v.st, updated_at = v.upd, passkey_handle = v.pkh FROM v WHERE users.user_id = v.uid AND users.revision = v.exp RETURNING users.user_id");
        let written: Vec<String> = match q.build_query_scalar().fetch_all(&mut *conn).await {
            Ok(w) => w,
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return Err(db("write users")(e));
            }
        };
        let written: HashSet<&str> = written.iter().map(String::as_str).collect();
        for i in chunk {
            if let WriteOp::Commit(c) = &jobs[*i].op {
                results[*i] = written.contains(c.user_id.as_str());
            }
        }
    }
    for (i, job) in jobs.iter().enumerate() {
        if bulk.binary_search(&i).is_ok() {
            continue;
        }
        match apply_one(conn, &job.op, s).await {
            Ok(r) => results[i] = r,
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                return Err(e);
            }
        }
    }
    let mut audit: Vec<&AuditRow> = Vec::new();
    for (job, ok) in jobs.iter().zip(&results) {
        if *ok && let WriteOp::Commit(c) = &job.op {
            audit.extend(c.audit.iter());
        }
    }
    // The audit events of the whole batch, in as few statements as possible.
    for chunk in audit.chunks(AUDIT_ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(AUDIT_INSERT_HEAD);
        q.push_values(chunk, |mut b, a| {
            b.push_bind(a.at)
                .push_bind(&a.user_id)
                .push_bind(&a.actor)
                .push_bind(&a.event)
                .push_bind(&a.method)
                .push_bind(&a.detail);
        });
        if let Err(e) = q.build().execute(&mut *conn).await {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(db("write audit")(e));
        }
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(db("commit")(e));
    }
    Ok(results)
}

async fn apply_one(
    conn: &mut SqliteConnection,
    op: &WriteOp,
    s: &LiteSql<'_>,
) -> Result<bool, StoreError> {
    match op {
        WriteOp::Commit(c) => {
            let ok = match &c.update {
                Some(u) => {
                    sqlx::query(s.cas)
                        .bind(&u.json)
                        .bind(u.revision)
                        .bind(&u.state)
                        .bind(c.now)
                        .bind(&c.user_id)
                        .bind(c.expected_revision)
                        .bind(&u.passkey_handle)
                        .execute(&mut *conn)
                        .await
                        .map_err(db("write user"))?
                        .rows_affected()
                        == 1
                }
                None => sqlx::query(s.rev)
                    .bind(&c.user_id)
                    .bind(c.expected_revision)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db("check revision"))?
                    .is_some(),
            };
            Ok(ok)
        }
        WriteOp::InsertUser {
            user_id,
            record_json,
            revision,
            state,
            password_hash,
            now,
        } => Ok(sqlx::query(s.insert)
            .bind(user_id)
            .bind(password_hash)
            .bind(record_json)
            .bind(revision)
            .bind(state)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db("create user"))?
            .rows_affected()
            == 1),
        WriteOp::SetPassword {
            user_id,
            hash,
            expected,
        } => Ok(sqlx::query(s.set_pw)
            .bind(hash)
            .bind(user_id)
            .bind(expected)
            .execute(&mut *conn)
            .await
            .map_err(db("set password"))?
            .rows_affected()
            == 1),
        WriteOp::PutSetting { name, value, now } => {
            sqlx::query(s.put)
                .bind(name)
                .bind(value)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(db("write setting"))?;
            Ok(true)
        }
    }
}
