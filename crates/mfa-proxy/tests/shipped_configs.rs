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

/// The route entries of a shipped Envoy bootstrap that disable the wasm
/// filter: `(match line, the entry's lines)`.
fn bypass_routes(text: &str) -> Vec<(String, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.trim_start().starts_with("- match:") {
            continue;
        }
        let indent = l.len() - l.trim_start().len();
        let entry: Vec<String> = lines[i + 1..]
            .iter()
            .take_while(|n| n.trim().is_empty() || n.len() - n.trim_start().len() > indent)
            .map(|n| n.trim().to_string())
            .collect();
        if entry.iter().any(|e| e == "disabled: true") {
            out.push((l.trim().to_string(), entry));
        }
    }
    out
}

/// A route that skips the filter covers only what the filter's rules make
/// public for every host and path under it, and removes every header the
/// filter would have removed (the rule: `Config::check_skip_filter` and
/// `Config::headers_to_remove_without_filter`).
#[test]
fn routes_that_skip_the_filter_agree_with_its_rules() {
    let mut checked = 0;
    for file in examples() {
        let text = fs::read_to_string(&file).expect("read");
        let routes = bypass_routes(&text);
        if routes.is_empty() {
            continue;
        }
        let config = Config::parse(filter_config(&text).as_bytes()).expect("filter configuration");
        for (matcher, entry) in routes {
            let prefix = matcher
                .strip_prefix("- match: {path_separated_prefix: \"")
                .and_then(|m| m.strip_suffix("\"}"))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: {matcher}: a route that skips the filter must match with \
                         path_separated_prefix (whole segments, as the filter matches)",
                        file.display()
                    )
                });
            if let Err(why) = config.check_skip_filter(prefix) {
                panic!(
                    "{}: {prefix} may not skip the filter: {why}",
                    file.display()
                );
            }
            let removed = entry
                .iter()
                .find_map(|e| e.strip_prefix("request_headers_to_remove: ["))
                .and_then(|e| e.strip_suffix(']'))
                .unwrap_or_else(|| {
                    panic!("{}: {prefix}: no request_headers_to_remove", file.display())
                });
            let removed: Vec<&str> = removed.split(',').map(str::trim).collect();
            for h in config.headers_to_remove_without_filter(prefix) {
                assert!(
                    removed.contains(&h.as_str()),
                    "{}: {prefix} skips the filter but keeps {h}",
                    file.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 1,
        "the shipped envoy.yaml serves /health without the filter"
    );
}

#[test]
fn a_bypass_the_rules_do_not_allow_is_caught() {
    let text = fs::read_to_string(support::repo_root().join("host-examples/envoy/envoy.yaml"))
        .expect("read");
    // Moving the bypass to a protected prefix, or dropping a header, is refused.
    let config = Config::parse(filter_config(&text).as_bytes()).expect("filter configuration");
    assert!(config.check_skip_filter("/app").is_err());
    assert!(config.check_skip_filter("/").is_err());
    assert!(
        config
            .headers_to_remove_without_filter("/health")
            .contains(&"x-remote-user".to_string())
    );
}
