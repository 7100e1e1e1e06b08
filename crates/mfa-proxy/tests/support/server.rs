//! The reference server (`host-examples/server`, binary `mfa-server`) on
//! loopback for the filter's remote mode: built with cargo, started with its
//! own configuration (SQLite in a scratch directory, generated keys, an admin
//! and a gateway token), driven through its public HTTP API, stopped on drop.
#![allow(dead_code, reason = "shared by several test crates; each uses a part")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::{Response, request, request_json, run_bounded, target_dir};

/// Admin token of the test server (`Authorization: Bearer …`).
pub const ADMIN_TOKEN: &str = "proxy-e2e-admin-token-0123456789";
/// Token gateways send in `x-mfa-gateway-token`.
pub const GATEWAY_TOKEN: &str = "proxy-e2e-gateway-token-0123456789";

fn cargo_build(args: &[&str], what: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_bounded(
        Command::new(cargo)
            .current_dir(super::repo_root())
            .arg("build")
            .args(args),
        Duration::from_secs(1200),
    )
    .unwrap_or_else(|e| panic!("building {what} failed: {e}"));
}

/// The server binary: `MFA_SERVER_BIN`, or `cargo build -p mfa-server` (a no-op
/// when it is up to date) and `target/debug/mfa-server`.
pub fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MFA_SERVER_BIN") {
        return PathBuf::from(p);
    }
    cargo_build(&["-p", "mfa-server"], "the server");
    let path = target_dir().join("debug/mfa-server");
    assert!(
        path.is_file(),
        "the build did not produce {}",
        path.display()
    );
    path
}

/// The engine component the server runs: `MFA_COMPONENT_WASM`, or
/// `cargo build -p mfa-component --target wasm32-wasip2 --release`.
pub fn component_wasm() -> PathBuf {
    if let Some(p) = std::env::var_os("MFA_COMPONENT_WASM") {
        return PathBuf::from(p);
    }
    cargo_build(
        &[
            "-p",
            "mfa-component",
            "--target",
            "wasm32-wasip2",
            "--release",
        ],
        "the engine component",
    );
    let path = target_dir().join("wasm32-wasip2/release/mfa_component.wasm");
    assert!(
        path.is_file(),
        "the build did not produce {}",
        path.display()
    );
    path
}

/// Configuration for the test server: loopback on a port of its choosing,
/// SQLite in `dir`, keys generated there, fast argon2 for primary passwords
/// (the app-password parameters are the engine's defaults), authenticator
/// apps only (no delivery needed).
pub fn config(dir: &Path) -> String {
    let db = dir.join("mfa.db");
    let keys = dir.join("mfa-keys.json");
    format!(
        r#"listen = "127.0.0.1:0"
[storage]
url = "sqlite://{db}"
[keys]
file = "{keys}"
generate = true
[admin]
token = "{ADMIN_TOKEN}"
[gateway]
token = "{GATEWAY_TOKEN}"
[auth]
argon2 = {{ m_kib = 64, t = 1, p = 1 }}
[widget]
dir = "{widget}"
[policy]
allowed_methods = ["authenticator_app"]
app_passwords_allowed = true
"#,
        db = db.display(),
        keys = keys.display(),
        widget = dir.join("no-widget").display(),
    )
}

/// A running `mfa-server`; killed on drop.
pub struct MfaServer {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    output: Arc<Mutex<Vec<String>>>,
}

