//! The precompiled-component cache: used when valid, rebuilt when stale,
//! foreign or tampered with, never trusted blindly, and never needed to serve.
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{component, host_policy, keys_json, test_policy};
use mfa_host::{CacheStatus, MfaHost, Record};

/// A fresh, empty cache directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-host-cache-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// A cache directory holding a valid entry, copied from the tests' shared
/// cache (filled on first use), so that a test starts from a good entry
/// without compiling.
fn seeded_dir(name: &str) -> PathBuf {
    let shared = common::cache_dir();
    // Filled once per process: while a test writes the entry, its meta file is
    // briefly absent.
    static FILLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    FILLED.get_or_init(|| drop(build(&shared)));
    let dir = fresh_dir(name);
    fs::create_dir_all(&dir).expect("cache dir");
    let (artifact, meta) = entry(&shared);
    for f in [artifact, meta] {
        fs::copy(&f, dir.join(f.file_name().expect("name"))).expect("copy entry");
    }
    assert_eq!(build(&dir).cache_status(), CacheStatus::Hit);
    dir
}

fn build(dir: &Path) -> MfaHost {
    MfaHost::builder()
        .component_file(component())
        .keys(keys_json(b"cache"))
        .policy(host_policy(&test_policy()))
        .cache_dir(dir)
        .max_instances(2)
        .build()
        .expect("host builds")
}

/// The host answers engine calls, whatever its cache did.
fn serves(host: &MfaHost) {
    let out = host
        .enrollment_check(
            Record::New {
                user_id: "ana",
                now: common::NOW,
            },
            common::NOW,
        )
        .expect("call");
    assert!(matches!(out, mfa_host::NextStep::Continue), "{out:?}");
}

/// The two files of the shipped component's entry (named after the first 32
/// hex digits of its SHA-256; the directory may hold other components' entries).
fn entry(dir: &Path) -> (PathBuf, PathBuf) {
    let wasm = fs::read(component()).expect("component");
    let prefix = format!("mfa-component-{}-", &sha256_hex(&wasm)[..32]);
    let mut artifact = None;
    let mut meta = None;
    for e in fs::read_dir(dir).expect("cache dir") {
        let p = e.expect("entry").path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !name.starts_with(&prefix) {
            continue;
        }
        match p.extension().and_then(|x| x.to_str()) {
            Some("cwasm") => artifact = Some(p),
            Some("meta") => meta = Some(p),
            _ => {}
        }
    }
    (
        artifact.expect("a .cwasm file"),
        meta.expect("a .meta file"),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn compiled_once_then_loaded() {
    let dir = fresh_dir("reuse");
    let first = build(&dir);
    assert_eq!(first.cache_status(), CacheStatus::Compiled);
    serves(&first);
    let second = build(&dir);
    assert_eq!(second.cache_status(), CacheStatus::Hit);
    serves(&second);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_tampered_artifact_is_compiled_again_and_replaced() {
    let dir = seeded_dir("tampered");
    let (artifact, _) = entry(&dir);
    let mut bytes = fs::read(&artifact).expect("artifact");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    fs::write(&artifact, &bytes).expect("tamper");

    let host = build(&dir);
    assert_eq!(host.cache_status(), CacheStatus::Compiled);
    serves(&host);
    // The entry was replaced by a good one.
    assert_eq!(build(&dir).cache_status(), CacheStatus::Hit);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_truncated_artifact_or_a_foreign_meta_file_is_not_trusted() {
    let dir = seeded_dir("foreign");
    let (artifact, meta) = entry(&dir);

    let bytes = fs::read(&artifact).expect("artifact");
    fs::write(&artifact, &bytes[..bytes.len() / 3]).expect("truncate");
    assert_eq!(build(&dir).cache_status(), CacheStatus::Compiled);

    // A meta file from another wasmtime configuration (compatibility hash).
    let text = fs::read_to_string(&meta).expect("meta");
    let foreign: String = text
        .lines()
        .map(|l| {
            if l.starts_with("compat ") {
                "compat 0123456789abcdef".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_ne!(foreign, text);
    fs::write(&meta, foreign).expect("foreign meta");
    assert_eq!(build(&dir).cache_status(), CacheStatus::Compiled);

    // Without its meta file an artifact is not used either.
    fs::remove_file(&meta).expect("remove meta");
    assert_eq!(build(&dir).cache_status(), CacheStatus::Compiled);
    assert_eq!(build(&dir).cache_status(), CacheStatus::Hit);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_cache_does_not_stop_the_host() {
    let dir = fresh_dir("unwritable");
    // A file where the directory should be: nothing can be written below it.
    fs::write(&dir, b"not a directory").expect("file");
    let host = build(&dir);
    assert_eq!(host.cache_status(), CacheStatus::WriteFailed);
    serves(&host);
    let _ = fs::remove_file(&dir);
}

#[test]
fn a_precompiled_artifact_is_not_accepted_as_the_component() {
    let (artifact, _) = entry(&seeded_dir("as-component"));
    let err = MfaHost::builder()
        .component_file(&artifact)
        .keys(keys_json(b"cache"))
        .build()
        .expect_err("a .cwasm is not a component file");
    assert!(matches!(err, mfa_host::Error::Load { .. }), "{err:?}");
    let _ = fs::remove_dir_all(fresh_dir("as-component"));
}
