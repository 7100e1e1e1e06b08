//! The first factor for a host that keeps its users' passwords: how long a
//! password may be, its argon2id PHC string (made and checked by the engine's
//! own code in `hash.rs`), a rehash when the host's parameters changed, and
//! the same work for a user without a password as for one with.
//!
//! The host stores the string and chooses the parameters (they are its
//! settings, not the admin's policy); it does not read or write PHC strings.
use crate::hash::{Argon2Params, hash_password, spend_one_check, verify_password};
use crate::{Error, RandomSource};

/// The shortest password a host may set for a user, in bytes.
pub const MIN_NEW_PASSWORD_BYTES: usize = 8;
/// The longest password the engine hashes, in bytes (a bound on the work an
/// attacker can ask of argon2's first pass).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// What a presented primary password turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password matches. With `needs_rehash`, the stored string uses other
    /// parameters than the host's: store `hash_new_password` of it instead.
    Accepted {
        /// The stored string should be replaced by a hash with today's parameters.
        needs_rehash: bool,
    },
    /// Wrong password, or a user without one: a host answers both alike.
    Refused,
}

fn length_error(min: usize) -> Error {
    Error::InvalidInput {
        field: "password",
        reason: format!("a password must be {min} to {MAX_PASSWORD_BYTES} bytes"),
    }
}

/// The PHC string to store for a new password (set by an administrator or at
/// sign-up), with a fresh salt from `rng`.
pub fn hash_new_password(
    password: &str,
    params: &Argon2Params,
    rng: &mut dyn RandomSource,
) -> Result<String, Error> {
    if !(MIN_NEW_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
        return Err(length_error(MIN_NEW_PASSWORD_BYTES));
    }
    params.validate()?;
    hash_password(params, password.as_bytes(), rng)
}

/// Check a presented password against the stored string, `None` when the user
/// has no password (or does not exist): then the same argon2 work is done and
/// the answer is `Refused`. An empty or over-long password is refused as bad
/// input before any work; a stored string that is not one of the engine's is
/// `InvalidHash` (the host logs it and refuses the sign-in).
pub fn check_password(
    stored: Option<&str>,
    password: &str,
    params: &Argon2Params,
) -> Result<PasswordCheck, Error> {
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(length_error(1));
    }
    let Some(stored) = stored else {
        spend_one_check(params, password.as_bytes())?;
        return Ok(PasswordCheck::Refused);
    };
    Ok(
        match verify_password(stored, password.as_bytes(), params)? {
            Some(check) => PasswordCheck::Accepted {
                needs_rehash: check.needs_rehash,
            },
            None => PasswordCheck::Refused,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    const WEAK: Argon2Params = Argon2Params::INSECURE_FOR_TESTS;

    #[test]
    fn a_stored_password_is_accepted_and_a_wrong_one_refused() {
        let mut rng = SeededRandom::new(b"primary");
        let phc = hash_new_password("correct horse", &WEAK, &mut rng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(
            check_password(Some(&phc), "correct horse", &WEAK),
            Ok(PasswordCheck::Accepted {
                needs_rehash: false
            })
        );
        assert_eq!(
            check_password(Some(&phc), "correct horse!", &WEAK),
            Ok(PasswordCheck::Refused)
        );
        // A user without a password is refused whatever is typed.
        assert_eq!(
            check_password(None, "correct horse", &WEAK),
            Ok(PasswordCheck::Refused)
        );
    }

    #[test]
    fn new_parameters_ask_for_a_rehash() {
        let mut rng = SeededRandom::new(b"primary");
        let phc = hash_new_password("correct horse", &WEAK, &mut rng).unwrap();
        let stronger = Argon2Params { m_kib: 128, ..WEAK };
        assert_eq!(
            check_password(Some(&phc), "correct horse", &stronger),
            Ok(PasswordCheck::Accepted { needs_rehash: true })
        );
    }

    #[test]
    fn lengths_are_refused_before_any_work() {
        let mut rng = SeededRandom::new(b"primary");
        for bad in ["", "short", &"x".repeat(MAX_PASSWORD_BYTES + 1)] {
            let e = hash_new_password(bad, &WEAK, &mut rng).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{}", bad.len());
        }
        assert_eq!(
            check_password(None, "", &WEAK).unwrap_err().code(),
            "invalid_input"
        );
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(
            check_password(None, &long, &WEAK).unwrap_err().code(),
            "invalid_input"
        );
        // Errors never repeat the password.
        let e = hash_new_password("hunter2", &WEAK, &mut rng).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn stored_strings_that_are_not_the_engines_are_typed_errors() {
        for bad in [
            "",
            "garbage",
            "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2id$v=19$m=64,t=1,p=1,x=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            // More memory than the engine will ever spend on one check.
            "$argon2id$v=19$m=4194305,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXP",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc$more",
        ] {
            let e = check_password(Some(bad), "password", &WEAK).unwrap_err();
            assert_eq!(e.code(), "invalid_hash", "{bad}");
        }
    }

    #[test]
    fn strings_from_another_implementation_verify() {
        // Written by argon2-cffi (the C reference code) for "password"/"somesalt".
        let phc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let params = Argon2Params {
            m_kib: 65536,
            t: 2,
            p: 1,
        };
        assert_eq!(
            check_password(Some(phc), "password", &params),
            Ok(PasswordCheck::Accepted {
                needs_rehash: false
            })
        );
        assert_eq!(
            check_password(Some(phc), "Password", &params),
            Ok(PasswordCheck::Refused)
        );
    }
}
