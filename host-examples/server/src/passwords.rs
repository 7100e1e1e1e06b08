//! Primary passwords: the engine makes and checks the PHC strings
//! (`MfaHost::hash_new_password`, `MfaHost::check_password`), on the hashing
//! threads (`hash_pool.rs`); the server stores them and, when the engine says
//! a stored string uses old parameters, stores a rehash in its place.
use std::time::Instant;

use mfa_host::PasswordCheck;

use crate::AppState;
use crate::error::ApiError;
use crate::unix_now;

impl AppState {
    /// The PHC string to store for a new password (the engine checks its length).
    pub async fn hash_new_password(&self, password: String) -> Result<String, ApiError> {
        let (engine, params) = (self.engine(), self.cfg.auth.argon2.into());
        let started = Instant::now();
        let out = self
            .hashing
            .run(move || engine.call(|h| h.hash_new_password(&password, params)))
            .await?;
        self.time_argon2("password_hash", started);
        out.map_err(|e| ApiError::from_engine(&e, unix_now()))
    }

    /// Check a presented password against `user`'s stored string (`None`:
    /// no such user or no password; the same work is done). A string the
    /// engine cannot read is logged and refused like a wrong password, so its
    /// answer tells a caller nothing more. After a match that asks for it, the
    /// password is rehashed with today's parameters and stored, unless the
    /// password changed meanwhile.
    pub async fn check_password(
        &self,
        user: &str,
        stored: Option<String>,
        password: String,
    ) -> Result<bool, ApiError> {
        let (engine, params) = (self.engine(), self.cfg.auth.argon2.into());
        let started = Instant::now();
        let (check, stored, password) = self
            .hashing
            .run(move || {
                let check = engine.call(|h| h.check_password(stored.as_deref(), &password, params));
                (check, stored, password)
            })
            .await?;
        self.time_argon2("sign_in", started);
        let check = match check {
            Ok(c) => c,
            Err(e) if e.code() == "invalid_hash" => {
                tracing::error!(user = %user, error = %e, "stored password hash is unusable; sign-in refused");
                return Ok(false);
            }
            Err(e) => return Err(ApiError::from_engine(&e, unix_now())),
        };
        match check {
            PasswordCheck::Refused => Ok(false),
            PasswordCheck::Accepted => Ok(true),
            PasswordCheck::AcceptedNeedsRehash => {
                if let Some(old) = stored {
                    self.rehash(user, old, password).await;
                }
                Ok(true)
            }
        }
    }

    /// Store a rehash of a password that just matched `old`. A failure only
    /// leaves the old string in place (it still works), so it is logged.
    async fn rehash(&self, user: &str, old: String, password: String) {
        let new = match self.hash_new_password(password).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(user = %user, error = %e.message, "password rehash failed");
                return;
            }
        };
        match self.store.rehash_password(user, old, new).await {
            Ok(true) => {
                tracing::info!(user = %user, "password rehashed with the current parameters")
            }
            Ok(false) => tracing::info!(user = %user, "password changed meanwhile; rehash dropped"),
            Err(e) => tracing::warn!(user = %user, error = %e, "password rehash not stored"),
        }
    }
}
