//! Throughput and latency of Envoy with and without the filter, measured with
//! `wrk` on loopback in one run. Prints a Markdown table for docs/BENCHMARKS.md.
//!
//! `cargo test -p mfa-proxy --release --test envoy_bench -- --ignored --nocapture`
//! (needs `wrk`; Envoy is installed into `.venv/` like for the e2e tests).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports its numbers"
)]

mod support;

use std::process::Command;
use std::time::Duration;

use mfa_core::{Engine, Keys, Policy, UserRecord};
use serde_json::json;

use support::backend::{self, OsRandom, unix_now};
use support::{
    Envoy, basic, bootstrap, bypass_route, cluster, free_port, listener, listener_with_routes,
    request, scratch, wasm_filter,
};

/// Rounds of the side-by-side runs (medians are reported); `MFA_BENCH_ROUNDS` overrides.
fn rounds() -> usize {
    std::env::var("MFA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=9).contains(n))
        .unwrap_or(3)
}

#[derive(Clone, Copy, Default)]
struct Run {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    /// Envoy's own CPU time per request (user + system), in µs.
    cpu_us: f64,
}

/// CPU time (user + system) of a process so far, in µs.
fn cpu_us(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name in parentheses; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0);
    ticks * 1e6 / hz
}

fn micros(v: &str) -> Option<f64> {
    let v = v.trim();
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|n| n * scale)
}

fn wrk(pid: u32, url: &str, headers: &[(&str, &str)], connections: &str, secs: &str) -> Run {
    let cpu_before = cpu_us(pid);
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1",
        &format!("-c{connections}"),
        &format!("-d{secs}s"),
        "--latency",
        "--timeout",
        "5s",
    ]);
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    cmd.arg(url);
    let out = support::run_bounded(&mut cmd, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("wrk: {e}"));
    if out.contains("Non-2xx") {
        panic!("wrk saw failed requests against {url}:\n{out}");
    }
    let cpu = cpu_us(pid) - cpu_before;
    let mut run = Run::default();
    let mut requests = 0.0;
    for line in out.lines() {
        if let Some((n, _)) = line.trim().split_once(" requests in ") {
            requests = n.trim().parse().unwrap_or(0.0);
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => run.rps = v.parse().unwrap_or(0.0),
            (Some("50%"), Some(v)) => run.p50_us = micros(v).unwrap_or(0.0),
            (Some("99%"), Some(v)) => run.p99_us = micros(v).unwrap_or(0.0),
            _ => {}
        }
    }
    assert!(
        run.rps > 0.0 && requests > 0.0,
        "no Requests/sec in wrk output:\n{out}"
    );
    run.cpu_us = cpu / requests;
    run
}

