//! [`MfaHost`]: primary passwords (the `passwords` interface). The host stores
//! the PHC strings the engine makes and chooses the argon2id parameters; the
//! format, the check, the rehash rule and the work done for an unknown user
//! are the engine's.
use crate::api::text;
use crate::*;

pub use crate::bindings::exports::mfa::engine::passwords::PasswordCheck;

impl MfaHost {
    /// The PHC string to store for a new primary password (8 to 1024 bytes).
    pub fn hash_new_password(&self, password: &str, argon2: Argon2Params) -> Result<String, Error> {
        text("password", password)?;
        self.plain(
            |store, api| {
                api.mfa_engine_passwords()
                    .call_hash_new(store, password, argon2)
            },
            |phc| phc,
        )
    }

    /// Check a presented primary password against the stored PHC string;
    /// `None` for a user without one (the same work is done, the answer is
    /// [`PasswordCheck::Refused`]).
    pub fn check_password(
        &self,
        stored: Option<&str>,
        password: &str,
        argon2: Argon2Params,
    ) -> Result<PasswordCheck, Error> {
        text("password", password)?;
        if let Some(s) = stored {
            text("stored password hash", s)?;
        }
        self.plain(
            |store, api| {
                api.mfa_engine_passwords()
                    .call_check(store, stored, password, argon2)
            },
            |c| c,
        )
    }
}
