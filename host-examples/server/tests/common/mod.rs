//! Test harness: the real server binary on 127.0.0.1 with an ephemeral port,
//! a throwaway PostgreSQL cluster, an SMTP sink and a webhook receiver.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

pub const ADMIN: &str = "test-admin-token-0123456789";
pub const GATEWAY: &str = "test-gateway-token-0123456789";
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh temporary directory under the target directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let base =
        std::env::temp_dir().join(format!("mfa-server-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The storage URL for a test: a fresh SQLite file or a fresh PostgreSQL database.
/// `None` when PostgreSQL is skipped (MFA_SKIP_POSTGRES=1).
pub fn db_url(db: Db, dir: &Path) -> Option<String> {
    match db {
        Db::Sqlite => Some(format!("sqlite://{}", dir.join("mfa.db").display())),
        Db::Postgres => postgres().map(|pg| pg.new_database()),
    }
}

// ----- PostgreSQL --------------------------------------------------------------

pub struct Pg {
    port: u16,
    bin: PathBuf,
    dir: PathBuf,
}

static PG: OnceLock<Option<Pg>> = OnceLock::new();

/// A throwaway cluster on a loopback port, started once per test binary and
/// stopped by a watcher when the test process exits.
pub fn postgres() -> Option<&'static Pg> {
    PG.get_or_init(|| {
        if std::env::var("MFA_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            eprintln!("MFA_SKIP_POSTGRES=1: PostgreSQL tests skipped");
            return None;
        }
        Some(Pg::start())
    })
    .as_ref()
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): install the Debian package `postgresql`, or set MFA_SKIP_POSTGRES=1 to skip these tests")
    })
}

