//! Benchmarks of the engine's hot paths: what a sign-in or a gateway request costs.
//!
//! `cargo bench -p mfa-core` (about a minute). Groups:
//! - `totp`: a code checked through `Engine::verify` on a record (opening the
//!   sealed seed, ±1 step) and the raw `check_totp_code`;
//! - `app_password_reject`: refusing garbage and a one-typo password before any hashing;
//! - `app_password_verify`: a right app password at the default argon2id cost
//!   (m=19456 KiB, t=2, p=1);
//! - `token`: verifying an MFA session token;
//! - `webauthn`: a passkey assertion checked by `webauthn::finish_authentication`
//!   (client data, authenticator data, signature) per algorithm, on the
//!   WebAuthn Level 3 specification's vectors (`tests/vectors/webauthn-l3.json`).
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use mfa_core::{
    AppPasswordCredential, Argon2Params, Engine, Keys, MfaState, OtpAuthUri, ParsedAppPassword,
    Policy, Registration, SeededRandom, Totp, UserRecord, check_totp_code, totp_code,
};

const NOW: u64 = 1_700_000_000;

/// A user who registered an authenticator app, with its secret.
fn enrolled(engine: &Engine, rng: &mut SeededRandom) -> (UserRecord, Vec<u8>) {
    let mut rec = UserRecord::new("alice@contoso.com", NOW);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut rec, MfaState::Enabled, "admin", NOW, &mut audit);
    let Ok(Registration::Authenticator { uri, .. }) =
        engine.begin_authenticator(&mut rec, None, NOW, rng, &mut audit)
    else {
        panic!("authenticator registration starts")
    };
    let secret = OtpAuthUri::parse(uri.expose())
        .expect("engine URIs parse")
        .0
        .secret()
        .to_vec();
    let code = totp_code(&secret, &engine.policy().totp, NOW).expect("valid parameters");
    engine
        .confirm_registration(&mut rec, &code, NOW, rng, &mut audit)
        .expect("the current code confirms");
    (rec, secret)
}

