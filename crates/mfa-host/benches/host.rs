//! Component (through mfa-host) against native mfa-core.
//!
//! `cargo bench -p mfa-host` (builds the component first, and a variant
//! without WebAssembly SIMD when its argon2 benchmark is selected). Ratios
//! are written up in `docs/BENCHMARKS.md`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[path = "../tests/common/mod.rs"]
mod common;

#[path = "../../mfa-core/tests/common/authenticator.rs"]
mod authenticator;

use std::cell::OnceCell;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authenticator::SoftKey;
use common::{NOW, host_policy, keys_json};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mfa_core as core;
use mfa_host::{MfaHost, Proof, Record, Standing};

/// The component built without WebAssembly SIMD (the shipped one uses
/// `+simd128`, see `.cargo/config.toml`), in its own target dir.
fn no_simd_component() -> PathBuf {
    let dir = common::workspace_root().join("target/no-simd128");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(common::workspace_root())
        .env(
            "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
            "-C target-feature=-simd128",
        )
        .args([
            "build",
            "-p",
            "mfa-component",
            "--target",
            "wasm32-wasip2",
            "--release",
        ])
        .arg("--target-dir")
        .arg(&dir)
        .status()
        .expect("cargo");
    assert!(
        status.success(),
        "building the component without SIMD failed"
    );
    dir.join("wasm32-wasip2/release/mfa_component.wasm")
}

fn host(policy: &core::Policy, wasm: &std::path::Path, pooling: bool) -> MfaHost {
    host_with(policy, wasm, pooling, true)
}

fn host_with(
    policy: &core::Policy,
    wasm: &std::path::Path,
    pooling: bool,
    reset_in_place: bool,
) -> MfaHost {
    MfaHost::builder()
        .component_file(wasm)
        .keys(keys_json(b"bench"))
        .policy(host_policy(policy))
        .pooling_allocator(pooling)
        .reset_memory_in_place(reset_in_place)
        .max_instances(4)
        .build()
        .expect("host")
}

/// A stored record with a registered authenticator app, its secret, and the native engine.
fn enrolled(policy: &core::Policy) -> (Vec<u8>, Vec<u8>, core::Engine) {
    let keys = core::Keys::from_json(&keys_json(b"bench")).expect("keys");
    let engine = core::Engine::new(policy.clone(), keys).expect("engine");
    let mut rng = core::SeededRandom::new(b"bench record");
    let mut rec = core::UserRecord::new("alice@example.com", NOW);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut rec, core::MfaState::Enabled, "admin", NOW, &mut audit);
    let Ok(core::Registration::Authenticator { uri, .. }) =
        engine.begin_authenticator(&mut rec, None, NOW, &mut rng, &mut audit)
    else {
        panic!("registration")
    };
    let secret = core::OtpAuthUri::parse(uri.expose())
        .expect("uri")
        .0
        .secret()
        .to_vec();
    let code = core::totp_code(&secret, &core::Totp::default(), NOW).expect("code");
    engine
        .confirm_registration(&mut rec, &code, NOW, &mut rng, &mut audit)
        .expect("confirmed");
    (rec.to_json().into_bytes(), secret, engine)
}