impl Pg {
    fn start() -> Self {
        let bin = pg_bin();
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("mfa-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = is_root();
        if root {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(st.success(), "chown of the PostgreSQL directory failed");
        }
        let run = |args: &[&str]| {
            let mut cmd = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]);
                c
            } else {
                Command::new(args[0])
            };
            if root {
                cmd.args(args);
            } else {
                cmd.args(&args[1..]);
            }
            cmd
        };
        let data = dir.join("data");
        let initdb = bin.join("initdb");
        let out = run(&[
            initdb.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .output()
        .expect("initdb could not run");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg_ctl = bin.join("pg_ctl");
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200",
            dir.display()
        );
        let out = run(&[
            pg_ctl.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            dir.join("log").to_str().unwrap(),
            "-w",
            "-t",
            "30",
            "start",
        ])
        .stdout(Stdio::null())
        .output()
        .expect("pg_ctl could not run");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Stop the cluster when this test process ends.
        let stop = if root {
            format!(
                "runuser -u postgres -- {} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            )
        } else {
            format!(
                "{} -D {} -m immediate stop",
                pg_ctl.display(),
                data.display()
            )
        };
        let watcher = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            dir = dir.display()
        );
        // Deliberately not waited for: it outlives this process to stop the cluster.
        #[allow(
            clippy::zombie_processes,
            reason = "the watcher must outlive the test process"
        )]
        let _watcher = Command::new("sh")
            .arg("-c")
            .arg(watcher)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Pg { port, bin, dir }
    }

    /// A new empty database; returns its URL.
    pub fn new_database(&self) -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let psql = self.bin.join("psql");
        let out = Command::new(psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
            ])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("psql could not run");
        assert!(
            out.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ----- the server ----------------------------------------------------------------

pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub dir: PathBuf,
    config: PathBuf,
    args: Vec<String>,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The engine component: `MFA_COMPONENT_WASM`, or built now with cargo (a
/// no-op when it is up to date) into the workspace's target directory.
pub fn component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("MFA_COMPONENT_WASM") {
            return PathBuf::from(p);
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(workspace_root())
            .args([
                "build",
                "-p",
                "mfa-component",
                "--target",
                "wasm32-wasip2",
                "--release",
                "--target-dir",
            ])
            .arg(&target)
            .output()
            .expect("run cargo to build the component");
        assert!(
            out.status.success(),
            "building the component failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wasm = target.join("wasm32-wasip2/release/mfa_component.wasm");
        assert!(wasm.exists(), "cargo did not produce {}", wasm.display());
        wasm
    })
}

/// One compiled-component cache shared by the test servers of this run.
fn engine_cache() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mfa-server-test-{}-cache", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// Configuration for a test server: fast argon2, tokens, low limits.
pub fn base_config(db: &str, extra: &str) -> String {
    format!(
        r#"listen = "127.0.0.1:0"
[engine]
cache_dir = "{cache}"
[storage]
url = "{db}"
[keys]
generate = true
[admin]
token = "{ADMIN}"
[gateway]
token = "{GATEWAY}"
[auth]
argon2 = {{ m_kib = 64, t = 1, p = 1 }}
[widget]
dir = "no-such-dir"
{extra}
"#,
        cache = engine_cache().display()
    )
}

/// Policy lines: fast argon2 and authenticator apps only unless more is configured.
pub const FAST_POLICY: &str =
    "[policy]\nargon2 = { m_kib = 64, t = 1, p = 1 }\nallowed_methods = [\"authenticator_app\"]\n";

impl Server {
    /// Start the binary with this configuration in `dir`; waits until it answers.
    pub fn start(dir: &Path, config: &str) -> Self {
        Self::start_with(dir, config, &[])
    }

    pub fn start_with(dir: &Path, config: &str, args: &[&str]) -> Self {
        let path = dir.join("server.toml");
        std::fs::write(&path, config).unwrap();
        let mut s = Server {
            child: None,
            url: String::new(),
            dir: dir.to_path_buf(),
            config: path,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdout: Arc::new(Mutex::new(Vec::new())),
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfa-server"));
        cmd.current_dir(&self.dir)
            .arg("--config")
            .arg(&self.config)
            .args(&self.args)
            .env_remove("MFA_DEMO")
            .env("MFA_COMPONENT_WASM", component())
            .env("MFA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !self.url.is_empty() {
            // Restart on the same port.
            cmd.env("MFA_LISTEN", self.url.trim_start_matches("http://"));
        }
        let mut child = cmd.spawn().expect("server binary did not start");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = self.stdout.clone();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("http://").nth(1) {
                    let _ = tx.send(format!(
                        "http://{}",
                        rest.split_whitespace().next().unwrap_or("")
                    ));
                }
                lines.lock().unwrap().push(line);
            }
        });
        let err_lines = self.stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                err_lines.lock().unwrap().push(format!("stderr: {line}"));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(u) => u,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start: {:?}", self.stdout.lock().unwrap());
            }
        };
        self.url = url;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(self.url.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not answer at {}", self.url);
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL the server.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again with the same configuration and port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn output(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    pub fn admin(&self) -> Client {
        let mut c = Client::new(&self.url);
        c.bearer = Some(ADMIN.to_string());
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

// ----- a small HTTP client with a cookie jar ------------------------------------

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
    pub bearer: Option<String>,
    pub headers: Vec<(String, String)>,
}

pub struct Resp {
    pub status: u16,
    pub json: Value,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

impl Client {
    pub fn new(base: &str) -> Self {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: HashMap::new(),
            bearer: None,
            headers: Vec::new(),
        }
    }

    pub async fn send(&mut self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.http.request(m, format!("{}{path}", self.base));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.finish(rb).await
    }

    pub async fn raw(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, format!("{}{path}", self.base))
            .body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        self.finish(rb).await
    }

    async fn finish(&mut self, mut rb: reqwest::RequestBuilder) -> Resp {
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            rb = rb.header("cookie", c.join("; "));
        }
        if let Some(b) = &self.bearer {
            rb = rb.header("authorization", format!("Bearer {b}"));
        }
        for (k, v) in &self.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let resp = rb.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let s = sc.to_str().unwrap();
            let first = s.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if s.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            json,
            headers,
            text,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }
    pub async fn post(&mut self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(body)).await
    }
    pub async fn put(&mut self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Some(body)).await
    }
    pub async fn delete(&mut self, path: &str) -> Resp {
        self.send("DELETE", path, None).await
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The secret inside an otpauth URI.
pub fn secret_of(uri: &str) -> Vec<u8> {
    let (parsed, _) = mfa_core::OtpAuthUri::parse(uri).unwrap();
    parsed.secret().to_vec()
}

/// The TOTP code `steps` periods from now.
pub fn totp(secret: &[u8], steps: i64) -> String {
    let t = (now() as i64 + steps * 30) as u64;
    mfa_core::totp_code(secret, &mfa_core::Totp::default(), t).unwrap()
}

/// Create a user with a password and MFA enabled.
pub async fn create_user(admin: &mut Client, user: &str, password: &str) {
    let r = admin
        .post(
            "/api/v1/admin/users",
            json!({"user": user, "password": password, "state": "enabled"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Sign in; returns the answer.
pub async fn sign_in(c: &mut Client, user: &str, password: &str) -> Resp {
    c.post(
        "/api/v1/sign-in",
        json!({"user": user, "password": password}),
    )
    .await
}

/// A user who signed in and registered an authenticator app; returns (client, secret, recovery codes).
pub async fn enrolled_user(server: &Server, user: &str) -> (Client, Vec<u8>, Vec<String>) {
    let mut admin = server.admin();
    create_user(&mut admin, user, "password-123").await;
    let mut c = server.client();
    let r = sign_in(&mut c, user, "password-123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["next"]["next"], "register");
    let r = c.post("/api/v1/methods/authenticator", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = secret_of(r.json["otpauth_uri"].as_str().unwrap());
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": totp(&secret, 0)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let codes: Vec<String> = r.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(c.cookies.contains_key("mfa_session"));
    (c, secret, codes)
}

// ----- SMTP sink ---------------------------------------------------------------

/// A minimal SMTP server on loopback that keeps every message it receives.
pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = tokio::io::BufReader::new(r);
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut line = String::new();
                    let mut data = false;
                    let mut msg = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if data {
                            if line == ".\r\n" {
                                data = false;
                                store.lock().unwrap().push(std::mem::take(&mut msg));
                                let _ = w.write_all(b"250 queued\r\n").await;
                            } else {
                                msg.push_str(&line);
                            }
                            continue;
                        }
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            data = true;
                            b"354 go ahead\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply).await;
                    }
                });
            }
        });
        SmtpSink { port, messages }
    }

    /// Wait for the n-th message (bounded).
    pub async fn wait_message(&self, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self.messages.lock().unwrap().get(n) {
                return m.clone();
            }
            assert!(Instant::now() < deadline, "no e-mail arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The first run of `digits` digits in a text.
pub fn find_code(text: &str, digits: usize) -> String {
    let b = text.as_bytes();
    let mut i = 0;
    while i + digits <= b.len() {
        if b[i..i + digits].iter().all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && (i + digits == b.len() || !b[i + digits].is_ascii_digit())
        {
            return text[i..i + digits].to_string();
        }
        i += 1;
    }
    panic!("no {digits}-digit code in {text:?}")
}

// ----- webhook receiver ----------------------------------------------------------

/// Receives text/call webhooks; checks nothing itself (tests check the signature).
/// Calls received: (signature header, body).
pub type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

pub struct Webhook {
    pub url: String,
    pub received: Received,
    /// Status to answer with.
    pub status: Arc<AtomicU32>,
}

impl Webhook {
    pub async fn start() -> Self {
        let received: Received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU32::new(200));
        let (rec, st) = (received.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (rec, st) = (rec.clone(), st.clone());
                    async move {
                        let sig = headers
                            .get("x-mfa-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        rec.lock().unwrap().push((sig, body.to_vec()));
                        axum::http::StatusCode::from_u16(st.load(Ordering::Relaxed) as u16).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Webhook {
            url,
            received,
            status,
        }
    }

    pub async fn wait(&self, n: usize) -> (String, Vec<u8>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(m) = self.received.lock().unwrap().get(n) {
                return m.clone();
            }
            assert!(Instant::now() < deadline, "no webhook call arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ----- app passwords an attacker would send ------------------------------------

/// A password with the same id as `password` that passes the format check
/// but is not it (what an attacker who learnt the id would send).
pub fn wrong_but_well_formed(password: &str) -> String {
    let canonical: Vec<u8> = password.bytes().filter(|b| *b != b'-').collect();
    const SYMBOLS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    for i in 4..30 {
        for a in SYMBOLS {
            for b in SYMBOLS {
                let mut c = canonical.clone();
                c[i] = *a;
                c[29] = *b;
                if c != canonical {
                    let s = String::from_utf8(c).unwrap();
                    if mfa_core::ParsedAppPassword::parse(&s).is_ok() {
                        return s;
                    }
                }
            }
        }
    }
    panic!("no well-formed variant");
}

/// A well-formed app password with the id `id` (no user has it).
pub fn well_formed_with_id(id: &str) -> String {
    const SYMBOLS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    for a in SYMBOLS {
        for b in SYMBOLS {
            let s = format!("{id}{}{}{}", "k".repeat(26), *a as char, *b as char);
            if mfa_core::ParsedAppPassword::parse(&s).is_ok() {
                return s;
            }
        }
    }
    panic!("no well-formed password with id {id}");
}
