//! Property tests: windows, replays, HOTP counters, throttling, the app-password
//! checksum and sealed seeds.

mod common;

use std::sync::LazyLock;

use common::{APP_PASSWORD_SYMBOLS, T0, engine, enrol_totp, policy, round_trip, wrong_code};
use data_encoding::BASE64URL_NOPAD;
use mfa_core::{
    Algorithm, Engine, Error, Factor, MfaState, OtpAuthUri, OtpKind, OtpMatch, ParsedAppPassword,
    SeededRandom, Totp, UserRecord, check_totp_code, hotp_code, totp_code,
};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

// ----- TOTP window -----------------------------------------------------------

proptest! {
    #[test]
    fn totp_codes_inside_the_window_are_accepted_and_outside_refused(
        secret in vec(any::<u8>(), 10..64),
        algorithm in algorithm(),
        digits in 6u8..=8,
        period in prop_oneof![Just(30u32), Just(60)],
        time in 1_000_000u64..4_000_000_000,
        window in 0u8..=4,
        offset in -7i64..=7,
    ) {
        let params = Totp { algorithm, digits, period };
        let p = u64::from(period);
        let origin = time / p;
        let step = origin.checked_add_signed(offset).unwrap();
        let code = totp_code(&secret, &params, step * p).unwrap();
        // Another step of the window with the same code (one in 10^digits) would
        // make the outcome depend on that coincidence: leave those cases out.
        let w = i64::from(window);
        let collides = (-w..=w)
            .filter(|o| *o != offset)
            .any(|o| {
                let s = origin.checked_add_signed(o).unwrap();
                totp_code(&secret, &params, s * p).unwrap() == code
            });
        prop_assume!(!collides);
        let result = check_totp_code(&secret, &params, &code, time, window);
        if offset.abs() <= w {
            prop_assert_eq!(result, Ok(OtpMatch { counter: step, offset }));
        } else {
            prop_assert_eq!(result, Err(Error::WrongCode));
        }
    }

    #[test]
    fn codes_are_accepted_with_spaces_and_refused_with_the_wrong_length(
        secret in vec(any::<u8>(), 16..32),
        digits in 6u8..=8,
        time in 1_000_000u64..4_000_000_000,
    ) {
        let params = Totp { algorithm: Algorithm::Sha1, digits, period: 30 };
        let code = totp_code(&secret, &params, time).unwrap();
        let (a, b) = code.split_at(3);
        for spaced in [format!("{a} {b}"), format!("{a}-{b}"), format!(" {a}  {b} ")] {
            let accepted = check_totp_code(&secret, &params, &spaced, time, 0).is_ok();
            prop_assert!(accepted, "{:?} refused", spaced);
        }
        prop_assert_eq!(
            check_totp_code(&secret, &params, &code[1..], time, 1),
            Err(Error::MalformedCode { expected_digits: digits })
        );
        prop_assert_eq!(
            check_totp_code(&secret, &params, &format!("{code}0"), time, 1),
            Err(Error::MalformedCode { expected_digits: digits })
        );
    }
}

#[test]
fn the_window_stops_at_time_step_zero() {
    let params = Totp::default();
    let secret = b"12345678901234567890";
    let code0 = totp_code(secret, &params, 0).unwrap();
    assert_eq!(
        check_totp_code(secret, &params, &code0, 10, 1),
        Ok(OtpMatch {
            counter: 0,
            offset: 0
        })
    );
    let code2 = totp_code(secret, &params, 60).unwrap();
    assert_eq!(
        check_totp_code(secret, &params, &code2, 10, 1),
        Err(Error::WrongCode)
    );
}

// ----- replays through the engine --------------------------------------------