fn totp_verify(c: &mut Criterion) {
    let policy = common::test_policy();
    let wasm = common::component();
    let h = host(&policy, wasm, true);
    let (stored, secret, engine) = enrolled(&policy);
    let t = NOW + 300;
    let code = core::totp_code(&secret, &core::Totp::default(), t).expect("code");
    println!("record size: {} bytes", stored.len());

    let mut g = c.benchmark_group("totp_verify_record");
    g.bench_function("native", |b| {
        b.iter(|| {
            // What a host does natively: read the stored record, verify, write it back.
            let mut rec = core::UserRecord::from_json(std::str::from_utf8(&stored).expect("utf-8"))
                .expect("record");
            let mut audit = Vec::new();
            let r = engine.verify(&mut rec, None, &code, t, &mut audit);
            assert!(r.is_ok());
            std::hint::black_box((rec.to_json(), audit))
        })
    });
    g.bench_function("component", |b| {
        b.iter(|| {
            let out = h
                .verify(Record::Stored(&stored), None, &code, t)
                .expect("call");
            assert!(out.result.is_ok());
            std::hint::black_box(out)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("totp_check_stateless");
    let params = core::Totp::default();
    let hp = mfa_host::TotpParams {
        algorithm: mfa_host::Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    g.bench_function("native", |b| {
        b.iter(|| std::hint::black_box(core::check_totp_code(&secret, &params, &code, t, 1)))
    });
    g.bench_function("component", |b| {
        b.iter(|| std::hint::black_box(h.check_totp(&secret, hp, &code, t, 1)))
    });
    g.finish();
}

const ORIGIN: &str = "http://localhost:8080";

/// The test policy with passkeys on for the relying party `localhost`.
fn passkey_policy() -> core::Policy {
    let mut p = common::test_policy();
    p.allowed_methods = core::MethodType::ALL.to_vec();
    p.passkeys = core::PasskeyPolicy {
        rp_id: "localhost".into(),
        origins: vec![ORIGIN.into()],
        ..core::PasskeyPolicy::default()
    };
    p
}

/// A login token (the first factor done) for the stored record at `at`.
fn login_token(engine: &core::Engine, stored: &[u8], at: u64) -> String {
    let rec =
        core::UserRecord::from_json(std::str::from_utf8(stored).expect("utf-8")).expect("record");
    let mut rng = core::SeededRandom::new(b"bench login");
    match engine.start_sign_in(
        &rec,
        core::FirstFactor::Password,
        None,
        at,
        &mut rng,
        &mut Vec::new(),
    ) {
        core::SignInStep::Next(step) => step.token.expose().to_string(),
        core::SignInStep::SignedIn(_) => panic!("no device token was presented"),
    }
}

/// A stored record whose only method is `key`, set up at "Set it up now".
fn with_passkey(engine: &core::Engine, key: &SoftKey) -> Vec<u8> {
    let mut rng = core::SeededRandom::new(b"bench passkey");
    let mut rec = core::UserRecord::new("alice@example.com", NOW);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut rec, core::MfaState::Enabled, "admin", NOW, &mut audit);
    let token = login_token(engine, rec.to_json().as_bytes(), NOW);
    let options = engine
        .begin_passkey(&mut rec, NOW, &mut rng, &mut audit)
        .expect("creation options");
    engine
        .finish_passkey_registration(
            &mut rec,
            core::Standing::Token(&token),
            &key.create(&options.options),
            "Security key",
            false,
            NOW,
            &mut rng,
            &mut audit,
        )
        .expect("registered");
    rec.to_json().into_bytes()
}

/// The second factor of a sign-in, `finish_sign_in` on a login token: a
/// passkey's answer per algorithm, and an authenticator-app code for
/// comparison, natively and through the component. Record bytes in, new
/// record, audit events and a signed session token out. A passkey ceremony
/// is used once, so each iteration's `begin_passkey_sign_in` and the
/// authenticator's signature are made in the untimed set-up.
fn sign_in_finish(c: &mut Criterion) {
    let policy = passkey_policy();
    let h = host(&policy, common::component(), true);
    let (totp_stored, secret, engine) = enrolled(&policy);
    let t = NOW + 600;
    let code = core::totp_code(&secret, &core::Totp::default(), t).expect("code");
    let totp_token = login_token(&engine, &totp_stored, t);

    let mut g = c.benchmark_group("sign_in_finish");
    g.bench_function("native_totp_code", |b| {
        let mut rng = core::SeededRandom::new(b"bench finish");
        b.iter(|| {
            let mut rec =
                core::UserRecord::from_json(std::str::from_utf8(&totp_stored).expect("utf-8"))
                    .expect("record");
            let mut audit = Vec::new();
            let r = engine.finish_sign_in(
                &mut rec,
                core::Standing::Token(&totp_token),
                core::Proof::Code {
                    method: None,
                    code: &code,
                },
                false,
                t,
                &mut rng,
                &mut audit,
            );
            assert!(r.is_ok());
            std::hint::black_box((rec.to_json(), audit, r))
        })
    });
    g.bench_function("component_totp_code", |b| {
        b.iter(|| {
            let out = h
                .finish_sign_in(
                    Record::Stored(&totp_stored),
                    Standing::Token(&totp_token),
                    Proof::Code {
                        method: None,
                        code: &code,
                    },
                    false,
                    t,
                )
                .expect("call");
            assert!(out.result.is_ok());
            std::hint::black_box(out)
        })
    });

    for (alg, mut key) in [
        ("es256", SoftKey::p256(11, "localhost", ORIGIN)),
        ("eddsa", SoftKey::ed25519(12, "localhost", ORIGIN)),
        ("rs256", SoftKey::rs256("localhost", ORIGIN)),
    ] {
        let stored = with_passkey(&engine, &key);
        let token = login_token(&engine, &stored, t);
        let mut starts = 0u64;
        g.bench_function(format!("native_passkey_{alg}"), |b| {
            b.iter_batched(
                || {
                    starts += 1;
                    let mut rng = core::SeededRandom::new(&starts.to_le_bytes());
                    let mut rec =
                        core::UserRecord::from_json(std::str::from_utf8(&stored).expect("utf-8"))
                            .expect("record");
                    let options = engine
                        .begin_passkey_sign_in(
                            &mut rec,
                            core::Standing::Token(&token),
                            t,
                            &mut rng,
                            &mut Vec::new(),
                        )
                        .expect("request options");
                    (rec.to_json(), key.get(&options.options, None), rng)
                },
                |(ceremony, answer, mut rng)| {
                    let mut rec = core::UserRecord::from_json(&ceremony).expect("record");
                    let mut audit = Vec::new();
                    let r = engine.finish_sign_in(
                        &mut rec,
                        core::Standing::Token(&token),
                        core::Proof::Passkey(&answer),
                        false,
                        t,
                        &mut rng,
                        &mut audit,
                    );
                    assert!(r.is_ok());
                    (rec.to_json(), audit, r)
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("component_passkey_{alg}"), |b| {
            b.iter_batched(
                || {
                    let out = h
                        .begin_passkey_sign_in(Record::Stored(&stored), Standing::Token(&token), t)
                        .expect("call");
                    let options = out.result.expect("request options");
                    let ceremony = out.saved.stored.expect("the ceremony is stored");
                    let answer = key.get(&options.options, None);
                    (ceremony, answer)
                },
                |(ceremony, answer)| {
                    let out = h
                        .finish_sign_in(
                            Record::Stored(&ceremony),
                            Standing::Token(&token),
                            Proof::Passkey(&answer),
                            false,
                            t,
                        )
                        .expect("call");
                    assert!(out.result.is_ok());
                    out
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn instantiation(c: &mut Criterion) {
    let policy = common::test_policy();
    let wasm = common::component();
    let pooled = host(&policy, wasm, true);
    let ondemand = host(&policy, wasm, false);
    let madvise = host_with(&policy, wasm, true, false);
    let mut g = c.benchmark_group("instantiate");
    g.bench_function("pooling", |b| {
        b.iter(|| pooled.instantiate_fresh(false).expect("instance"))
    });
    g.bench_function("pooling_reset_by_madvise", |b| {
        b.iter(|| madvise.instantiate_fresh(false).expect("instance"))
    });
    g.bench_function("on_demand", |b| {
        b.iter(|| ondemand.instantiate_fresh(false).expect("instance"))
    });
    g.bench_function("pooling_with_engine_resource", |b| {
        b.iter(|| pooled.instantiate_fresh(true).expect("instance"))
    });
    g.finish();
}

fn argon2(c: &mut Criterion) {
    let policy = core::Policy::default();
    let keys = core::Keys::from_json(&keys_json(b"bench")).expect("keys");
    let engine = core::Engine::new(policy.clone(), keys).expect("engine");
    let mut rng = core::SeededRandom::new(b"argon2");
    let mut rec = core::UserRecord::new("alice@example.com", NOW);
    let created = engine
        .create_app_password(&mut rec, "Mail", &[], None, NOW, &mut rng, &mut Vec::new())
        .expect("created");
    let cred = created.credential.clone();
    let password = created.password.expose().to_string();
    let hcred = mfa_host::AppPasswordCredential {
        user: cred.user.clone(),
        id: cred.id.clone(),
        hash: cred.hash.clone(),
        scopes: cred.scopes.clone(),
        expires_at: cred.expires_at,
    };
    let params = mfa_host::Argon2Params {
        m_kib: 19_456,
        t: 2,
        p: 1,
    };
    let plain = host(&policy, common::component(), true);
    // Built (a minute) only when its benchmark is selected.
    let no_simd = OnceCell::new();
    let mut g = c.benchmark_group("argon2id_m19456_t2_p1");
    g.sample_size(20);
    g.bench_function("native", |b| {
        b.iter(|| {
            cred.verify(&password, None, NOW, &core::Argon2Params::default())
                .expect("match")
        })
    });
    // The portable RustCrypto backend natively: the same kind of code as the
    // component runs (no AVX2 kernels), to tell the boundary from the backend.
    g.bench_function("native_portable", |b| {
        let salt = [7u8; 16];
        let mut out = [0u8; 32];
        b.iter(|| {
            core::portable_argon2id_for_benchmarks(
                &core::Argon2Params::default(),
                password.as_bytes(),
                &salt,
                &mut out,
            )
            .expect("hash")
        })
    });
    g.bench_function("component", |b| {
        b.iter(|| {
            plain
                .verify_app_password_credential(&hcred, &password, None, NOW, params)
                .expect("match")
        })
    });
    g.bench_function("component_without_simd128", |b| {
        let no_simd = no_simd.get_or_init(|| host(&policy, &no_simd_component(), true));
        b.iter(|| {
            no_simd
                .verify_app_password_credential(&hcred, &password, None, NOW, params)
                .expect("match")
        })
    });
    g.finish();
}

fn threads(c: &mut Criterion) {
    let policy = common::test_policy();
    let h = Arc::new(host(&policy, common::component(), true));
    let (stored, secret, _) = enrolled(&policy);
    let stored = Arc::new(stored);
    let t = NOW + 300;
    let code = Arc::new(core::totp_code(&secret, &core::Totp::default(), t).expect("code"));
    let mut g = c.benchmark_group("totp_verify_throughput");
    for n in [1usize, 2] {
        g.bench_function(format!("{n}_threads"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let workers: Vec<_> = (0..n)
                    .map(|_| {
                        let (h, stored, code) = (h.clone(), stored.clone(), code.clone());
                        std::thread::spawn(move || {
                            for _ in 0..iters {
                                let out = h
                                    .verify(Record::Stored(&stored), None, &code, t)
                                    .expect("call");
                                assert!(out.result.is_ok());
                            }
                        })
                    })
                    .collect();
                for w in workers {
                    w.join().expect("worker");
                }
                // Time per call across all threads: lower is more throughput.
                start.elapsed() / n as u32
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = totp_verify, sign_in_finish, instantiation, argon2, threads
}
criterion_main!(benches);
