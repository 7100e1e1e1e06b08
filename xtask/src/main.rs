//! Project commands: `cargo xtask demo`, `cargo xtask test`, `cargo xtask bench`.
//!
//! `test` is what CI runs (`.ci/run`). On a fresh machine it installs what the
//! suite needs when it is missing (Debian packages, a Python virtual
//! environment with Envoy, cargo tools), then runs every check and prints one
//! closing line with the number of tests passed and failed.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod setup;
mod steps;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         demo            build everything and start the demo (http://127.0.0.1:8080)\n  \
         test            install what is missing, then run every check and test (what CI runs)\n  \
         test --quick    formatting, lints and the Rust tests only\n  \
         bench           run the benchmarks recorded in docs/BENCHMARKS.md\n  \
         fuzz [SECS]     run every fuzz target for SECS seconds each (default 20)\n  \
         setup           only install what the tests need"
    );
    ExitCode::from(2)
}

/// The repository root (the parent of `xtask/`).
///
/// Read from `CARGO_MANIFEST_DIR` as `cargo run` sets it for this run, not
/// as it was when xtask was compiled: a checkout moved or copied elsewhere
/// (sharing a target directory) may run a binary built for another place.
pub fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(manifest_dir)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "demo" => steps::demo(rest),
        "test" => steps::test(rest),
        "bench" => steps::bench(rest),
        "fuzz" => {
            let secs = rest.first().and_then(|s| s.parse().ok()).unwrap_or(20);
            steps::fuzz(secs)
        }
        "setup" => setup::all().map(|_| true),
        "-h" | "--help" | "help" => return usage(),
        other => {
            eprintln!("error: unknown command {other:?}");
            return usage();
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