/// An engine that never backs off (replays are failures and would otherwise
/// throttle long sequences).
static PATIENT: LazyLock<Engine> = LazyLock::new(|| {
    engine(
        policy()
            .free_failures(1000)
            .lockout_threshold(100)
            .build()
            .unwrap(),
    )
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_totp_code_is_accepted_twice(
        seed in any::<[u8; 8]>(),
        attempts in vec((0u64..=75, -1i64..=1), 1..30),
    ) {
        let e = &*PATIENT;
        let mut rng = SeededRandom::new(&seed);
        let enrolled = enrol_totp(e, "alice@example.com", T0, &mut rng);
        let mut rec = enrolled.record.clone();
        let id = enrolled.method_id;
        let mut audit = Vec::new();
        // Confirming the registration used the step of T0.
        let mut last = T0 / 30;
        let mut accepted = vec![last];
        let mut now = T0;
        for (dt, offset) in attempts {
            now += dt;
            let origin = now / 30;
            let step = origin.checked_add_signed(offset).unwrap();
            let code = enrolled.code_at(step * 30);
            let matching: Vec<u64> = (origin - 1..=origin + 1)
                .filter(|s| enrolled.code_at(s * 30) == code)
                .collect();
            let result = e.verify(&mut rec, Some(id), &code, now, &mut audit);
            match matching.iter().copied().filter(|s| *s > last).max() {
                Some(fresh) => {
                    let m = result.unwrap().matched().unwrap();
                    prop_assert_eq!(m.counter, fresh);
                    prop_assert!(!accepted.contains(&m.counter));
                    accepted.push(m.counter);
                    last = fresh;
                    // The same code at once again: refused as a replay.
                    prop_assert_eq!(
                        e.verify(&mut rec, Some(id), &code, now, &mut audit),
                        Err(Error::Replay)
                    );
                }
                None => prop_assert_eq!(result, Err(Error::Replay)),
            }
            rec = round_trip(&rec);
        }
        prop_assert!(accepted.windows(2).all(|w| w[0] < w[1]));
    }
}

// ----- HOTP look-ahead and resynchronisation ---------------------------------

fn hotp_uri(secret: &[u8], algorithm: Algorithm, digits: u8, counter: u64) -> String {
    OtpAuthUri::new(
        OtpKind::Hotp { counter },
        Some("Contoso".into()),
        "alice@contoso.com".into(),
        algorithm,
        digits,
        secret,
    )
    .to_uri()
    .expose()
    .to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hotp_look_ahead_and_resync_from_two_consecutive_codes(
        secret in vec(any::<u8>(), 16..40),
        algorithm in algorithm(),
        digits in 6u8..=8,
        start in 0u64..1_000_000,
        skip in 0u64..40,
    ) {
        let e = &*PATIENT;
        let look_ahead = u64::from(e.policy().hotp_look_ahead);
        let code = |c: u64| hotp_code(&secret, algorithm, digits, c).unwrap();
        let mut rng = SeededRandom::new(&secret);
        let mut rec = UserRecord::new("alice@contoso.com", T0);
        let mut audit = Vec::new();
        e.set_mfa_state(&mut rec, MfaState::Enabled, "admin", T0, &mut audit);
        e.begin_import(&mut rec, &hotp_uri(&secret, algorithm, digits, start), T0, &mut rng, &mut audit)
            .unwrap();
        let confirmed = e.confirm_registration(&mut rec, &code(start), T0, &mut rng, &mut audit).unwrap();
        prop_assert_eq!(confirmed.matched, Some(OtpMatch { counter: start, offset: 0 }));
        let id = confirmed.method_id;
        // The next expected counter is start + 1; the token was pressed `skip` extra times.
        let expected = start + 1;
        let n = expected + skip;
        // Leave out the one-in-10^digits coincidences where another counter the
        // engine searches has the same code.
        let unique = |c: u64, from: u64, to: u64| (from..=to).all(|o| o == c || code(o) != code(c));
        prop_assume!(unique(n, expected, expected + look_ahead));
        prop_assume!(unique(n, n + 1, n + 1 + look_ahead));
        prop_assume!(unique(n + 1, n + 3, n + 3 + look_ahead));
        prop_assume!(code(n + 1) != code(n + 2));
        let result = e.verify(&mut rec, Some(id), &code(n), T0, &mut audit);
        if skip <= look_ahead {
            prop_assert_eq!(result.unwrap().matched(), Some(OtpMatch { counter: n, offset: skip as i64 }));
            // The counter moved past n: the same code is refused.
            prop_assert_eq!(e.verify(&mut rec, Some(id), &code(n), T0, &mut audit), Err(Error::WrongCode));
        } else {
            prop_assert_eq!(result, Err(Error::WrongCode));
            // Two codes that are not consecutive do not resynchronise.
            prop_assert_eq!(
                e.resync_hotp(&mut rec, id, &code(n), &code(n + 2), T0, &mut audit),
                Err(Error::WrongCode)
            );
            let m = e.resync_hotp(&mut rec, id, &code(n), &code(n + 1), T0, &mut audit).unwrap();
            prop_assert_eq!(m, OtpMatch { counter: n + 1, offset: (n + 1 - expected) as i64 });
            prop_assert_eq!(rec.consecutive_failures(Factor::Authenticator), 0);
            // After the resync the token's next code works, and the resync codes do not.
            prop_assert_eq!(
                e.verify(&mut rec, Some(id), &code(n + 2), T0, &mut audit).unwrap().matched(),
                Some(OtpMatch { counter: n + 2, offset: 0 })
            );
            prop_assert_eq!(e.verify(&mut rec, Some(id), &code(n + 1), T0, &mut audit), Err(Error::WrongCode));
        }
    }
}

// ----- throttling --------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Attempt {
    Right,
    Wrong,
    AdminUnlock,
}

