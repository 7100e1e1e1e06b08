//! Helpers shared by the engine's integration tests.
#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

#[cfg(feature = "webauthn")]
pub mod authenticator;
#[cfg(feature = "webauthn")]
pub mod passkey_users;

use mfa_core::{
    Argon2Params, AuditEvent, Confirmed, Engine, FirstFactor, Keys, MethodId, MfaState, OtpAuthUri,
    Policy, PolicyBuilder, Registration, SeededRandom, SignInStep, SignedIn, Standing, Totp,
    UserRecord, totp_code,
};

/// A Tuesday in November 2023, as the engine's `now` in every test.
pub const T0: u64 = 1_700_000_000;

/// A policy builder with fast argon2 parameters; everything else at its default.
///
/// Flows send codes seconds apart, so the send budget is wide here; the
/// budget itself is played with the defaults in `security.rs`.
pub fn policy() -> PolicyBuilder {
    Policy::builder()
        .argon2(Argon2Params::INSECURE_FOR_TESTS)
        .send_gap_secs(0)
        .sends_per_hour(100)
        .sends_per_day(1000)
}

/// An engine for `policy` with keys drawn from a fixed seed.
pub fn engine(policy: Policy) -> Engine {
    let mut rng = SeededRandom::new(b"test keys");
    Engine::new(policy, Keys::generate(&mut rng)).expect("test policy is valid")
}

/// The secret inside an otpauth URI.
pub fn secret_of(uri: &str) -> Vec<u8> {
    OtpAuthUri::parse(uri)
        .expect("engine URIs parse")
        .0
        .secret()
        .to_vec()
}

/// A user with MFA enabled who registered an authenticator app at `now`.
pub struct Enrolled {
    /// The record after registration.
    pub record: UserRecord,
    /// The authenticator's secret, as the app holds it.
    pub secret: Vec<u8>,
    /// The app's parameters.
    pub params: Totp,
    /// The registered method.
    pub method_id: MethodId,
    /// What confirming the registration returned.
    pub confirmed: Confirmed,
    /// Audit events of the whole enrolment.
    pub audit: Vec<AuditEvent>,
}

impl Enrolled {
    /// The app's code at time `at`.
    pub fn code_at(&self, at: u64) -> String {
        totp_code(&self.secret, &self.params, at).expect("valid parameters")
    }
}

/// Enable MFA for `user` and register an authenticator app, confirmed with the
/// code of the time step that contains `now`.
pub fn enrol_totp(engine: &Engine, user: &str, now: u64, rng: &mut SeededRandom) -> Enrolled {
    let mut record = UserRecord::new(user, now);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut record, MfaState::Enabled, "admin", now, &mut audit);
    let Registration::Authenticator { uri, .. } = engine
        .begin_authenticator(&mut record, None, now, rng, &mut audit)
        .expect("authenticator apps are allowed")
    else {
        panic!("an authenticator registration shows a QR code")
    };
    let secret = secret_of(uri.expose());
    let params = engine.policy().totp;
    let code = totp_code(&secret, &params, now).expect("valid parameters");
    let confirmed = engine
        .confirm_registration(&mut record, &code, now, rng, &mut audit)
        .expect("the current code confirms the registration");
    Enrolled {
        method_id: confirmed.method_id,
        record,
        secret,
        params,
        confirmed,
        audit,
    }
}

/// A well-formed code of `digits` digits that `check` refuses: the right code
/// with one digit changed, trying digits until none of the window's codes match.
pub fn wrong_code(right: &str, accepted: impl Fn(&str) -> bool) -> String {
    for pos in 0..right.len() {
        for add in 1..10u8 {
            let mut bytes = right.as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + add) % 10;
            let candidate = String::from_utf8(bytes).expect("digits");
            if !accepted(&candidate) {
                return candidate;
            }
        }
    }
    panic!("every variant of the code is accepted")
}

/// Store and load the record as a host does between requests.
pub fn round_trip(record: &UserRecord) -> UserRecord {
    UserRecord::from_json(&record.to_json()).expect("a stored record loads again")
}

/// The 32 symbols of app passwords, in value order (module documentation of `app_password`).
pub const APP_PASSWORD_SYMBOLS: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// A password in the app-password format with the given 4-symbol id and a
/// random body: 30 symbols, then two check symbols holding the sum of
/// `position × value` (positions from 1) modulo 1021, in base 32. It passes
/// the format check; whether it matches a stored hash is up to chance.
pub fn well_formed_app_password(id: &str, rng: &mut SeededRandom) -> String {
    use mfa_core::RandomSource;
    let value = |c: u8| {
        APP_PASSWORD_SYMBOLS
            .iter()
            .position(|s| *s == c)
            .expect("an app-password symbol") as u32
    };
    let mut values: Vec<u32> = id.bytes().map(value).collect();
    assert_eq!(values.len(), 4, "ids have 4 symbols");
    let mut body = [0u8; 26];
    rng.fill(&mut body);
    values.extend(body.iter().map(|b| u32::from(b % 32)));
    let sum = values
        .iter()
        .enumerate()
        .fold(0, |acc, (i, v)| (acc + (i as u32 + 1) * v) % 1021);
    values.extend([sum / 32, sum % 32]);
    let symbols: Vec<u8> = values
        .iter()
        .map(|v| APP_PASSWORD_SYMBOLS[*v as usize])
        .collect();
    symbols
        .chunks(4)
        .map(|c| String::from_utf8(c.to_vec()).expect("ASCII"))
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether `needle` occurs in `haystack` other than inside a longer run of
/// digits (a 6-digit code inside a 10-digit timestamp is not a leak).
pub fn contains_code(haystack: &str, needle: &str) -> bool {
    let bytes = haystack.as_bytes();
    haystack.match_indices(needle).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + needle.len()).copied();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

/// A user signed in through the engine's flow: password, then "Set it up now"
/// with an authenticator app, remembering the device. Returns the record and
/// the tokens the engine issued.
pub fn signed_in(
    engine: &Engine,
    user: &str,
    now: u64,
    rng: &mut SeededRandom,
) -> (UserRecord, SignedIn) {
    let mut record = UserRecord::new(user, now);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut record, MfaState::Enabled, "admin", now, &mut audit);
    let SignInStep::Next(login) =
        engine.start_sign_in(&record, FirstFactor::Password, None, now, rng, &mut audit)
    else {
        panic!("a user without methods must set one up")
    };
    let Registration::Authenticator { uri, .. } = engine
        .begin_authenticator(&mut record, None, now, rng, &mut audit)
        .expect("authenticator apps are allowed")
    else {
        panic!("an authenticator registration shows a QR code")
    };
    let code = totp_code(&secret_of(uri.expose()), &engine.policy().totp, now).unwrap();
    let registered = engine
        .finish_registration(
            &mut record,
            Standing::Token(login.token.expose()),
            &code,
            true,
            now,
            rng,
            &mut audit,
        )
        .expect("the current code finishes the set-up");
    (
        record,
        registered.signed_in.expect("set-up signs the user in"),
    )
}
