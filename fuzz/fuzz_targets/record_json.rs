//! `UserRecord::from_json` on any text (a stored record may be damaged): a
//! typed error or a record, never a panic. A record that loads is written out
//! and read back unchanged, and the engine's read-only views and a
//! verification attempt on it do not panic either.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mfa_core::{Engine, Error, Factor, Keys, Policy, SeededRandom, UserRecord};

const NOW: u64 = 1_700_000_000;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let mut rng = SeededRandom::new(b"record_json fuzz keys");
    Engine::new(Policy::default(), Keys::generate(&mut rng)).expect("default policy is valid")
});

fuzz_target!(|text: &str| {
    let rec = match UserRecord::from_json(text) {
        Ok(rec) => rec,
        Err(Error::CorruptRecord { .. }) => return,
        Err(other) => panic!("unexpected error kind: {other:?}"),
    };
    let json = rec.to_json();
    let again = UserRecord::from_json(&json).expect("a record the engine wrote loads again");
    assert_eq!(again, rec);
    assert_eq!(again.to_json(), json);

    let _ = rec.methods();
    let _ = rec.app_passwords();
    let _ = rec.recovery_codes_left();
    let _ = rec.locked_until(Factor::Authenticator, NOW);
    let _ = ENGINE.enrollment_check(&rec, NOW);
    let _ = ENGINE.verify_device_token(&rec, "x.y.z", NOW);
    let mut working = rec.clone();
    let mut audit = Vec::new();
    let before = working.revision();
    let _ = ENGINE.verify(&mut working, None, "123456", NOW, &mut audit);
    assert!(working.revision() <= before + 1);
    let _ = working.to_json();
});