fn attempt() -> impl Strategy<Value = Attempt> {
    prop_oneof![
        1 => Just(Attempt::Right),
        4 => Just(Attempt::Wrong),
        1 => Just(Attempt::AdminUnlock),
    ]
}

/// What the policy says should happen, counted independently of the engine.
#[derive(Debug, Default)]
struct ThrottleModel {
    failures: u32,
    streak: u32,
    locks: u32,
    next_allowed_at: u64,
    locked_until: u64,
    locked_out: bool,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn failures_back_off_then_lock_success_resets_and_unlock_lifts(
        free in 0u32..5,
        extra in 1u32..8,
        base in 1u32..5,
        max_extra in 0u32..60,
        lockout_secs in 60u32..900,
        cap_extra in 0u32..30,
        attempts in vec(attempt(), 1..40),
    ) {
        let threshold = free + extra;
        let cap = threshold + cap_extra;
        let e = engine(
            policy()
                .free_failures(free)
                .lockout_threshold(threshold)
                .backoff_base_secs(base)
                .backoff_max_secs(base + max_extra)
                .lockout_secs(lockout_secs)
                .failure_cap(cap)
                .build()
                .unwrap(),
        );
        let mut rng = SeededRandom::new(b"throttle");
        let enrolled = enrol_totp(&e, "alice@example.com", T0, &mut rng);
        let mut rec = enrolled.record.clone();
        let id = enrolled.method_id;
        let mut audit = Vec::new();
        let mut model = ThrottleModel::default();
        let mut now = T0;
        for a in attempts {
            // A new time step for every attempt, so a right code is never a replay.
            now += 30;
            if model.locked_out && !matches!(a, Attempt::AdminUnlock) {
                // Past the cap only an admin unlocks, however long one waits.
                let before = rec.revision();
                let refused = e.verify(&mut rec, Some(id), &enrolled.code_at(now), now, &mut audit);
                prop_assert_eq!(refused, Err(Error::LockedOut));
                prop_assert!(rec.locked_out());
                prop_assert_eq!(rec.revision(), before);
                now += 30 * 86_400;
                continue;
            }
            let blocked_until = model.locked_until.max(model.next_allowed_at);
            if blocked_until > now && !matches!(a, Attempt::AdminUnlock) {
                let before = rec.revision();
                let refused = e.verify(&mut rec, Some(id), &enrolled.code_at(now), now, &mut audit);
                if model.locked_until > now {
                    prop_assert_eq!(refused, Err(Error::Locked { until: model.locked_until }));
                    prop_assert_eq!(rec.locked_until(Factor::Authenticator, now), Some(model.locked_until));
                } else {
                    prop_assert_eq!(refused, Err(Error::RetryLater { until: model.next_allowed_at }));
                }
                // A refusal while throttled neither counts nor changes the record.
                prop_assert_eq!(rec.revision(), before);
                now = blocked_until.div_ceil(30) * 30;
            }
            let before = rec.revision();
            match a {
                Attempt::Right => {
                    let r = e.verify(&mut rec, Some(id), &enrolled.code_at(now), now, &mut audit);
                    prop_assert!(r.is_ok(), "{:?}", r);
                    model = ThrottleModel::default();
                }
                Attempt::Wrong => {
                    let right = enrolled.code_at(now);
                    let wrong = wrong_code(&right, |c| {
                        check_totp_code(&enrolled.secret, &enrolled.params, c, now, 1).is_ok()
                    });
                    prop_assert_eq!(
                        e.verify(&mut rec, Some(id), &wrong, now, &mut audit),
                        Err(Error::WrongCode)
                    );
                    if model.locked_until != 0 && model.locked_until <= now {
                        // A lock that ran out restarts the back-off, not the streak.
                        model.failures = 0;
                        model.next_allowed_at = 0;
                        model.locked_until = 0;
                    }
                    model.failures += 1;
                    model.streak += 1;
                    if model.streak >= cap {
                        model.locked_out = true;
                        model.next_allowed_at = 0;
                    } else if model.failures >= threshold {
                        // Each lock before a success lasts twice as long as the last.
                        let secs = (u64::from(lockout_secs) << model.locks.min(20)).min(30 * 86_400);
                        model.locked_until = now + secs;
                        model.locks += 1;
                        model.next_allowed_at = 0;
                    } else if model.failures > free {
                        let doublings = model.failures - free - 1;
                        let delay = (u64::from(base) << doublings.min(31)).min(u64::from(base + max_extra));
                        model.next_allowed_at = now + delay;
                    }
                }
                Attempt::AdminUnlock => {
                    e.unlock(&mut rec, "admin", now, &mut audit);
                    model = ThrottleModel::default();
                    prop_assert!(rec.locked_until(Factor::Authenticator, now).is_none());
                }
            }
            // Every attempt that was made changed the record once, and the
            // counters survive storing and loading it.
            prop_assert_eq!(rec.revision(), before + 1);
            rec = round_trip(&rec);
            prop_assert_eq!(rec.consecutive_failures(Factor::Authenticator), model.streak);
            prop_assert_eq!(rec.locked_out(), model.locked_out);
        }
    }
}

