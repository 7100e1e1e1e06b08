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

/// An engine with the default send budget (30 s gap, 5 an hour, 10 a day).
fn budget_engine() -> Engine {
    engine(
        mfa_core::Policy::builder()
            .argon2(mfa_core::Argon2Params::INSECURE_FOR_TESTS)
            .build()
            .unwrap(),
    )
}

/// Item 1: a caller at "Set it up now" (or with the password) loops "send
/// code" for toll fraud or to bomb a phone. The second send within the gap
/// and the sixth in the hour are refused with the time of the next allowed
/// one, no code is produced (so nothing can be delivered) and the record is
/// not changed; the budget is the user's, over registration and sign-in
/// sends and over destinations.
#[test]
fn send_budget_refuses_sends_within_the_gap_and_past_the_hourly_cap() {
    let e = budget_engine();
    let p = e.policy().clone();
    let mut rng = SeededRandom::new(b"send budget");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("alice@example.com", T0);
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
    let phone = |n: &str| mfa_core::PhoneNumber::parse("+44", n).unwrap();
    let text = mfa_core::PhoneChannel::Text;
    let first = e.begin_phone(
        &mut rec,
        phone("07700 900001"),
        text,
        T0,
        &mut rng,
        &mut audit,
    );
    assert!(first.is_ok(), "{first:?}");
    let gap = u64::from(p.send_gap_secs);
    assert_eq!(gap, 30);
    // The same destination again within the gap, by a resend or a new start.
    for (what, attempt) in [
        (
            "a resend",
            e.resend_registration_code(&mut rec, T0 + 1, &mut rng, &mut audit)
                .map(|_| ()),
        ),
        (
            "the same number",
            e.begin_phone(
                &mut rec,
                phone("07700 900001"),
                text,
                T0 + 2,
                &mut rng,
                &mut audit,
            )
            .map(|_| ()),
        ),
    ] {
        let before = rec.revision();
        assert_eq!(attempt, Err(Error::SendLimit { until: T0 + gap }), "{what}");
        assert_eq!(
            rec.revision(),
            before,
            "{what}: a refused send changes nothing"
        );
    }
    // Another destination is not held by the gap (a user adding a second
    // method at once), but counts towards the user's hourly cap.
    e.begin_email(&mut rec, "alice@example.net", T0 + 3, &mut rng, &mut audit)
        .expect("another destination");
    let mut t = T0 + 3;
    for _ in 2..p.sends_per_hour {
        t += gap;
        e.resend_registration_code(&mut rec, t, &mut rng, &mut audit)
            .expect("a send after the gap, within the hourly cap");
    }
    let before = rec.revision();
    assert_eq!(
        e.begin_phone(
            &mut rec,
            phone("07700 900002"),
            text,
            t + 1,
            &mut rng,
            &mut audit
        )
        .map(|_| ()),
        Err(Error::SendLimit { until: T0 + 3600 }),
        "a new number past the hourly cap"
    );
    assert_eq!(rec.revision(), before);
    let before = rec.revision();
    let err = e
        .resend_registration_code(&mut rec, t + gap, &mut rng, &mut audit)
        .unwrap_err();
    assert_eq!(err, Error::SendLimit { until: T0 + 3600 });
    assert_eq!(err.code(), "send_limit");
    assert!(err.to_string().contains("too many codes"), "{err}");
    assert_eq!(rec.revision(), before);
    // An hour after the first send, one more is allowed (a new registration:
    // the first one expired meanwhile).
    let again = e.begin_email(
        &mut rec,
        "alice@example.net",
        T0 + 3600,
        &mut rng,
        &mut audit,
    );
    assert!(again.is_ok(), "{again:?}");
    // The daily cap holds over hours: 10 a day.
    let mut t = T0 + 3600;
    let mut sent = p.sends_per_hour + 1;
    while sent < p.sends_per_day {
        t += 3600 / u64::from(p.sends_per_hour) + 1;
        if e.begin_email(&mut rec, "alice@example.net", t, &mut rng, &mut audit)
            .is_ok()
        {
            sent += 1;
        }
    }
    let err = e
        .begin_email(
            &mut rec,
            "alice@example.net",
            t + 7200,
            &mut rng,
            &mut audit,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::SendLimit { until } if until > T0 + 86_000),
        "{err:?}"
    );
    // The budget survives storing and loading the record.
    let stored = UserRecord::from_json(&rec.to_json()).unwrap();
    assert_eq!(stored, rec);
}

