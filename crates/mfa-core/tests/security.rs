//! Attacks from the security review, each played against the engine and
//! shown to fail. Items are numbered as in the review (docs/SECURITY.md).

mod common;

use common::{T0, engine, policy};
use mfa_core::{
    Engine, Error, Keys, MAX_HOTP_COUNTER, MAX_METHODS, MethodType, MfaState, Registration,
    SeededRandom, UserRecord,
};
use sha2::{Digest, Sha256};

fn sent_code(reg: Registration) -> String {
    match reg {
        Registration::CodeSent { delivery } => delivery.code.expose().to_string(),
        Registration::Authenticator { .. } => panic!("expected a sent code"),
    }
}

fn emails_engine() -> Engine {
    engine(
        policy()
            .allowed_methods(vec![MethodType::AuthenticatorApp, MethodType::Email])
            .build()
            .unwrap(),
    )
}

/// Item 13: a record cannot grow past [`MAX_METHODS`] methods (it would
/// outgrow what a host reads and lock its user out); the refusal names the
/// limit.
#[test]
fn methods_per_user_are_capped() {
    let e = emails_engine();
    let mut rng = SeededRandom::new(b"cap");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("alice@example.com", T0);
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
    for i in 0..MAX_METHODS {
        let t = T0 + i as u64 * 10;
        let address = format!("alice.{i}@example.net");
        let code = sent_code(
            e.begin_email(&mut rec, &address, t, &mut rng, &mut audit)
                .unwrap(),
        );
        e.confirm_registration(&mut rec, &code, t + 1, &mut rng, &mut audit)
            .unwrap();
    }
    assert_eq!(rec.methods().len(), MAX_METHODS);
    let t = T0 + 10_000;
    let err = e
        .begin_email(&mut rec, "one.more@example.net", t, &mut rng, &mut audit)
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field: "method", reason } if reason.contains("at most 16")),
        "{err}"
    );
    let err = e
        .begin_authenticator(&mut rec, None, t, &mut rng, &mut audit)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    // A re-registration replaces the old methods, so it is not blocked.
    e.require_reregistration(&mut rec, "admin", t, &mut audit);
    assert!(
        e.begin_authenticator(&mut rec, None, t + 1, &mut rng, &mut audit)
            .is_ok()
    );
}

/// Item 13: an imported HOTP token whose counter is at the end of its range
/// is refused (it used to wrap to 0 after the next code, and overflow in a
/// debug build).
#[test]
fn an_imported_hotp_counter_near_the_top_is_refused() {
    let e = emails_engine();
    let mut rng = SeededRandom::new(b"hotp");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("bob@example.com", T0);
    let uri = |counter: u64| {
        format!(
            "otpauth://hotp/Contoso:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso&counter={counter}"
        )
    };
    for counter in [u64::MAX, u64::MAX - 1, MAX_HOTP_COUNTER + 1] {
        let err = e
            .begin_import(&mut rec, &uri(counter), T0, &mut rng, &mut audit)
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::InvalidInput {
                    field: "counter",
                    ..
                }
            ),
            "counter {counter}: {err}"
        );
    }
    e.begin_import(&mut rec, &uri(MAX_HOTP_COUNTER), T0, &mut rng, &mut audit)
        .unwrap();
}

/// The stored challenge of a record, as a database reader sees it.
fn stored_challenge(rec: &UserRecord) -> (Vec<u8>, Vec<u8>) {
    let v: serde_json::Value = serde_json::from_str(&rec.to_json()).unwrap();
    let c = &v["challenge"];
    let b64 = |k: &str| {
        let text = c[k].as_str().unwrap_or_else(|| panic!("no {k} in {c}"));
        data_encoding_b64(text)
    };
    (b64("salt"), b64("digest"))
}

fn data_encoding_b64(text: &str) -> Vec<u8> {
    // Standard or URL-safe base64, with or without padding.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bits = 0u32;
    let mut value = 0u32;
    let mut out = Vec::new();
    for ch in text.bytes().filter(|b| *b != b'=') {
        let i = match ch {
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            c => alphabet.iter().position(|a| *a == c).expect("base64") as u32,
        };
        value = (value << 6) | i;
        bits += 6;
        if bits >= 8 {
            out.push((value >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

/// Item 14: a database reader holding the stored challenge cannot find the
/// live code by trying all 10^6 candidates (the digest was an unkeyed salted
/// SHA-256 before; now it is an HMAC under a key from the key file), and a
/// record's challenge does not verify under another installation's keys.
#[test]
fn a_database_reader_cannot_recover_a_sent_code() {
    let e = emails_engine();
    let mut rng = SeededRandom::new(b"digest");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("carol@example.com", T0);
    let code = sent_code(
        e.begin_email(&mut rec, "carol@example.net", T0, &mut rng, &mut audit)
            .unwrap(),
    );
    let (salt, digest) = stored_challenge(&rec);
    let json = rec.to_json();
    assert!(!json.contains(&code), "the code itself is not stored");
    // The attack: every 6-digit code under the old construction and under a
    // plain salted hash.
    let mut found = Vec::new();
    for n in 0..1_000_000u32 {
        let candidate = format!("{n:06}");
        let old = Sha256::new()
            .chain_update(b"mfa-wasm code v1\0")
            .chain_update(&salt)
            .chain_update(candidate.as_bytes())
            .finalize();
        let plain = Sha256::new()
            .chain_update(&salt)
            .chain_update(candidate.as_bytes())
            .finalize();
        if old.as_slice() == digest.as_slice() || plain.as_slice() == digest.as_slice() {
            found.push(candidate);
        }
    }
    assert!(found.is_empty(), "the code was recovered: {found:?}");

    // Another installation (other keys) cannot use the stored challenge: the
    // user is told the code expired and asks for a new one.
    let other = Engine::new(
        e.policy().clone(),
        Keys::generate(&mut SeededRandom::new(b"other keys")),
    )
    .unwrap();
    let mut copy = UserRecord::from_json(&json).unwrap();
    let err = other
        .confirm_registration(&mut copy, &code, T0 + 5, &mut rng, &mut audit)
        .unwrap_err();
    assert_eq!(err, Error::CodeExpired);
    // The right keys take the right code.
    e.confirm_registration(&mut rec, &code, T0 + 5, &mut rng, &mut audit)
        .unwrap();
}
