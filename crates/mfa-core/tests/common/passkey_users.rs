//! Users with passkeys, for the passkey and passwordless sign-in tests.
use mfa_core::{
    Engine, FirstFactor, MethodType, MfaState, NextStep, PasskeyPolicy, SeededRandom, SignInStep,
    Standing, UserRecord,
};

use super::authenticator::SoftKey;
use super::{T0, engine, policy, round_trip};

pub const ORIGIN: &str = "http://localhost:8080";

pub fn passkey_policy() -> PasskeyPolicy {
    PasskeyPolicy {
        rp_id: "localhost".into(),
        rp_name: "Contoso".into(),
        origins: vec![ORIGIN.into()],
        ..PasskeyPolicy::default()
    }
}

pub fn passkey_engine(p: PasskeyPolicy) -> Engine {
    engine(
        policy()
            .allowed_methods(MethodType::ALL.to_vec())
            .passkeys(p)
            .build()
            .unwrap(),
    )
}

pub fn login(e: &Engine, rec: &UserRecord, now: u64) -> (NextStep, String) {
    let mut rng = SeededRandom::new(b"login");
    match e.start_sign_in(
        rec,
        FirstFactor::Password,
        None,
        now,
        &mut rng,
        &mut Vec::new(),
    ) {
        SignInStep::Next(step) => (step.next, step.token.expose().to_string()),
        SignInStep::SignedIn(_) => panic!("no device token was presented"),
    }
}

/// A user who set up `key` at "Set it up now"; returns the record.
pub fn set_up_with(e: &Engine, user: &str, key: &SoftKey, rng: &mut SeededRandom) -> UserRecord {
    let mut rec = UserRecord::new(user, T0);
    let mut audit = Vec::new();
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
    let (next, token) = login(e, &rec, T0);
    match next {
        NextStep::Register { allowed } => assert!(allowed.contains(&MethodType::Passkey)),
        other => panic!("{other:?}"),
    }
    let options = e.begin_passkey(&mut rec, T0, rng, &mut audit).unwrap();
    let done = e
        .finish_passkey_registration(
            &mut rec,
            Standing::Token(&token),
            &key.create(&options.options),
            "YubiKey",
            false,
            T0,
            rng,
            &mut audit,
        )
        .unwrap();
    assert!(done.signed_in.is_some());
    round_trip(&rec)
}
