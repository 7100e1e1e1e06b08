//! The built component carries exactly the contract in `wit/`: every interface
//! that `wasm-tools component wit` prints from the component matches the one it
//! prints from `wit/` (documentation aside, which the binary does not keep), and
//! the component exports every interface of the world.
//!
//! Needs `wasm-tools` (`cargo install wasm-tools --version 1.263.0 --locked`);
//! set `MFA_SKIP_WASM_TOOLS=1` to skip this check where it is not installed.
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn wasm_tools_wit(input: &Path) -> Option<String> {
    let tool = std::env::var("WASM_TOOLS").unwrap_or_else(|_| "wasm-tools".into());
    let out = match Command::new(&tool)
        .args(["component", "wit"])
        .arg(input)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            if std::env::var("MFA_SKIP_WASM_TOOLS").as_deref() == Ok("1") {
                eprintln!("skipped: wasm-tools not found and MFA_SKIP_WASM_TOOLS=1");
                return None;
            }
            panic!(
                "wasm-tools is needed to check the component's contract ({tool}: {e}).\n\
                 Install it with `cargo install wasm-tools --version 1.263.0 --locked`, \
                 or set MFA_SKIP_WASM_TOOLS=1 to skip this check."
            );
        }
    };
    assert!(
        out.status.success(),
        "wasm-tools component wit {} failed:\n{}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("utf-8"))
}

/// Interface blocks of package `mfa:engine`, by name, as normalised lines
/// (no documentation, no indentation, no blank lines).
fn interfaces(text: &str, nested: bool) -> BTreeMap<String, Vec<String>> {
    let mut lines = text.lines();
    let indent = if nested {
        // Skip to the `package mfa:engine@… {` block of the component's print.
        for l in lines.by_ref() {
            if l.starts_with("package mfa:engine@") && l.ends_with('{') {
                break;
            }
        }
        "  "
    } else {
        ""
    };
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for l in lines {
        if nested && l == "}" {
            break;
        }
        if let Some(rest) = l
            .strip_prefix(indent)
            .and_then(|r| r.strip_prefix("interface "))
        {
            let name = rest.trim_end_matches(" {").to_string();
            current = Some((name, Vec::new()));
            continue;
        }
        if current.is_some() && l == format!("{indent}}}") {
            let (name, body) = current.take().expect("open block");
            out.insert(name, body);
            continue;
        }
        if let Some((_, body)) = current.as_mut() {
            let t = l.trim();
            if !t.is_empty() && !t.starts_with("///") {
                body.push(t.to_string());
            }
        }
    }
    out
}

#[test]
fn component_prints_the_contract_from_wit() {
    let wit_dir = common::workspace_root().join("wit");
    let Some(source) = wasm_tools_wit(&wit_dir) else {
        return;
    };
    let Some(built) = wasm_tools_wit(common::component()) else {
        return;
    };
    let want = interfaces(&source, false);
    let got = interfaces(&built, true);
    assert!(want.len() >= 9, "wit/ has {} interfaces", want.len());
    for (name, body) in &want {
        let Some(actual) = got.get(name) else {
            panic!("the component does not carry interface {name} of wit/")
        };
        assert_eq!(
            actual, body,
            "interface {name} differs between wit/ and the component"
        );
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "the component carries other interfaces than wit/"
    );
    for name in want.keys() {
        let export = format!("  export mfa:engine/{name}@0.1.0;");
        assert!(
            built.lines().any(|l| l == export),
            "component does not export {name}"
        );
    }
    // The only imports are WASI.
    for l in built.lines().take_while(|l| !l.starts_with("package mfa")) {
        if let Some(import) = l.trim().strip_prefix("import ") {
            assert!(import.starts_with("wasi:"), "unexpected import {import}");
        }
    }
}
