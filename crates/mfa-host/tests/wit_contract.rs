//! The built component carries exactly the contract in `wit/`: every interface
//! printed from the component matches the one printed from `wit/`
//! (documentation aside, which the binary does not keep), and the component
//! exports every interface of the world.
//!
//! Both are printed by `wit-component`'s printer, the one behind
//! `wasm-tools component wit`, linked into this test.
mod common;

use std::collections::BTreeMap;
use std::path::Path;

fn print(resolve: &wit_parser::Resolve, main: wit_parser::PackageId) -> String {
    let nested: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer.emit_docs(false);
    printer
        .print(resolve, main, &nested)
        .unwrap_or_else(|e| panic!("cannot print the WIT: {e:#}"));
    printer.output.to_string()
}

/// The WIT package in the directory `dir`, printed.
fn source_wit(dir: &Path) -> String {
    let mut resolve = wit_parser::Resolve::default();
    let (main, _) = resolve
        .push_dir(dir)
        .unwrap_or_else(|e| panic!("{} does not parse: {e:#}", dir.display()));
    print(&resolve, main)
}

/// The WIT a component's binary carries, printed.
fn component_wit(file: &Path) -> String {
    let bytes =
        std::fs::read(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let decoded = wit_component::decode(&bytes)
        .unwrap_or_else(|e| panic!("{} is not a component: {e:#}", file.display()));
    print(decoded.resolve(), decoded.package())
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
    let source = source_wit(&common::workspace_root().join("wit"));
    let built = component_wit(common::component());
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