fn median(runs: &[Run]) -> Run {
    let mut runs = runs.to_vec();
    let mid = runs.len() / 2;
    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
    let mut m = runs[mid];
    runs.sort_by(|a, b| a.cpu_us.total_cmp(&b.cpu_us));
    m.cpu_us = runs[mid].cpu_us;
    m
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
fn envoy_with_and_without_the_filter() {
    assert!(
        Command::new("wrk").arg("--version").output().is_ok(),
        "wrk is not installed (Debian: apt-get install wrk)"
    );
    let envoy_bin = support::envoy().expect("Envoy (MFA_SKIP_ENVOY is set)");
    let wasm = support::wasm();
    let now = unix_now();
    let engine = Engine::new(Policy::default(), Keys::generate(&mut OsRandom)).expect("engine");
    let mut alice = UserRecord::new("alice@example.com", now);
    let new = engine
        .create_app_password(
            &mut alice,
            "Mail",
            &[],
            None,
            now,
            &mut OsRandom,
            &mut Vec::new(),
        )
        .expect("app password");
    let password = new.password.expose().to_string();
    let token = backend::session_token(&engine, alice.user_id(), now, &mut OsRandom);
    let upstream = backend::echo_upstream(0).expect("echo upstream");

    let cfg = |ttl: u64| {
        json!({
            "routes": [
                { "path_prefix": "/web", "mode": "session" },
                { "path_prefix": "/public", "mode": "public" },
                { "path_prefix": "/bypass", "mode": "public" },
                { "mode": "app_password" }
            ],
            "app_passwords": { "credentials": [&new.credential], "cache_ttl_secs": ttl },
            "session": {
                "jwks": serde_json::from_str::<serde_json::Value>(&engine.jwks().to_json()).expect("jwks"),
                "issuer": "mfa-wasm", "audience": "mfa-wasm",
                "redirect_url": "https://id.example.com/verify"
            },
            "throttle": { "max_failures": 1000 }
        })
        .to_string()
    };

    // `/bypass` is public like `/public`, but Envoy's route disables the
    // filter there (what the filter's rules allow, `Config::check_skip_filter`).
    let rules = mfa_proxy::config::Config::parse(cfg(60).as_bytes()).expect("config");
    rules
        .check_skip_filter("/bypass")
        .expect("/bypass may skip the filter");
    let bypass = bypass_route(
        "/bypass",
        "upstream",
        &rules.headers_to_remove_without_filter("/bypass"),
    );

    // Two Envoys, one worker each, so that memory can be told apart.
    let (admin_plain, p_plain) = (free_port(), free_port());
    let plain = Envoy::start(
        &envoy_bin,
        &scratch("bench-plain"),
        &bootstrap(
            admin_plain,
            &[listener("plain", p_plain, "upstream", "")],
            &[cluster("upstream", upstream.port())],
        ),
        admin_plain,
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (admin_filter, p_filter, p_uncached) = (free_port(), free_port(), free_port());
    let filtered = Envoy::start(
        &envoy_bin,
        &scratch("bench-filter"),
        &bootstrap(
            admin_filter,
            &[
                listener_with_routes(
                    "filter",
                    p_filter,
                    "upstream",
                    &bypass,
                    &wasm_filter(&wasm, "filter", &cfg(60)),
                ),
                listener(
                    "uncached",
                    p_uncached,
                    "upstream",
                    &wasm_filter(&wasm, "uncached", &cfg(0)),
                ),
            ],
            &[cluster("upstream", upstream.port())],
        ),
        admin_filter,
        1,
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let auth = basic("alice@example.com", &password);
    let cookie = format!("mfa_session={token}");
    let app_headers = [("authorization", auth.as_str())];
    let session_headers = [("cookie", cookie.as_str())];
    // Sanity: every path answers 200 before it is measured.
    for (port, path, h) in [
        (p_plain, "/mail", &app_headers[..]),
        (p_filter, "/mail", &app_headers[..]),
        (p_filter, "/web", &session_headers[..]),
        (p_uncached, "/mail", &app_headers[..]),
    ] {
        let r = request(port, "GET", path, h).expect("request");
        assert_eq!(r.status, 200, "{port}{path}: {}", r.body);
    }

    let url = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");
    let (mut filt_public, mut filt_bypass) = (vec![], vec![]);
    let (mut plain_app, mut filt_app, mut plain_sess, mut filt_sess) =
        (vec![], vec![], vec![], vec![]);
    let rounds = rounds();
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        plain_app.push(wrk(
            plain.pid(),
            &url(p_plain, "/mail"),
            &app_headers,
            "16",
            "5",
        ));
        filt_app.push(wrk(
            filtered.pid(),
            &url(p_filter, "/mail"),
            &app_headers,
            "16",
            "5",
        ));
        filt_public.push(wrk(
            filtered.pid(),
            &url(p_filter, "/public"),
            &app_headers,
            "16",
            "5",
        ));
        filt_bypass.push(wrk(
            filtered.pid(),
            &url(p_filter, "/bypass"),
            &app_headers,
            "16",
            "5",
        ));
        plain_sess.push(wrk(
            plain.pid(),
            &url(p_plain, "/web"),
            &session_headers,
            "16",
            "5",
        ));
        filt_sess.push(wrk(
            filtered.pid(),
            &url(p_filter, "/web"),
            &session_headers,
            "16",
            "5",
        ));
    }
    // Uncached: every request runs argon2 (m=19456 KiB, t=2, p=1) inside Envoy.
    let uncached = wrk(
        filtered.pid(),
        &url(p_uncached, "/mail"),
        &app_headers,
        "1",
        "5",
    );
    let cached_one = wrk(
        filtered.pid(),
        &url(p_filter, "/mail"),
        &app_headers,
        "1",
        "3",
    );
    let hashes = filtered.stat("wasmcustom.mfa_proxy.hashes_computed");

    let rss_plain = rss_kib(plain.pid());
    let rss_filter = rss_kib(filtered.pid());

    let rows = [
        (
            "app password (cached)",
            median(&plain_app),
            median(&filt_app),
        ),
        ("session JWT", median(&plain_sess), median(&filt_sess)),
        (
            "public route (filter runs, no credential check)",
            median(&plain_app),
            median(&filt_public),
        ),
        (
            "public route, filter disabled by the Envoy route",
            median(&plain_app),
            median(&filt_bypass),
        ),
    ];
    println!(
        "\n| path | without filter: req/s | p50 | p99 | Envoy CPU/req | with filter: req/s | p50 | p99 | Envoy CPU/req | throughput ratio | added CPU/req |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, a, b) in rows {
        println!(
            "| {name} | {:.0} | {:.0} µs | {:.0} µs | {:.1} µs | {:.0} | {:.0} µs | {:.0} µs | {:.1} µs | {:.0} % | {:.1} µs |",
            a.rps,
            a.p50_us,
            a.p99_us,
            a.cpu_us,
            b.rps,
            b.p50_us,
            b.p99_us,
            b.cpu_us,
            100.0 * b.rps / a.rps,
            b.cpu_us - a.cpu_us
        );
    }
    for (name, runs) in [
        ("plain app", &plain_app),
        ("filter app", &filt_app),
        ("plain session", &plain_sess),
        ("filter session", &filt_sess),
        ("filter public", &filt_public),
        ("filter bypass", &filt_bypass),
    ] {
        let list: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.0} req/s ({:.1} µs CPU/req)", r.rps, r.cpu_us))
            .collect();
        println!("runs {name}: {}", list.join(", "));
    }
    println!(
        "\nuncached app password, one connection: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms (cached, one connection: p50 {:.0} µs); argon2 runs counted by the filter: {hashes}",
        uncached.rps,
        uncached.p50_us / 1e3,
        uncached.p99_us / 1e3,
        cached_one.p50_us
    );
    println!(
        "Envoy RSS after the runs: without filter {:.1} MiB, with filter (two filter instances) {:.1} MiB",
        rss_plain as f64 / 1024.0,
        rss_filter as f64 / 1024.0
    );
}
