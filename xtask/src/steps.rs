//! The commands: each check is a step with a name; `test` runs them all.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::root;
use crate::setup::{self, Tools};

/// Tally of a run.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
    failed_steps: Vec<String>,
    /// Names of failed tests, with the step that ran them.
    failed_tests: Vec<String>,
    steps: Vec<(String, f64, bool)>,
    /// Parts of the setup step, which run side by side (not added to the total).
    setup_parts: Vec<(String, f64)>,
}

impl Tally {
    /// Read one line of test output: the Rust harness's `test NAME ... FAILED`
    /// and `test result:` lines, and the TAP lines of `node --test`
    /// (`not ok N - NAME` and the closing `# pass N` / `# fail N` / `# skipped N`).
    fn read_line(&mut self, step: &str, line: &str) {
        if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            self.failed_tests.push(format!("{name} ({step})"));
            return;
        }
        if let Some(name) = line
            .strip_prefix("not ok ")
            .and_then(|rest| rest.split_once(" - ").map(|(_, name)| name))
        {
            self.failed_tests.push(format!("{name} ({step})"));
            return;
        }
        for (prefix, count) in [
            ("# pass ", &mut self.passed),
            ("# fail ", &mut self.failed),
            ("# skipped ", &mut self.ignored),
        ] {
            if let Some(n) = line
                .strip_prefix(prefix)
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                *count += n;
                return;
            }
        }
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next())
                && let Ok(n) = n.parse::<u64>()
            {
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    "ignored" => self.ignored += n,
                    _ => {}
                }
            }
        }
    }
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// What `cargo run` set for xtask itself, kept from the commands it starts.
/// Build scripts (ring's, for one) are rebuilt when such a variable differs,
/// and `CARGO_MANIFEST_DIR` names this checkout's path: a copy of the
/// repository sharing the target directory would rebuild the TLS stack and
/// everything above it.
const CARGO_RUN_VARS: [&str; 2] = ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH"];

/// Run one step, streaming its output and counting test results.
fn step(tally: &mut Tally, name: &str, mut cmd: Command, env: &[(String, String)]) -> bool {
    eprintln!("\n==> {name}");
    let started = Instant::now();
    for var in CARGO_RUN_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.stdout(Stdio::piped());
    let ok = match cmd.spawn() {
        Ok(mut child) => {
            if let Some(out) = child.stdout.take() {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    println!("{line}");
                    tally.read_line(name, &line);
                }
            }
            child.wait().is_ok_and(|s| s.success())
        }
        Err(e) => {
            eprintln!("cannot start {name}: {e}");
            false
        }
    };
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "<== {name}: {} in {secs:.1} s",
        if ok { "ok" } else { "FAILED" }
    );
    tally.steps.push((name.to_string(), secs, ok));
    if !ok {
        tally.failed_steps.push(name.to_string());
    }
    ok
}

fn exists(rel: &str) -> bool {
    root().join(rel).exists()
}