/// Item 1: the admin limits the countries an authentication phone may be
/// registered in; a number elsewhere is refused before any code is sent.
#[test]
fn phones_outside_the_allowed_countries_are_refused_before_any_send() {
    let e = engine(
        policy()
            .phone_country_codes(vec!["44".into(), "353".into()])
            .build()
            .unwrap(),
    );
    let mut rng = SeededRandom::new(b"countries");
    let mut audit = Vec::new();
    let mut rec = UserRecord::new("alice@example.com", T0);
    e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
    let before = rec.revision();
    // A Caribbean premium-rate style number (+1 876) and a satellite one (+882).
    for (cc, n) in [("+1", "876 555 0100"), ("+882", "1234 5678")] {
        let number = mfa_core::PhoneNumber::parse(cc, n).unwrap();
        let err = e
            .begin_phone(
                &mut rec,
                number,
                mfa_core::PhoneChannel::Call,
                T0,
                &mut rng,
                &mut audit,
            )
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: "phone", reason } if reason.contains("country")),
            "{err:?}"
        );
    }
    assert_eq!(rec.revision(), before);
    let ok = mfa_core::PhoneNumber::parse("+353", "085 123 4567").unwrap();
    assert!(
        e.begin_phone(
            &mut rec,
            ok,
            mfa_core::PhoneChannel::Text,
            T0,
            &mut rng,
            &mut audit
        )
        .is_ok()
    );
    assert!(
        policy()
            .phone_country_codes(vec!["+44".into()])
            .build()
            .is_err()
    );
}

/// Item 4: NIST SP 800-63B caps consecutive failed attempts at 100. A guesser
/// with the password tries the authenticator and recovery codes as fast as
/// the throttle lets it for 60 simulated days: it gets at most
/// `failure_cap` guesses in all, then every second factor stays locked,
/// however long it waits, until an admin unlocks (audited).
#[test]
fn a_scripted_guesser_over_simulated_days_gets_at_most_the_failure_cap() {
    let e = engine(policy().build().unwrap());
    let cap = e.policy().failure_cap;
    assert_eq!(cap, 100);
    let mut rng = SeededRandom::new(b"guesser");
    let victim = common::enrol_totp(&e, "alice@example.com", T0, &mut rng);
    let other = common::enrol_totp(&e, "mallory@example.com", T0, &mut rng);
    let not_alices = other.confirmed.recovery_codes.as_ref().unwrap().codes[0]
        .expose()
        .to_string();
    let mut rec = victim.record.clone();
    let mut audit = Vec::new();
    let (mut now, end) = (T0 + 60, T0 + 60 * 86_400);
    let (mut guesses, mut locked_out_at) = (0u32, None);
    while now < end {
        let right = victim.code_at(now);
        let wrong = common::wrong_code(&right, |c| {
            mfa_core::check_totp_code(&victim.secret, &victim.params, c, now, 1).is_ok()
        });
        let r = if guesses % 2 == 0 {
            e.verify(&mut rec, Some(victim.method_id), &wrong, now, &mut audit)
                .map(|_| ())
        } else {
            e.verify_recovery_code(&mut rec, &not_alices, now, &mut audit)
                .map(|_| ())
        };
        match r {
            Err(Error::WrongCode | Error::WrongRecoveryCode) => {
                guesses += 1;
                now += 1;
            }
            Err(Error::RetryLater { until } | Error::Locked { until }) => now = until.max(now + 1),
            Err(Error::LockedOut) => {
                locked_out_at.get_or_insert(now);
                now += 86_400;
            }
            other => panic!("unexpected answer to a guess: {other:?}"),
        }
    }
    assert_eq!(
        guesses, cap,
        "the guesser got exactly the cap, over both factors"
    );
    assert!(rec.locked_out());
    assert!(locked_out_at.is_some_and(|t| t < end));
    assert!(
        audit.iter().any(
            |a| matches!(a.kind, mfa_core::AuditKind::LockedOut { failures } if failures == cap)
        )
    );
    // Even the right code is refused now; the admin's unlock lifts it.
    assert_eq!(
        e.verify(
            &mut rec,
            Some(victim.method_id),
            &victim.code_at(end),
            end,
            &mut audit
        ),
        Err(Error::LockedOut)
    );
    e.unlock(&mut rec, "admin@example.com", end, &mut audit);
    assert!(!rec.locked_out());
    assert!(audit.iter().any(|a| a.kind == mfa_core::AuditKind::Unlocked
        && a.actor.as_deref() == Some("admin@example.com")));
    assert!(
        e.verify(
            &mut rec,
            Some(victim.method_id),
            &victim.code_at(end + 30),
            end + 30,
            &mut audit
        )
        .is_ok()
    );
    assert_eq!(rec.consecutive_failures(mfa_core::Factor::Authenticator), 0);
}