fn totp(c: &mut Criterion) {
    let mut rng = SeededRandom::new(b"bench totp");
    let policy = Policy::builder()
        .argon2(Argon2Params::INSECURE_FOR_TESTS)
        .build()
        .expect("valid policy");
    let engine = Engine::new(policy, Keys::generate(&mut rng)).expect("valid engine");
    let (rec, secret) = enrolled(&engine, &mut rng);
    let params = Totp::default();
    // A later sign-in; the code of the step ahead, so all three steps are computed.
    let now = NOW + 3600;
    let code = totp_code(&secret, &params, now + 30).expect("valid parameters");

    let mut g = c.benchmark_group("totp");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("engine_verify_window1_with_unseal", |b| {
        b.iter_batched_ref(
            || (rec.clone(), Vec::with_capacity(4)),
            |(rec, audit)| {
                let v = engine.verify(rec, None, black_box(&code), now, audit);
                assert!(v.is_ok());
                v
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("check_totp_code_window1", |b| {
        b.iter(|| check_totp_code(black_box(&secret), &params, black_box(&code), now, 1));
    });
    g.finish();
}

fn app_password_reject(c: &mut Criterion) {
    let mut rng = SeededRandom::new(b"bench app password");
    let policy = Policy::builder()
        .argon2(Argon2Params::INSECURE_FOR_TESTS)
        .build()
        .expect("valid policy");
    let engine = Engine::new(policy, Keys::generate(&mut rng)).expect("valid engine");
    let mut rec = UserRecord::new("alice@contoso.com", NOW);
    let created = engine
        .create_app_password(
            &mut rec,
            "Outlook",
            &[],
            None,
            NOW,
            &mut rng,
            &mut Vec::new(),
        )
        .expect("app passwords are allowed");
    let mut typo = created.password.expose().as_bytes().to_vec();
    typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ASCII");
    assert!(ParsedAppPassword::parse(&typo).is_err());

    let mut g = c.benchmark_group("app_password_reject");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("garbage", |b| {
        b.iter(|| ParsedAppPassword::parse(black_box("correct horse battery staple")));
    });
    g.bench_function("one_typo", |b| {
        b.iter(|| ParsedAppPassword::parse(black_box(&typo)));
    });
    g.finish();
}

fn app_password_verify(c: &mut Criterion) {
    let mut rng = SeededRandom::new(b"bench app password verify");
    let engine = Engine::new(Policy::default(), Keys::generate(&mut rng)).expect("valid engine");
    assert_eq!(engine.policy().argon2, Argon2Params::default());
    let mut rec = UserRecord::new("alice@contoso.com", NOW);
    let created = engine
        .create_app_password(
            &mut rec,
            "Outlook",
            &[],
            None,
            NOW,
            &mut rng,
            &mut Vec::new(),
        )
        .expect("app passwords are allowed");
    let credential: AppPasswordCredential = created.credential.clone();
    let password = created.password.expose().to_string();
    let params = Argon2Params::default();

    let mut g = c.benchmark_group("app_password_verify");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("argon2id_m19456_t2_p1", |b| {
        b.iter(|| {
            let m = credential.verify(black_box(&password), None, NOW + 10, &params);
            assert!(m.is_ok());
            m
        });
    });
    g.finish();
}

fn token(c: &mut Criterion) {
    let mut rng = SeededRandom::new(b"bench token");
    let engine = Engine::new(Policy::default(), Keys::generate(&mut rng)).expect("valid engine");
    let (mut rec, secret) = enrolled(&engine, &mut rng);
    let code = totp_code(&secret, &engine.policy().totp, NOW + 30).expect("valid parameters");
    let verified = engine
        .verify(&mut rec, None, &code, NOW + 30, &mut Vec::new())
        .expect("the next step's code verifies");
    let token = engine.issue_session(&rec, &verified, &["pwd"], NOW, &mut rng, &mut Vec::new());

    let mut g = c.benchmark_group("token");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("issue_session", |b| {
        b.iter(|| engine.issue_session(&rec, &verified, &["pwd"], NOW, &mut rng, &mut Vec::new()))
    });
    g.bench_function("verify_session", |b| {
        b.iter(|| {
            let claims = engine.verify_session(black_box(&token), NOW + 60);
            assert!(claims.is_ok());
            claims
        });
    });
    g.finish();
}

/// Hex of field `key` of `v`.
fn unhex(v: &serde_json::Value, key: &str) -> Vec<u8> {
    let s = v[key].as_str().expect("hex field");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn webauthn(c: &mut Criterion) {
    use mfa_core::webauthn::{
        AssertionResponse, Ceremony, CeremonyPolicy, RegistrationResponse, RelyingParty,
        StoredCredential, UserVerification, finish_authentication, finish_registration,
    };
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/webauthn-l3.json"
    );
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("JSON");
    let find = |list: &str, name: &str| {
        all[list]
            .as_array()
            .expect("list")
            .iter()
            .find(|v| v["name"] == name)
            .expect("vector")
            .clone()
    };
    let rp = RelyingParty::new("example.org", "Example", &["https://example.org"]).expect("rp");
    let policy = CeremonyPolicy::default();
    let later = NOW + 60;
    let mut g = c.benchmark_group("webauthn");
    g.measurement_time(Duration::from_secs(3));
    for (alg, name) in [
        ("es256", "none-es256"),
        ("eddsa", "packed-eddsa"),
        ("rs256", "packed-rs256"),
    ] {
        let reg = find("registrations", name);
        let ceremony = Ceremony::recorded_registration(
            &unhex(&reg, "challenge_hex"),
            later,
            UserVerification::Preferred,
        );
        let response = RegistrationResponse {
            credential_id: unhex(&reg, "credential_id_hex"),
            client_data_json: unhex(&reg, "client_data_json_hex"),
            attestation_object: unhex(&reg, "attestation_object_hex"),
            transports: vec![],
        };
        let cred = finish_registration(&rp, &ceremony, &policy, &[], &response, NOW)
            .expect("the vector registers");
        let a = find("assertions", &format!("{name}.assertion"));
        let id = unhex(&a, "credential_id_hex");
        let ceremony = Ceremony::recorded_authentication(
            &unhex(&a, "challenge_hex"),
            later,
            UserVerification::Preferred,
            &[&id],
        );
        let response = AssertionResponse {
            credential_id: id,
            client_data_json: unhex(&a, "client_data_json_hex"),
            authenticator_data: unhex(&a, "authenticator_data_hex"),
            signature: unhex(&a, "signature_hex"),
            user_handle: None,
        };
        let stored = StoredCredential {
            credential_id: &cred.credential_id,
            public_key: &cred.public_key,
            sign_count: 0,
            user_handle: b"user",
            backup_eligible: cred.backup_eligible,
        };
        g.bench_function(format!("assertion_{alg}"), |b| {
            b.iter(|| {
                let r = finish_authentication(
                    &rp,
                    &ceremony,
                    &policy,
                    stored,
                    black_box(&response),
                    NOW,
                );
                assert!(r.is_ok());
                r
            });
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    totp(&mut c);
    app_password_reject(&mut c);
    app_password_verify(&mut c);
    token(&mut c);
    webauthn(&mut c);
    c.final_summary();
}