/// `cargo xtask test [--quick]`.
pub fn test(args: &[String]) -> Result<bool, String> {
    let quick = args.iter().any(|a| a == "--quick");
    let started = Instant::now();
    setup::rust_targets()?;
    let tools = if quick {
        Tools::default()
    } else {
        setup::all()?
    };
    let mut t = Tally::default();
    t.steps.push((
        "setup (install what is missing; the parts below overlap)".to_string(),
        started.elapsed().as_secs_f64(),
        true,
    ));
    for (name, secs) in &tools.timings {
        t.setup_parts.push((format!("  {name}"), *secs));
    }
    let mut env = tools.env();
    // A run of the suite builds each crate once: incremental caches would
    // only take disk space.
    env.push(("CARGO_INCREMENTAL".to_string(), "0".to_string()));

    let mut c = cargo();
    c.args(["fmt", "--all", "--", "--check"]);
    step(&mut t, "formatting (cargo fmt --check)", c, &env);

    let mut c = cargo();
    c.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    step(&mut t, "lints (clippy, native)", c, &env);

    // Each wasm crate is linted together with the engine for its target (the
    // engine has target-specific code) and built once, in release: the
    // builds are the artefacts the later steps run, and they compile the
    // engine for that target too. On the WASI targets the engine is linted
    // with all its default features as well; the browser target has no
    // random source for the passkey verifiers' dependencies, so there the
    // engine is linted as the browser crate builds it (clippy lints the
    // workspace crates a selected package depends on).
    for (krate, target, dir, whole_engine) in [
        (
            "mfa-component",
            "wasm32-wasip2",
            "crates/mfa-component",
            true,
        ),
        ("mfa-proxy", "wasm32-wasip1", "crates/mfa-proxy", true),
        ("mfa-web", "wasm32-unknown-unknown", "crates/mfa-web", false),
    ] {
        if !exists(dir) {
            continue;
        }
        let mut c = cargo();
        c.arg("clippy");
        if whole_engine {
            c.args(["-p", "mfa-core"]);
        }
        c.args([
            "-p", krate, "--target", target, "--locked", "--", "-D", "warnings",
        ]);
        step(
            &mut t,
            &format!("lints (clippy, mfa-core and {krate} for {target})"),
            c,
            &env,
        );
        // The browser package is built by the widget build below, with its
        // size settings; building it here as well would only be overwritten.
        if krate == "mfa-web" {
            continue;
        }
        let mut c = cargo();
        c.args([
            "build",
            "-p",
            krate,
            "--release",
            "--target",
            target,
            "--locked",
        ]);
        step(&mut t, &format!("build {krate} for {target}"), c, &env);
    }

    // Every test binary and the server are built in one step, with the same
    // command line (and so the same feature unification) as the tests: the
    // gateway and browser tests then start this very `mfa-server` instead of
    // building it a second time with other features, and a broken build is
    // named here instead of failing inside a test.
    let mut test_env = env.clone();
    let mut c = cargo();
    c.args(["test", "--workspace", "--locked", "--no-run"]);
    let tests_built = step(
        &mut t,
        "build the tests and the server (cargo test --no-run)",
        c,
        &env,
    );
    let target = target_dir();
    let server = target.join("debug/mfa-server");
    let server_built = tests_built && server.is_file();
    if server_built && std::env::var_os("MFA_SERVER_BIN").is_none() {
        test_env.push(("MFA_SERVER_BIN".to_string(), server.display().to_string()));
    }
    let component = target.join("wasm32-wasip2/release/mfa_component.wasm");
    if component.is_file() && std::env::var_os("MFA_COMPONENT_WASM").is_none() {
        test_env.push((
            "MFA_COMPONENT_WASM".to_string(),
            component.display().to_string(),
        ));
    }
    let mut c = cargo();
    c.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    step(&mut t, "tests (cargo test --workspace)", c, &test_env);

    if exists("crates/mfa-web") && !quick {
        let mut c = cargo();
        c.args([
            "test",
            "-p",
            "mfa-web",
            "--target",
            "wasm32-unknown-unknown",
            "--locked",
        ]);
        step(
            &mut t,
            "browser bindings (wasm-bindgen-test in Node)",
            c,
            &env,
        );
    }

    if exists("js/package.json") && !quick {
        let mut c = Command::new("npm");
        c.current_dir(root())
            .args(["ci", "--prefix", "js", "--no-audit", "--no-fund"]);
        if step(&mut t, "widget packages (npm ci)", c, &env) {
            let mut c = Command::new("node");
            c.current_dir(root()).arg("js/build.mjs");
            if step(
                &mut t,
                "widget build (mfa-web, wasm-bindgen, wasm-opt)",
                c,
                &env,
            ) {
                // The server (built above) runs the engine component built with the wasm targets.
                if server_built {
                    let mut c = Command::new("node");
                    c.current_dir(root()).args([
                        "--test",
                        "--test-concurrency=1",
                        "tests/browser/",
                    ]);
                    step(
                        &mut t,
                        "widget end to end (headless Chromium)",
                        c,
                        &test_env,
                    );
                }
            }
            // The fourth host of the engine: jco runs the component in Node.
            let mut c = Command::new("node");
            c.current_dir(root()).args(["--test", "tests/jco/"]);
            step(
                &mut t,
                "component under jco (vector replay in Node)",
                c,
                &test_env,
            );
            // Last of the runs: the README's first command, as a newcomer types it.
            if tests_built {
                let mut c = Command::new("node");
                c.current_dir(root()).args(["--test", "tests/readme/"]);
                step(&mut t, "the README's demo command (end to end)", c, &env);
            }
        }
    }

    let mut c = cargo();
    c.args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step(&mut t, "docs (cargo doc, warnings denied)", c, &env);

    if !quick && exists("fuzz/Cargo.toml") {
        fuzz_steps(&mut t, 10, &env)?;
    }

    print_summary(&t);
    eprintln!("total {:.1} min", started.elapsed().as_secs_f64() / 60.0);
    if !t.failed_steps.is_empty() {
        eprintln!("failed steps: {}", t.failed_steps.join(", "));
    }
    for name in &t.failed_tests {
        eprintln!("failed test: {name}");
    }
    // A failed step that is not a test (lint, build) counts as one failure.
    let failed = t.failed + t.failed_steps.len() as u64;
    println!(
        "tests: {} passed, {} failed, {} skipped",
        t.passed, failed, t.ignored
    );
    Ok(t.failed_steps.is_empty())
}

