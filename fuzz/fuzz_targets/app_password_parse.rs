//! `ParsedAppPassword::parse` on any text (the password half of a Basic
//! authorization header): a typed error or a parsed password, never a panic;
//! what it accepts is stable under parsing its canonical form again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_core::{APP_PASSWORD_LEN, Error, ParsedAppPassword};

fuzz_target!(|text: &str| {
    match ParsedAppPassword::parse(text) {
        Ok(p) => {
            assert_eq!(p.id.len(), 4);
            let canonical = p.canonical().expose();
            assert_eq!(canonical.len(), APP_PASSWORD_LEN);
            assert!(canonical.starts_with(&p.id));
            let again = ParsedAppPassword::parse(canonical).expect("the canonical form parses");
            assert_eq!(again, p);
        }
        Err(e) => assert_eq!(e, Error::MalformedAppPassword),
    }
});