impl MfaServer {
    /// Start `bin` with `config` (TOML) in `dir`, the engine component in
    /// `MFA_COMPONENT_WASM`, and wait (bounded) until it says where it listens.
    pub fn start(bin: &Path, component: &Path, dir: &Path, config: &str) -> Result<Self, String> {
        let file = dir.join("server.toml");
        std::fs::write(&file, config).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .current_dir(dir)
            .arg("--config")
            .arg(&file)
            .env_remove("MFA_DEMO")
            .env_remove("MFA_LISTEN")
            .env_remove("MFA_DATABASE_URL")
            .env_remove("MFA_KEY_FILE")
            .env("MFA_COMPONENT_WASM", component)
            .env("MFA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<u16>();
        if let Some(out) = child.stdout.take() {
            let lines = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(port) = line
                        .split("http://127.0.0.1:")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(|p| p.parse().ok())
                    {
                        let _ = tx.send(port);
                    }
                    if let Ok(mut l) = lines.lock() {
                        l.push(line);
                    }
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let lines = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Ok(mut l) = lines.lock() {
                        l.push(line);
                    }
                }
            });
        }
        let port = rx.recv_timeout(Duration::from_secs(60));
        let server = Self {
            child,
            port: port.unwrap_or(0),
            output,
        };
        if port.is_err() {
            return Err(format!(
                "mfa-server did not say where it listens within 60 s:\n{}",
                server.output()
            ));
        }
        match server.get("/healthz", &[]) {
            Ok(r) if r.status == 200 => Ok(server),
            Ok(r) => Err(format!(
                "mfa-server is not healthy: {} {}\n{}",
                r.status,
                r.body,
                server.output()
            )),
            Err(e) => Err(format!(
                "mfa-server does not answer: {e}\n{}",
                server.output()
            )),
        }
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// A GET with these headers.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
        request(self.port, "GET", path, headers)
    }

    /// A call that must succeed with `status`; its JSON answer.
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
        status: u16,
    ) -> Response {
        let r = match body {
            Some(b) => request_json(self.port, method, path, headers, b),
            None => request(self.port, method, path, headers),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.output()));
        assert_eq!(
            r.status, status,
            "{method} {path} answered {}: {}",
            r.status, r.body
        );
        r
    }

    /// Create a user with a primary password and MFA enabled, through the admin API.
    pub fn create_user(&self, user: &str, password: &str) {
        let bearer = format!("Bearer {ADMIN_TOKEN}");
        self.call(
            "POST",
            "/api/v1/admin/users",
            &[("authorization", &bearer)],
            Some(&json!({ "user": user, "password": password, "state": "enabled" })),
            201,
        );
    }

    /// Sign in, register an authenticator app ("Set it up now") and prove it
    /// with a code: returns the `cookie` header of the signed-in user.
    pub fn enrol(&self, user: &str, password: &str) -> String {
        let r = self.call(
            "POST",
            "/api/v1/sign-in",
            &[],
            Some(&json!({ "user": user, "password": password })),
            200,
        );
        assert_eq!(r.json()["next"]["next"], "register", "{}", r.body);
        let mut jar = Jar::default();
        jar.take(&r);
        let r = self.call(
            "POST",
            "/api/v1/methods/authenticator",
            &[("cookie", &jar.header())],
            Some(&json!({})),
            200,
        );
        jar.take(&r);
        let uri = r.json()["otpauth_uri"]
            .as_str()
            .expect("otpauth_uri")
            .to_string();
        let (parsed, _) = mfa_core::OtpAuthUri::parse(&uri).expect("the server's otpauth URI");
        let code = mfa_core::totp_code(
            parsed.secret(),
            &mfa_core::Totp::default(),
            super::backend::unix_now(),
        )
        .expect("a TOTP code");
        let r = self.call(
            "POST",
            "/api/v1/methods/confirm",
            &[("cookie", &jar.header())],
            Some(&json!({ "code": code })),
            200,
        );
        jar.take(&r);
        assert!(
            jar.has("mfa_session"),
            "confirming the first method signs the user in"
        );
        jar.header()
    }

    /// Create an app password as the signed-in user: (id, password).
    pub fn create_app_password(
        &self,
        cookie: &str,
        name: &str,
        scopes: &[&str],
    ) -> (String, String) {
        let r = self.call(
            "POST",
            "/api/v1/app-passwords",
            &[("cookie", cookie)],
            Some(&json!({ "name": name, "scopes": scopes })),
            201,
        );
        let v = r.json();
        (
            v["id"].as_str().expect("id").to_string(),
            v["password"].as_str().expect("password").to_string(),
        )
    }

    /// Delete one app password as the signed-in user.
    pub fn delete_app_password(&self, cookie: &str, id: &str) {
        self.call(
            "DELETE",
            &format!("/api/v1/app-passwords/{id}"),
            &[("cookie", cookie)],
            None,
            204,
        );
    }

    /// The user's app passwords as the server lists them.
    pub fn app_passwords(&self, cookie: &str) -> Vec<Value> {
        let r = self.call(
            "GET",
            "/api/v1/app-passwords",
            &[("cookie", cookie)],
            None,
            200,
        );
        r.json()["app_passwords"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Requests the verify endpoint has answered (from its metrics).
    pub fn verify_calls(&self) -> u64 {
        let r = self
            .get("/metrics", &[])
            .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
        r.body
            .lines()
            .filter(|l| l.starts_with("mfa_app_password_checks_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for MfaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cookies a server set (`name=value`), for the next request.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, r: &Response) {
        for (k, v) in &r.headers {
            if k != "set-cookie" {
                continue;
            }
            let Some((name, value)) = v.split(';').next().and_then(|c| c.split_once('=')) else {
                continue;
            };
            self.0.retain(|(n, _)| n != name);
            if !value.is_empty() && !v.contains("Max-Age=0") {
                self.0.push((name.to_string(), value.to_string()));
            }
        }
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
