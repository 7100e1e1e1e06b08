//! The example runs end to end against the shipped component, as its README shows.
#[path = "../../../crates/mfa-host/tests/common/mod.rs"]
mod common;

use std::process::Command;

/// The shipped component: `MFA_COMPONENT_WASM`, or built now (a no-op when up to date).
fn component() -> std::path::PathBuf {
    common::component().to_path_buf()
}

fn run(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-host-minimal"))
        .args(args)
        .output()
        .expect("run the example");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn registers_verifies_and_refuses_the_replay() {
    let wasm = component();
    let (ok, stdout, stderr) = run(&[wasm.as_os_str()]);
    assert!(ok, "the example failed:\n{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("component loaded: "), "{stdout}");
    assert!(
        lines.iter().any(|l| l.starts_with("registered method ")),
        "{stdout}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("verified: amr ")),
        "the code was not accepted:\n{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("same code again: refused (replay)")),
        "the replay was not refused:\n{stdout}"
    );
}

#[test]
fn a_missing_component_is_a_clear_error() {
    let missing = std::env::temp_dir().join("mfa-host-minimal-no-such.wasm");
    let (ok, stdout, stderr) = run(&[missing.as_os_str()]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("mfa-host-minimal-no-such.wasm"),
        "{stderr}"
    );
}
