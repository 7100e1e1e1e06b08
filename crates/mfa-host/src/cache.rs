//! The compiled component, cached on disk as a precompiled artifact.
//!
//! A cache entry is two files named after the SHA-256 of the component and
//! wasmtime's compatibility hash of the engine configuration:
//! `<key>.cwasm` (wasmtime's precompiled form) and `<key>.meta` (the SHA-256 of
//! the `.cwasm` bytes, the component's SHA-256 and the compatibility hash).
//! An entry is used only when the meta file matches all three and wasmtime
//! recognises the artifact as a precompiled component; anything else (stale,
//! foreign, truncated, tampered) is compiled again and replaced.
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Precompiled};

use crate::Error;

const META_VERSION: &str = "mfa-host cache v1";

/// Where the component came from: a cache hit, or a compilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache directory was configured: compiled in memory.
    Disabled,
    /// A valid cached artifact was loaded.
    Hit,
    /// No usable artifact was found: compiled and written to the cache.
    Compiled,
    /// Compiled, but the cache could not be written (the host runs on).
    WriteFailed,
}

/// A `Hasher` over SHA-256, so that the compatibility hash gives the same key
/// from run to run (the standard library's hasher is not stable).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn compat_hash(engine: &Engine) -> u64 {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compile `wasm`, or load it from `cache_dir` when a valid artifact is there.
pub(crate) fn load(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(Component, CacheStatus), Error> {
    let Some(dir) = cache_dir else {
        return Ok((compile(engine, wasm)?, CacheStatus::Disabled));
    };
    let wasm_sha = hex(&Sha256::digest(wasm));
    let compat = format!("{:016x}", compat_hash(engine));
    let base = format!("mfa-component-{}-{compat}", &wasm_sha[..32]);
    let artifact = dir.join(format!("{base}.cwasm"));
    let meta = dir.join(format!("{base}.meta"));
    if let Some(component) = try_cached(engine, &artifact, &meta, &wasm_sha, &compat) {
        return Ok((component, CacheStatus::Hit));
    }
    let component = compile(engine, wasm)?;
    let status = match write_entry(&component, dir, &artifact, &meta, &wasm_sha, &compat) {
        Ok(()) => CacheStatus::Compiled,
        Err(_) => CacheStatus::WriteFailed,
    };
    Ok((component, status))
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, Error> {
    if Engine::detect_precompiled(wasm).is_some() {
        return Err(Error::Load {
            reason: "expected the component's .wasm file, got a precompiled artifact".into(),
        });
    }
    Component::new(engine, wasm).map_err(|e| Error::Load {
        reason: format!("not a valid mfa component: {e:#}"),
    })
}

fn meta_text(artifact_sha: &str, wasm_sha: &str, compat: &str) -> String {
    format!(
        "{META_VERSION}\nartifact-sha256 {artifact_sha}\nwasm-sha256 {wasm_sha}\ncompat {compat}\n"
    )
}

fn try_cached(
    engine: &Engine,
    artifact: &Path,
    meta: &Path,
    wasm_sha: &str,
    compat: &str,
) -> Option<Component> {
    let recorded = fs::read_to_string(meta).ok()?;
    let bytes = fs::read(artifact).ok()?;
    let artifact_sha = hex(&Sha256::digest(&bytes));
    if recorded != meta_text(&artifact_sha, wasm_sha, compat) {
        return None;
    }
    if Engine::detect_precompiled(&bytes) != Some(Precompiled::Component) {
        return None;
    }
    drop(bytes);
    deserialize_verified(engine, artifact)
}

/// Load a precompiled artifact whose bytes were just checked against the meta
/// file this crate wrote next to it.
#[allow(
    unsafe_code,
    reason = "the one audited use of wasmtime's unsafe deserialisation"
)]
fn deserialize_verified(engine: &Engine, artifact: &Path) -> Option<Component> {
    // SAFETY: `Component::deserialize_file` trusts that the file is a
    // precompiled artifact produced by `Component::serialize` of a compatible
    // wasmtime, and that it does not change while mapped. Both hold here:
    // `try_cached` has just checked that the file's SHA-256 equals the one
    // recorded in the meta file that `write_entry` writes only after it has
    // written the artifact from `Component::serialize` of this very component
    // (same source SHA-256) with this engine's compatibility hash, and wasmtime
    // itself recognised the bytes as a precompiled component. Entries are
    // written to a temporary name and renamed into place, never modified in
    // place. The cache directory must be writable only by the service user:
    // whoever can write it can write both files.
    let loaded = unsafe { Component::deserialize_file(engine, artifact) };
    loaded.ok()
}

fn write_entry(
    component: &Component,
    dir: &Path,
    artifact: &Path,
    meta: &Path,
    wasm_sha: &str,
    compat: &str,
) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let bytes = component
        .serialize()
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    let artifact_sha = hex(&Sha256::digest(&bytes));
    // The meta file goes last: until it is in place, the entry is not trusted.
    let _ = fs::remove_file(meta);
    write_atomic(artifact, &bytes)?;
    write_atomic(meta, meta_text(&artifact_sha, wasm_sha, compat).as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // Unique per process and per call: two threads of one process may write
    // the same entry at once.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp: PathBuf = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}
