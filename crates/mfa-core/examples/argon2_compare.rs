//! Median time of one argon2id hash (m=19456 KiB, t=2, p=1) with both backends,
//! as JSON on stdout. `cargo xtask bench` runs it next to @node-rs/argon2.
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures wall-clock time; the engine itself stays sans-IO"
)]
use std::time::Instant;

use mfa_core::{Argon2Params, argon2id_for_benchmarks, portable_argon2id_for_benchmarks};

type Hash = fn(&Argon2Params, &[u8], &[u8], &mut [u8]) -> Result<(), mfa_core::Error>;

fn median_ms(f: Hash, runs: usize) -> f64 {
    let params = Argon2Params::default();
    let mut out = [0u8; 32];
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs + 3 {
        let t = Instant::now();
        f(
            &params,
            b"yisw-i8fn-9ymx-nm99-6jmd-ika9-rxgy-7xyu",
            b"0123456789abcdef",
            &mut out,
        )
        .expect("hash");
        if i >= 3 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let runs = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let fast = median_ms(argon2id_for_benchmarks, runs);
    let portable = median_ms(portable_argon2id_for_benchmarks, runs);
    println!(
        "{{\"runs\":{runs},\"mfa_core_default_ms\":{fast:.3},\"rustcrypto_argon2_ms\":{portable:.3}}}"
    );
}