// ----- app-password checksum -----------------------------------------------------

/// Every character a person might type instead of another: the symbols in both
/// cases and the look-alikes the alphabet leaves out.
fn replacements() -> impl Iterator<Item = u8> {
    APP_PASSWORD_SYMBOLS
        .iter()
        .copied()
        .chain(APP_PASSWORD_SYMBOLS.iter().map(u8::to_ascii_uppercase))
        .chain(*b"lo01LO")
}

static APP_PASSWORD_ENGINE: LazyLock<Engine> = LazyLock::new(|| engine(policy().build().unwrap()));

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_checksum_catches_every_single_substitution_and_adjacent_swap(seed in any::<[u8; 16]>()) {
        let e = &*APP_PASSWORD_ENGINE;
        let mut rng = SeededRandom::new(&seed);
        let mut rec = UserRecord::new("alice@example.com", T0);
        let created = e
            .create_app_password(&mut rec, "Outlook", &[], None, T0, &mut rng, &mut Vec::new())
            .unwrap();
        let display = created.password.expose().to_string();
        prop_assert_eq!(ParsedAppPassword::parse(&display).map(|p| p.id), Ok(created.id.clone()));
        let canonical: Vec<u8> = display.bytes().filter(|b| *b != b'-').collect();
        prop_assert_eq!(canonical.len(), mfa_core::APP_PASSWORD_LEN);
        let mut refused = 0usize;
        for form in [canonical.clone(), display.clone().into_bytes()] {
            for pos in (0..form.len()).filter(|p| form[*p] != b'-') {
                for r in replacements().filter(|r| r.to_ascii_lowercase() != form[pos]) {
                    let mut typo = form.clone();
                    typo[pos] = r;
                    let typo = String::from_utf8(typo).unwrap();
                    prop_assert_eq!(
                        ParsedAppPassword::parse(&typo),
                        Err(Error::MalformedAppPassword),
                        "{} at position {}", r as char, pos
                    );
                    refused += 1;
                }
            }
            for pos in 0..form.len() - 1 {
                let (a, b) = (form[pos], form[pos + 1]);
                if a == b || a == b'-' || b == b'-' {
                    continue;
                }
                let mut swapped = form.clone();
                swapped.swap(pos, pos + 1);
                let swapped = String::from_utf8(swapped).unwrap();
                prop_assert_eq!(
                    ParsedAppPassword::parse(&swapped),
                    Err(Error::MalformedAppPassword),
                    "swap at position {}", pos
                );
                refused += 1;
            }
        }
        // 32 positions × at least 68 replacements, twice, plus the swaps.
        prop_assert!(refused > 2 * 32 * 68);
    }
}

