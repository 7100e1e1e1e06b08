//! Every configuration shipped in `host-examples/envoy/` is accepted: by the
//! filter's own parser, and by `envoy --mode validate` (which also runs the
//! filter's `on_configure`).
mod support;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use mfa_proxy::config::Config;

fn examples() -> Vec<PathBuf> {
    let dir = support::repo_root().join("host-examples/envoy");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("host-examples/envoy")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no configurations in {}", dir.display());
    files
}

/// The filter configuration inside a shipped file: the `value: |` block of an
/// Envoy bootstrap, or the JSON `pluginConfig` of an Istio WasmPlugin.
fn filter_config(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end().ends_with("value: |") || l.trim() == "pluginConfig:")
        .expect("a filter configuration block");
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(lines[start]);
    lines[start + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > base)
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn shipped_filter_configurations_parse() {
    for file in examples() {
        let text = fs::read_to_string(&file).expect("read");
        let json = filter_config(&text);
        if let Err(e) = Config::parse(json.as_bytes()) {
            panic!("{}: {e}", file.display());
        }
    }
}

#[test]
fn shipped_envoy_configurations_validate() {
    let Some(envoy) = support::envoy() else {
        return;
    };
    let wasm = support::wasm();
    let dir = support::scratch("validate");
    for file in examples() {
        let text = fs::read_to_string(&file).expect("read");
        if !text.contains("static_resources:") {
            continue;
        }
        // The files name the .wasm relative to the repository root; point at the one just built.
        let text = text.replace(
            "target/wasm32-wasip1/release/mfa_proxy.wasm",
            &wasm.display().to_string(),
        );
        let copy = dir.join(file.file_name().expect("file name"));
        fs::write(&copy, text).expect("write copy");
        let out = support::run_bounded(
            std::process::Command::new(&envoy)
                .args(["--mode", "validate", "-c"])
                .arg(&copy),
            Duration::from_secs(60),
        );
        match out {
            Ok(log) => assert!(log.contains("OK"), "{}: {log}", file.display()),
            Err(e) => panic!("{}: envoy --mode validate failed:\n{e}", file.display()),
        }
    }
}