/// Item 5: app passwords are not locked. Before, ten well-formed wrong
/// passwords every 15 minutes locked a victim's mail clients out for good,
/// and a lock told which accounts exist. Now a thousand wrong guesses, with
/// the victim's real id or invented ones, change nothing: the correct
/// password passes, the second factors are not touched, and unknown ids
/// cost no hash and leave the record as it was.
#[test]
fn app_password_lockout_is_not_a_denial_of_service() {
    let e = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"ap-dos");
    let victim = common::enrol_totp(&e, "alice@example.com", T0, &mut rng);
    let mut rec = victim.record.clone();
    let mut audit = Vec::new();
    let new = e
        .create_app_password(&mut rec, "Outlook", &[], None, T0, &mut rng, &mut audit)
        .unwrap();
    let stored = rec.clone();
    // (An id no user has: the engine draws ids from the same symbols.)
    assert_ne!(new.id, "zzzz");
    for i in 0..1000u64 {
        let unknown = common::well_formed_app_password("zzzz", &mut rng);
        let r = e.verify_app_password(&mut rec, &unknown, None, T0 + i, &mut rng, &mut audit);
        assert_eq!(r.unwrap_err(), Error::UnknownAppPassword);
    }
    assert_eq!(rec, stored, "unknown ids leave the record untouched");
    for i in 0..20u64 {
        let wrong = common::well_formed_app_password(&new.id, &mut rng);
        let r = e.verify_app_password(&mut rec, &wrong, None, T0 + 1000 + i, &mut rng, &mut audit);
        assert_eq!(r.unwrap_err(), Error::WrongAppPassword, "guess {i}");
    }
    let ok = e
        .verify_app_password(
            &mut rec,
            new.password.expose(),
            None,
            T0 + 1100,
            &mut rng,
            &mut audit,
        )
        .expect("the correct app password passes during the attack");
    assert_eq!(ok.id, new.id);
    // The victim's second factor is not locked by app-password guesses.
    let code = victim.code_at(T0 + 1200);
    let mut signed = rec.clone();
    assert!(
        e.verify(
            &mut signed,
            Some(victim.method_id),
            &code,
            T0 + 1200,
            &mut audit
        )
        .is_ok(),
        "the authenticator still verifies"
    );
}

/// Item 10: the "not the organisation's own domain" rule for the
/// authentication e-mail was bypassed with Unicode look-alikes (full-width
/// letters, the ideographic full stop) and the address stored in full
/// width. Domains are now normalised by UTS-46 (`ToASCII`) before they are
/// checked and compared, and stored in the one readable form of that.
#[test]
fn look_alike_domains_are_the_organisations_own() {
    let own = vec!["contoso.com".to_string(), "bücher.example".to_string()];
    for look_alike in [
        "x@ｃｏｎｔｏｓｏ.com",
        "x@contoso。com",
        "x@ＣＯＮＴＯＳＯ．ＣＯＭ",
        "x@mail.ｃｏｎｔｏｓｏ.com",
        "x@contoso｡com",
        "x@𝐜𝐨𝐧𝐭𝐨𝐬𝐨.com",
        "x@BÜCHER.example",
        "x@xn--bcher-kva.example",
    ] {
        let e = mfa_core::EmailAddress::parse(look_alike, &own).unwrap_err();
        assert!(e.to_string().contains("organisation"), "{look_alike}: {e}");
    }
    let stored = mfa_core::EmailAddress::parse("x@ｅｘａｍｐｌｅ.com", &own).unwrap();
    assert_eq!(
        stored.as_str(),
        "x@example.com",
        "stored as the domain it shows"
    );
    let idn = mfa_core::EmailAddress::parse("Anna@BÜCHER.de", &own).unwrap();
    assert_eq!(
        idn.as_str(),
        "Anna@bücher.de",
        "mapped, and kept as people read it"
    );
    let puny = mfa_core::EmailAddress::parse("Anna@xn--bcher-kva.de", &own).unwrap();
    assert_eq!(puny.as_str(), "Anna@bücher.de", "one domain, one form");
    for bad in ["x@exa mple.com", "x@ex_ample.com", "x@.com", "x@com"] {
        assert!(mfa_core::EmailAddress::parse(bad, &own).is_err(), "{bad}");
    }
}
