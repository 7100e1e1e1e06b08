//! Component (through mfa-host) against native mfa-core.
//!
//! `cargo bench -p mfa-host` (builds the component, and a variant without
//! WebAssembly SIMD, first). Ratios are written up in `docs/BENCHMARKS.md`.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{NOW, host_policy, keys_json};
use criterion::{Criterion, criterion_group, criterion_main};
use mfa_core as core;
use mfa_host::{MfaHost, Record};

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
    let no_simd = host(&policy, &no_simd_component(), true);
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
    targets = totp_verify, instantiation, argon2, threads
}
criterion_main!(benches);
