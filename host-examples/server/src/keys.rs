//! The server's key file: the engine's keys (made, rotated and retired by
//! the component) and the server's own cache key, written readable by the
//! owner only; and the operating system's randomness for the server's own
//! secrets.
use std::io::Write;
use std::path::Path;

use crate::config::Config;

/// The key file: the engine's keys plus the server's cookie and cache keys.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    engine: serde_json::Value,
    server: ServerKeys,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerKeys {
    /// Signed the login cookie before the engine issued login tokens; read
    /// from older key files and no longer used.
    #[serde(default, rename = "cookie_key", skip_serializing)]
    _cookie_key: Option<String>,
    cache_key: String,
}

pub(crate) fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    random_bytes(&mut b);
    data_encoding::BASE64URL_NOPAD.encode(&b)
}

/// Write a file readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

/// Replace a key file (written beside it, then renamed), keeping mode 0600.
pub fn replace_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("json.new");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// Load the key file, or create it when allowed. Returns (engine keys JSON, cache key, created).
pub(crate) fn load_keys(cfg: &Config, wasm: &[u8]) -> Result<(String, Vec<u8>, bool), String> {
    let path = &cfg.keys.file;
    let mut created = false;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && cfg.generate_keys() => {
            let text = new_key_file(wasm)?;
            write_private(path, &text)
                .map_err(|e| format!("cannot create key file {}: {e}", path.display()))?;
            created = true;
            text
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "key file {} does not exist: create it with `mfa-server keys generate --key-file {}` (or set keys.generate = true)",
                path.display(),
                path.display()
            ));
        }
        Err(e) => return Err(format!("cannot read key file {}: {e}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            return Err(format!(
                "key file {} is readable by others: chmod 600 it",
                path.display()
            ));
        }
    }
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| {
        format!(
            "key file {}: not a key file ({})",
            path.display(),
            e.classify_str()
        )
    })?;
    let b64 = |s: &str, what: &str| {
        data_encoding::BASE64URL_NOPAD
            .decode(s.as_bytes())
            .ok()
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| {
                format!(
                    "key file {}: server.{what} must be 32 bytes of base64url",
                    path.display()
                )
            })
    };
    let cache = b64(&file.server.cache_key, "cache_key")?;
    Ok((file.engine.to_string(), cache, created))
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "JSON syntax error",
            serde_json::error::Category::Data => "unexpected or missing fields",
            serde_json::error::Category::Eof => "file ends early",
        }
    }
}

/// Create a new key file (for `mfa-server keys generate`).
pub fn generate_key_file(path: &Path, wasm: &[u8]) -> Result<(), String> {
    let text = new_key_file(wasm)?;
    write_private(path, &text).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Rotate the signing or sealing key of a key file; returns the new key id.
pub fn rotate_key_file(path: &Path, what: &str, wasm: &[u8]) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut file: KeyFile = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a key file ({})", path.display(), e.classify_str()))?;
    let (json, id) = rotate(wasm, &file.engine.to_string(), what)?;
    file.engine = serde_json::from_str(&json).map_err(|e| format!("rotated keys: {e}"))?;
    let text = serde_json::to_string_pretty(&file).map_err(|e| format!("keys: {e}"))?;
    replace_private(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(id)
}

/// Remove a retired signing key from a key file.
pub fn retire_signing_key(path: &Path, id: &str, wasm: &[u8]) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut file: KeyFile = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a key file ({})", path.display(), e.classify_str()))?;
    let json = mfa_host::retire_signing_key(wasm, &file.engine.to_string(), id)
        .map_err(|e| e.to_string())?;
    file.engine = serde_json::from_str(&json).map_err(|e| format!("keys: {e}"))?;
    let text = serde_json::to_string_pretty(&file).map_err(|e| format!("keys: {e}"))?;
    replace_private(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The text of a new key file: fresh engine keys and a fresh cache key.
fn new_key_file(wasm: &[u8]) -> Result<String, String> {
    let generated =
        mfa_host::generate_key_file(wasm).map_err(|e| format!("cannot generate keys: {e}"))?;
    let engine: serde_json::Value =
        serde_json::from_str(&generated).map_err(|e| format!("generated keys: {e}"))?;
    let file = KeyFile {
        engine,
        server: ServerKeys {
            _cookie_key: None,
            cache_key: random_b64(32),
        },
    };
    serde_json::to_string_pretty(&file).map_err(|e| format!("keys: {e}"))
}

/// Rotate one key of the engine's keys: `what` is `signing` or `sealing`.
/// Returns the new JSON and key id.
fn rotate(wasm: &[u8], keys_json: &str, what: &str) -> Result<(String, String), String> {
    let kind = mfa_host::KeyKind::from_name(what)
        .ok_or_else(|| format!("unknown key kind {what:?}: use signing or sealing"))?;
    mfa_host::rotate_key(wasm, keys_json, kind).map_err(|e| e.to_string())
}

/// Fill a buffer from the operating system's random number generator.
pub fn random_bytes(dest: &mut [u8]) {
    if let Err(e) = getrandom::fill(dest) {
        // Without randomness no secret can be made safely: stop rather than go on weakly.
        tracing::error!(error = %e, "the operating system's random number generator failed");
        std::process::abort();
    }
}
