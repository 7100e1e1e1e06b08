-- Users: the engine's record (JSON) with its revision for compare-and-swap,
-- and the primary password hash (argon2id PHC) when the server checks passwords.
CREATE TABLE IF NOT EXISTS users (
    user_id       TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT,
    record        TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    mfa_state     TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS users_by_state ON users (mfa_state, user_id);

-- Every security-relevant event the engine reported.
CREATE TABLE IF NOT EXISTS audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    actor   TEXT,
    event   TEXT NOT NULL,
    method  TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_user ON audit_log (user_id, id);
CREATE INDEX IF NOT EXISTS audit_by_event ON audit_log (event, id);

-- Service settings changed through the admin API (JSON values).
CREATE TABLE IF NOT EXISTS settings (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