// ----- sealed seeds ----------------------------------------------------------------

struct SealFixture {
    engine: Engine,
    alice: common::Enrolled,
    bob: common::Enrolled,
}

static SEALS: LazyLock<SealFixture> = LazyLock::new(|| {
    let engine = engine(policy().build().unwrap());
    let mut rng = SeededRandom::new(b"seal fixture");
    let alice = enrol_totp(&engine, "alice@example.com", T0, &mut rng);
    let bob = enrol_totp(&engine, "bob@example.com", T0, &mut rng);
    SealFixture { engine, alice, bob }
});

fn seed_of(record: &Value) -> &Value {
    &record["methods"][0]["kind"]["seed"]
}

fn seed_of_mut(record: &mut Value) -> &mut Value {
    &mut record["methods"][0]["kind"]["seed"]
}

fn b64(v: &Value) -> Vec<u8> {
    BASE64URL_NOPAD
        .decode(v.as_str().unwrap().as_bytes())
        .unwrap()
}

/// Verify the user's current code against a record given as JSON.
fn verify_json(f: &SealFixture, json: &Value, enrolled: &common::Enrolled) -> Result<(), Error> {
    let mut rec = UserRecord::from_json(&json.to_string()).expect("still a readable record");
    let now = T0 + 60;
    f.engine
        .verify(&mut rec, None, &enrolled.code_at(now), now, &mut Vec::new())
        .map(|_| ())
}

#[test]
fn the_untampered_seal_verifies() {
    let f = &*SEALS;
    let json: Value = serde_json::from_str(&f.alice.record.to_json()).unwrap();
    assert_eq!(verify_json(f, &json, &f.alice), Ok(()));
    assert_eq!(b64(&seed_of(&json)["nonce"]).len(), 24);
    // 20 secret bytes and a 16-byte Poly1305 tag.
    assert_eq!(b64(&seed_of(&json)["ct"]).len(), 36);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_seal_with_any_byte_flipped_is_refused(index in 0usize..60, flip in 1u8..=255) {
        let f = &*SEALS;
        let mut json: Value = serde_json::from_str(&f.alice.record.to_json()).unwrap();
        let field = if index < 24 { "nonce" } else { "ct" };
        let i = if index < 24 { index } else { index - 24 };
        let mut bytes = b64(&seed_of(&json)[field]);
        bytes[i] ^= flip;
        seed_of_mut(&mut json)[field] = Value::String(BASE64URL_NOPAD.encode(&bytes));
        let result = verify_json(f, &json, &f.alice);
        prop_assert!(matches!(result, Err(Error::SealBroken { .. })), "{} byte {}: {:?}", field, i, result);
    }
}