/// The table at the end of a run: every step with its time and share.
fn print_summary(t: &Tally) {
    let total: f64 = t.steps.iter().map(|(_, secs, _)| secs).sum();
    eprintln!("\nsteps:");
    eprintln!("  {:<62} {:>8} {:>6}  result", "step", "seconds", "share");
    for (i, (name, secs, ok)) in t.steps.iter().enumerate() {
        eprintln!(
            "  {:<62} {:>8.1} {:>5.1}%  {}",
            name,
            secs,
            100.0 * secs / total.max(f64::EPSILON),
            if *ok { "ok" } else { "FAILED" }
        );
        if i == 0 {
            for (part, secs) in &t.setup_parts {
                eprintln!("  {part:<62} {secs:>8.1}");
            }
        }
    }
}

fn fuzz_targets() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(root().join("fuzz/fuzz_targets")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect();
    v.sort();
    v
}

fn fuzz_steps(t: &mut Tally, secs: u32, env: &[(String, String)]) -> Result<(), String> {
    setup::cargo_tool("cargo-fuzz", "cargo-fuzz", "0.13.2", true, &[])?;
    for target in fuzz_targets() {
        let mut c = Command::new("cargo");
        c.current_dir(root().join("fuzz")).args([
            "+nightly",
            "fuzz",
            "run",
            &target,
            "--",
            &format!("-max_total_time={secs}"),
        ]);
        step(t, &format!("fuzz smoke {target} ({secs} s)"), c, env);
    }
    Ok(())
}

/// `cargo xtask fuzz SECS`.
pub fn fuzz(secs: u32) -> Result<bool, String> {
    let mut t = Tally::default();
    fuzz_steps(&mut t, secs, &[])?;
    Ok(t.failed_steps.is_empty())
}

/// `cargo xtask bench [argon2]`.
pub fn bench(args: &[String]) -> Result<bool, String> {
    let mut t = Tally::default();
    let only_argon2 = args.iter().any(|a| a == "argon2");
    if !only_argon2 {
        let mut c = cargo();
        c.args(["bench", "-p", "mfa-core", "--bench", "core"]);
        step(&mut t, "engine benchmarks (criterion)", c, &[]);
    }
    argon2_side_by_side(&mut t)?;
    Ok(t.failed_steps.is_empty())
}

