//! The `passwords` interface: primary passwords through the engine's argon2id
//! PHC code ([`mfa_core::hash_new_password`], [`mfa_core::check_password`]).
use mfa_core as core;

use crate::Component;
use crate::bindings::exports::mfa::engine::passwords as wp;
use crate::bindings::exports::mfa::engine::types as w;
use crate::convert::{argon2_in, res};
use crate::exports_impl::WasiRandom;

impl wp::Guest for Component {
    fn hash_new(password: String, argon2: w::Argon2Params) -> Result<String, w::Error> {
        res(
            core::hash_new_password(&password, &argon2_in(argon2), &mut WasiRandom),
            |phc| phc,
        )
    }

    fn check(
        stored: Option<String>,
        password: String,
        argon2: w::Argon2Params,
    ) -> Result<wp::PasswordCheck, w::Error> {
        res(
            core::check_password(stored.as_deref(), &password, &argon2_in(argon2)),
            |c| match c {
                core::PasswordCheck::Accepted {
                    needs_rehash: false,
                } => wp::PasswordCheck::Accepted,
                core::PasswordCheck::Accepted { needs_rehash: true } => {
                    wp::PasswordCheck::AcceptedNeedsRehash
                }
                core::PasswordCheck::Refused => wp::PasswordCheck::Refused,
            },
        )
    }
}