#[test]
fn every_byte_of_the_seal_is_covered() {
    // Exhaustive companion of the property above: every byte, one flip each.
    let f = &*SEALS;
    let original: Value = serde_json::from_str(&f.alice.record.to_json()).unwrap();
    for field in ["nonce", "ct"] {
        let len = b64(&seed_of(&original)[field]).len();
        for i in 0..len {
            let mut json = original.clone();
            let mut bytes = b64(&seed_of(&json)[field]);
            bytes[i] ^= 0x80;
            seed_of_mut(&mut json)[field] = Value::String(BASE64URL_NOPAD.encode(&bytes));
            assert!(
                matches!(
                    verify_json(f, &json, &f.alice),
                    Err(Error::SealBroken { .. })
                ),
                "{field} byte {i}"
            );
        }
    }
}

#[test]
fn seals_of_the_wrong_length_or_key_are_refused() {
    let f = &*SEALS;
    let original: Value = serde_json::from_str(&f.alice.record.to_json()).unwrap();
    let mut short_ct = original.clone();
    let ct = b64(&seed_of(&original)["ct"]);
    seed_of_mut(&mut short_ct)["ct"] = Value::String(BASE64URL_NOPAD.encode(&ct[..ct.len() - 1]));
    let mut short_nonce = original.clone();
    let nonce = b64(&seed_of(&original)["nonce"]);
    seed_of_mut(&mut short_nonce)["nonce"] = Value::String(BASE64URL_NOPAD.encode(&nonce[..23]));
    let mut other_key = original.clone();
    seed_of_mut(&mut other_key)["kid"] = Value::String("seal-unknown".into());
    for (what, json) in [
        ("truncated ciphertext", short_ct),
        ("short nonce", short_nonce),
        ("unknown key", other_key),
    ] {
        assert!(
            matches!(
                verify_json(f, &json, &f.alice),
                Err(Error::SealBroken { .. })
            ),
            "{what}"
        );
    }
}

#[test]
fn a_seal_moved_to_another_users_record_is_refused() {
    let f = &*SEALS;
    let alice: Value = serde_json::from_str(&f.alice.record.to_json()).unwrap();
    let bob: Value = serde_json::from_str(&f.bob.record.to_json()).unwrap();
    assert_eq!(verify_json(f, &bob, &f.bob), Ok(()));

    // Alice's seed in Bob's method: Bob (or whoever holds Alice's app) cannot use it.
    let mut moved_seed = bob.clone();
    *seed_of_mut(&mut moved_seed) = seed_of(&alice).clone();
    assert!(matches!(
        verify_json(f, &moved_seed, &f.alice),
        Err(Error::SealBroken { .. })
    ));

    // Alice's whole method copied into Bob's record.
    let mut moved_method = bob.clone();
    moved_method["methods"][0] = alice["methods"][0].clone();
    assert!(matches!(
        verify_json(f, &moved_method, &f.alice),
        Err(Error::SealBroken { .. })
    ));

    // Alice's record renamed to Bob.
    let mut renamed = alice.clone();
    renamed["user_id"] = Value::String("bob@example.com".into());
    assert!(matches!(
        verify_json(f, &renamed, &f.alice),
        Err(Error::SealBroken { .. })
    ));
}

#[test]
fn a_stored_record_with_unusable_otp_parameters_is_refused_on_load() {
    // A damaged or hand-edited record must give a typed error, not a panic in
    // the code generator when the user next signs in.
    let f = &*SEALS;
    let original: Value = serde_json::from_str(&f.alice.record.to_json()).unwrap();
    for (field, value) in [
        ("digits", 10),
        ("digits", 5),
        ("digits", 255),
        ("period", 0),
    ] {
        let mut json = original.clone();
        json["methods"][0]["kind"]["params"][field] = Value::from(value);
        let loaded = UserRecord::from_json(&json.to_string());
        let Err(Error::CorruptRecord { reason }) = loaded else {
            let mut rec = loaded.unwrap();
            // A code of the stored length reaches the generator.
            let code = if field == "digits" {
                "1".repeat(value)
            } else {
                f.alice.code_at(T0 + 60)
            };
            let result = f
                .engine
                .verify(&mut rec, None, &code, T0 + 60, &mut Vec::new());
            panic!("{field} {value} loaded; verifying then gave {result:?}");
        };
        assert!(reason.contains(field), "{reason}");
    }
}