/// argon2id at the default parameters: mfa-core's backends and @node-rs/argon2,
/// interleaved in one run so that the ratio is fair on a shared machine.
fn argon2_side_by_side(t: &mut Tally) -> Result<(), String> {
    let dir = root().join("target/bench-node");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if !dir.join("node_modules/@node-rs/argon2").exists() {
        setup::run(Command::new("npm").current_dir(&dir).args([
            "install",
            "--silent",
            "--no-save",
            "@node-rs/argon2@2",
        ]))?;
    }
    std::fs::copy(
        root().join("xtask/assets/node-argon2.mjs"),
        dir.join("node-argon2.mjs"),
    )
    .map_err(|e| format!("cannot copy the node script: {e}"))?;
    let mut c = cargo();
    c.args([
        "build",
        "--release",
        "-p",
        "mfa-core",
        "--example",
        "argon2_compare",
    ]);
    if !step(t, "build the argon2 comparison", c, &[]) {
        return Ok(());
    }
    let rust = root().join("target/release/examples/argon2_compare");
    let (mut ours, mut portable, mut node) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=3 {
        let out = Command::new(&rust)
            .arg("20")
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        ours.push(json_number(&text, "mfa_core_default_ms"));
        portable.push(json_number(&text, "rustcrypto_argon2_ms"));
        let out = Command::new("node")
            .current_dir(&dir)
            .args(["node-argon2.mjs", "20"])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        node.push(json_number(&text, "node_rs_argon2_ms"));
        eprintln!(
            "round {round}: mfa-core {:.2} ms, RustCrypto argon2 {:.2} ms, @node-rs/argon2 {:.2} ms",
            ours[round - 1],
            portable[round - 1],
            node[round - 1]
        );
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (o, p, n) = (med(&mut ours), med(&mut portable), med(&mut node));
    println!("argon2id m=19456 t=2 p=1 (median of 3 rounds x 20 hashes):");
    println!(
        "  mfa-core (argon2-rust backend)  {o:.2} ms   {:.2}x @node-rs/argon2",
        o / n
    );
    println!(
        "  RustCrypto argon2 (portable)    {p:.2} ms   {:.2}x @node-rs/argon2",
        p / n
    );
    println!("  @node-rs/argon2                 {n:.2} ms");
    Ok(())
}

fn json_number(text: &str, key: &str) -> f64 {
    let needle = format!("\"{key}\":");
    text.find(&needle)
        .and_then(|i| {
            let rest = &text[i + needle.len()..];
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            rest[..end].trim().parse().ok()
        })
        .unwrap_or(f64::NAN)
}

/// `cargo xtask demo`: build the widget, the engine component and the
/// server, then become the server in demo mode (Ctrl-C stops it).
///
/// The server is built with the same package selection as the suite's
/// `cargo test --workspace --no-run` (`--workspace` plus the examples, which
/// bring the dev-dependencies' features into the resolve): cargo then picks
/// the same features for every dependency, so the demo and the suite share
/// one build of wasmtime, sqlx and tokio instead of making two.
pub fn demo(_args: &[String]) -> Result<bool, String> {
    let mut t = Tally::default();
    setup::rust_targets()?;
    if !root().join("js/node_modules").exists() {
        setup::run(Command::new("npm").current_dir(root()).args([
            "ci",
            "--prefix",
            "js",
            "--no-audit",
            "--no-fund",
        ]))?;
    }
    setup::cargo_tool("wasm-bindgen", "wasm-bindgen-cli", "0.2.130", false, &[])?;
    let mut c = Command::new("node");
    c.current_dir(root()).arg("js/build.mjs");
    if !step(&mut t, "build the widget", c, &[]) {
        return Ok(false);
    }
    let mut c = cargo();
    c.args([
        "build",
        "-p",
        "mfa-component",
        "--target",
        "wasm32-wasip2",
        "--release",
    ]);
    if !step(&mut t, "build the engine component", c, &[]) {
        return Ok(false);
    }
    let mut c = cargo();
    c.args(["build", "--workspace", "--bin", "mfa-server", "--examples"]);
    if !step(&mut t, "build the server", c, &[]) {
        return Ok(false);
    }
    let server = target_dir().join("debug/mfa-server");
    eprintln!("\n==> mfa-server --demo (Ctrl-C to stop)");
    // The server takes this process's place: Ctrl-C reaches it alone, it
    // shuts down cleanly, and its exit status is the command's.
    let mut c = Command::new(&server);
    c.current_dir(root()).arg("--demo");
    for var in CARGO_RUN_VARS {
        c.env_remove(var);
    }
    #[cfg(unix)]
    {
        let err = std::os::unix::process::CommandExt::exec(&mut c);
        Err(format!("cannot start {}: {err}", server.display()))
    }
    #[cfg(not(unix))]
    {
        let status = c
            .status()
            .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
        Ok(status.success())
    }
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `target/`).
fn target_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn counts_rust_and_node_results_and_names_failures() {
        let mut t = Tally::default();
        for line in [
            "test flows::replay_refused ... ok",
            "test limits::memory_bomb ... FAILED",
            "test result: FAILED. 7 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 1.2s",
            "not ok 3 - locked state after wrong codes",
            "# pass 11",
            "# fail 1",
            "# skipped 0",
        ] {
            t.read_line("step", line);
        }
        assert_eq!((t.passed, t.failed, t.ignored), (18, 2, 2));
        assert_eq!(
            t.failed_tests,
            [
                "limits::memory_bomb (step)",
                "locked state after wrong codes (step)"
            ]
        );
    }
}
