//! Concurrency, crash safety, trusted-header mode, demo mode and start-up checks.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Lenient throttle so every refusal is the replay itself (not a back-off caused by earlier replays).
const LENIENT: &str = "[policy]\nargon2 = { m_kib = 64, t = 1, p = 1 }\nallowed_methods = [\"authenticator_app\"]\nfree_failures = 100\nlockout_threshold = 100\n";

async fn one_code_once(db: Db, policy: &str, expect_all_replay: bool) {
    let dir = temp_dir("race");
    let Some(url) = db_url(db, &dir) else { return };
    let server = Server::start(&dir, &base_config(&url, policy));
    let (mut c, secret, _) = enrolled_user(&server, "race@example.com").await;
    c.post("/api/v1/sign-out", json!({})).await;
    let r = sign_in(&mut c, "race@example.com", "password-123").await;
    assert_eq!(r.json["next"]["next"], "verify");
    let code = totp(&secret, 1);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let mut c = c.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            let r = c.post("/api/v1/verify", json!({"code": code})).await;
            (r.status, r.code().to_string())
        }));
    }
    let mut ok = 0;
    let mut refused = std::collections::BTreeMap::new();
    for t in tasks {
        let (status, code) = t.await.unwrap();
        if status == 200 {
            ok += 1;
        } else {
            assert!(
                status == 401 || status == 429,
                "refusals are 4xx: {status} {code}"
            );
            *refused.entry(code).or_insert(0) += 1;
        }
    }
    assert_eq!(ok, 1, "exactly one success; refusals {refused:?}");
    if expect_all_replay {
        assert_eq!(refused.get("replay"), Some(&99), "{refused:?}");
    } else {
        assert!(
            refused
                .keys()
                .all(|k| ["replay", "retry_later", "locked"].contains(&k.as_str())),
            "{refused:?}"
        );
        assert!(refused.contains_key("replay"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_uses_of_one_code_sqlite() {
    one_code_once(Db::Sqlite, LENIENT, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_uses_of_one_code_postgres() {
    one_code_once(Db::Postgres, LENIENT, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replays_under_default_throttle_sqlite() {
    one_code_once(Db::Sqlite, FAST_POLICY, false).await;
}

/// Two server processes on one PostgreSQL database: compare-and-swap alone keeps one success.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_one_database_postgres() {
    let Some(pg) = postgres() else { return };
    let url = pg.new_database();
    let dir_a = temp_dir("pg-a");
    let a = Server::start(&dir_a, &base_config(&url, LENIENT));
    let key = std::fs::read(dir_a.join("mfa-keys.json")).unwrap();
    let dir_b = temp_dir("pg-b");
    write_key(&dir_b, &key);
    let b = Server::start(&dir_b, &base_config(&url, LENIENT));
    let (mut c, secret, _) = enrolled_user(&a, "twin@example.com").await;
    c.post("/api/v1/sign-out", json!({})).await;
    sign_in(&mut c, "twin@example.com", "password-123").await;
    let code = totp(&secret, 1);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let mut c = c.clone();
        c.base = if i % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            c.post("/api/v1/verify", json!({"code": code})).await.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 401 || s == 429 || s == 409, "{s}");
        ok += usize::from(s == 200);
    }
    assert_eq!(ok, 1);
}

fn write_key(dir: &std::path::Path, key: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join("mfa-keys.json"))
        .unwrap();
    f.write_all(key).unwrap();
}

async fn crash_flow(db: Db) {
    let dir = temp_dir("crash");
    let Some(url) = db_url(db, &dir) else { return };
    let extra = "[policy]\nargon2 = { m_kib = 64, t = 1, p = 1 }\nallowed_methods = [\"authenticator_app\"]\nmax_app_passwords = 1000\n";
    let mut server = Server::start(&dir, &base_config(&url, extra));
    let (c, _, _) = enrolled_user(&server, "crash@example.com").await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let mut c = c.clone();
        let ack = acknowledged.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let r = c
                    .http_post_quiet(
                        "/api/v1/app-passwords",
                        json!({"name": format!("w{w}-{i}")}),
                    )
                    .await;
                match r {
                    Some((201, v)) => ack.lock().unwrap().push((
                        v["id"].as_str().unwrap().to_string(),
                        v["password"].as_str().unwrap().to_string(),
                    )),
                    Some((s, v)) => panic!("unexpected answer {s}: {v}"),
                    None => return,
                }
            }
        }));
    }
    // Let the burst run, then kill the server mid-flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 40 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "the burst was running ({} acknowledged)",
        acked.len()
    );
    server.restart();
    let mut gw = server.client();
    gw.headers
        .push(("x-mfa-gateway-token".into(), GATEWAY.into()));
    let mut c = c.clone();
    c.base = server.url.clone();
    let r = c.get("/api/v1/app-passwords").await;
    let stored: Vec<String> = r.json["app_passwords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    for (id, _) in &acked {
        assert!(
            stored.contains(id),
            "acknowledged app password {id} survived the crash"
        );
    }
    // Every acknowledged one verifies (a sample of 20 keeps the test short; all are listed above).
    for (_, password) in acked.iter().step_by((acked.len() / 20).max(1)) {
        let r = gw
            .post(
                "/api/v1/app-passwords/verify",
                json!({"user": "crash@example.com", "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_app_password_burst_sqlite() {
    crash_flow(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_app_password_burst_postgres() {
    crash_flow(Db::Postgres).await;
}

trait QuietPost {
    async fn http_post_quiet(
        &mut self,
        path: &str,
        body: serde_json::Value,
    ) -> Option<(u16, serde_json::Value)>;
}

impl QuietPost for Client {
    /// POST that returns `None` when the connection fails (the server was killed).
    async fn http_post_quiet(
        &mut self,
        path: &str,
        body: serde_json::Value,
    ) -> Option<(u16, serde_json::Value)> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let resp = http
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie.join("; "))
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = resp.status().as_u16();
        let v = resp.json().await.ok()?;
        Some((status, v))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_header_mode() {
    const PROXY_SECRET: &str = "the-authenticating-proxys-secret-0123";
    let dir = temp_dir("trusted");
    let url = db_url(Db::Sqlite, &dir).unwrap();
    let cfg = base_config(&url, FAST_POLICY).replace(
        "[auth]\n",
        &format!("[auth]\nmode = \"trusted_header\"\nheader = \"x-remote-user\"\ntrusted_addresses = [\"127.0.0.1/32\", \"::1\"]\nproxy_secret = \"{PROXY_SECRET}\"\n"),
    );
    let server = Server::start(&dir, &cfg);
    let mut admin = server.admin();
    let r = admin
        .put(
            "/api/v1/admin/users/jo@example.com/state",
            json!({"state": "enabled"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut c = server.client();
    let r = c.get("/api/v1/session").await;
    assert_eq!((r.status, r.code()), (401, "not_signed_in"));
    c.headers
        .push(("x-remote-user".into(), "Jo@Example.com".into()));
    // Item 11: the trusted address alone is not enough; a wrong secret neither.
    let r = c.get("/api/v1/session").await;
    assert_eq!((r.status, r.code()), (403, "untrusted_proxy"), "{}", r.text);
    c.headers.push((
        "x-mfa-proxy-secret".into(),
        "not-the-proxys-secret-0123456789abc".into(),
    ));
    let r = c.get("/api/v1/session").await;
    assert_eq!((r.status, r.code()), (403, "untrusted_proxy"), "{}", r.text);
    c.headers.pop();
    c.headers
        .push(("x-mfa-proxy-secret".into(), PROXY_SECRET.into()));
    let r = c.get("/api/v1/session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["user"], "jo@example.com");
    assert_eq!(r.json["next"]["next"], "register");
    let r = c
        .post(
            "/api/v1/sign-in",
            json!({"user": "jo@example.com", "password": "x"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "trusted_header_mode"));
    let r = c
        .post("/api/v1/methods/authenticator", json!({"account": "Jo"}))
        .await;
    let secret = secret_of(r.json["otpauth_uri"].as_str().unwrap());
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": totp(&secret, 0)}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c
        .post("/api/v1/app-passwords", json!({"name": "mail"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let session = c.cookies["mfa_session"].clone();
    let r = c.get("/.well-known/jwks.json").await;
    let claims = mfa_core::Jwks::parse(&r.text)
        .unwrap()
        .verify(
            &session,
            "mfa-wasm",
            "mfa-wasm",
            mfa_core::TokenKind::Session,
            now(),
        )
        .unwrap();
    assert!(claims.amr.contains(&"ext".to_string()));
    // Another user's header cannot ride on Jo's session.
    let mut other = c.clone();
    other.headers = vec![
        ("x-remote-user".into(), "mallory@example.com".into()),
        ("x-mfa-proxy-secret".into(), PROXY_SECRET.into()),
    ];
    let r = other.get("/api/v1/app-passwords").await;
    assert_eq!((r.status, r.code()), (403, "mfa_required"));

    // From an address that is not trusted, the header is refused.
    let dir2 = temp_dir("untrusted");
    let url2 = db_url(Db::Sqlite, &dir2).unwrap();
    let cfg2 = cfg
        .replace("[\"127.0.0.1/32\", \"::1\"]", "[\"10.9.9.9\"]")
        .replace(&url, &url2);
    let server2 = Server::start(&dir2, &cfg2);
    let mut c2 = server2.client();
    c2.headers
        .push(("x-remote-user".into(), "jo@example.com".into()));
    c2.headers
        .push(("x-mfa-proxy-secret".into(), PROXY_SECRET.into()));
    let r = c2.get("/api/v1/session").await;
    assert_eq!(
        (r.status, r.code()),
        (403, "untrusted_proxy"),
        "the secret alone is not enough either"
    );

    // Without a proxy secret, trusted-header mode does not start.
    let cfg3 = cfg.replace(&format!("proxy_secret = \"{PROXY_SECRET}\"\n"), "");
    let err = start_fails(&cfg3, &[]);
    assert!(err.contains("auth.proxy_secret"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_works_with_nothing_configured() {
    let dir = temp_dir("demo");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mfa-server"))
        .current_dir(&dir)
        .args(["--demo", "--listen", "127.0.0.1:0"])
        .env("MFA_COMPONENT_WASM", component())
        .env("MFA_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            l2.lock().unwrap().push(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let url = loop {
        if let Some(l) = lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.starts_with("mfa-server demo on http://"))
        {
            break l.trim_start_matches("mfa-server demo on ").to_string();
        }
        assert!(std::time::Instant::now() < deadline, "demo did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = lines.lock().unwrap().join("\n");
    assert!(out.contains("demo@example.com / demo-password"), "{out}");
    assert!(out.contains("admin token:"));
    // Key file created with mode 0600.
    use std::os::unix::fs::PermissionsExt;
    assert!(
        out.contains("state:       mfa-demo/"),
        "the banner names the state folder: {out}"
    );
    let mode = std::fs::metadata(dir.join("mfa-demo/keys.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut c = Client::new(&url);
    let r = sign_in(&mut c, "demo@example.com", "demo-password").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["next"]["next"], "register", "Set it up now");
    // An e-mail code is printed on the console, marked as demo.
    let r = c
        .post(
            "/api/v1/methods/email",
            json!({"address": "me@example.org"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let line = loop {
        if let Some(l) = lines
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.starts_with("[DEMO DELIVERY] email"))
        {
            break l.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no demo delivery line"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let code = find_code(&line, 6);
    let r = c
        .post("/api/v1/methods/confirm", json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let _ = child.kill();
    let _ = child.wait();
}

fn start_fails(config: &str, env: &[(&str, &str)]) -> String {
    let dir = temp_dir("bad-config");
    std::fs::write(dir.join("c.toml"), config).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mfa-server"));
    cmd.current_dir(&dir)
        .arg("--config")
        .arg(dir.join("c.toml"))
        .env_remove("MFA_DEMO")
        .env("MFA_COMPONENT_WASM", component());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success(),
        "a bad configuration must stop the start"
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn bad_configuration_is_refused_with_a_clear_message() {
    let e = start_fails("[delivery]\nconsole = true\n", &[]);
    assert!(e.contains("refused outside demo mode"), "{e}");
    let e = start_fails("[storage]\nurl = \"mysql://x\"\n", &[]);
    assert!(e.contains("storage.url"), "{e}");
    let e = start_fails("listen = 5\n", &[]);
    assert!(e.contains("listen") || e.contains("line 1"), "{e}");
    let e = start_fails(
        // The engine checks the policy when it starts, after the key file is read.
        "[keys]\ngenerate = true\n[policy]\nallowed_methods = [\"authenticator_app\"]\nlockout_threshold = 1000\n",
        &[],
    );
    assert!(e.contains("lockout_threshold"), "{e}");
    let e = start_fails(
        "[policy]\nallowed_methods = [\"authenticator_app\"]\n[keys]\nfile = \"missing.json\"\n",
        &[],
    );
    assert!(
        e.contains("missing.json") && e.contains("keys generate"),
        "{e}"
    );
    let e = start_fails(
        "[policy]\nallowed_methods = [\"authenticator_app\"]\n",
        &[("MFA_LISTEN", "not an address")],
    );
    assert!(e.contains("MFA_LISTEN"), "{e}");
}

#[test]
fn key_commands_rotate_and_refuse_open_permissions() {
    let dir = temp_dir("keys");
    let file = dir.join("k.json");
    let bin = env!("CARGO_BIN_EXE_mfa-server");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .arg("--key-file")
            .arg(&file)
            .output()
            .unwrap()
    };
    assert!(run(&["keys", "generate"]).status.success());
    let before: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let out = run(&["keys", "rotate-signing"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(after["engine"]["signing"].as_array().unwrap().len(), 2);
    let old = before["engine"]["active_signing"].as_str().unwrap();
    assert_ne!(after["engine"]["active_signing"].as_str().unwrap(), old);
    assert!(run(&["keys", "retire-signing", old]).status.success());
    assert!(!run(&["keys", "retire-signing", "nope"]).status.success());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A key file others can read is refused at start.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = format!(
        "[keys]\nfile = \"{}\"\n[policy]\nallowed_methods = [\"authenticator_app\"]\n",
        file.display()
    );
    let e = start_fails(&cfg, &[]);
    assert!(e.contains("chmod 600"), "{e}");
}

#[test]
fn a_missing_component_names_the_file_and_how_to_build_it() {
    let dir = temp_dir("no-component");
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    let missing = dir.join("nowhere/mfa_component.wasm");
    let err = start_fails(
        &base_config(&url, FAST_POLICY),
        &[("MFA_COMPONENT_WASM", missing.to_str().unwrap())],
    );
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    assert!(
        err.contains("cargo build -p mfa-component --target wasm32-wasip2 --release"),
        "{err}"
    );
}

/// Peak resident memory of a process (`VmHWM`), in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Security review item 7: 1,000 sign-ins at once, each with a real argon2id
/// check (m = 19 MiB), do not make the server hash them all at once: past the
/// configured two hashes at a time they wait briefly and then get 503 with
/// `Retry-After`, and the server's peak memory grows by far less than
/// 1,000 × 19 MiB (without the bound, every blocking thread held its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_parallel_sign_ins_keep_memory_bounded() {
    let dir = temp_dir("hash-cap");
    let Some(url) = db_url(Db::Sqlite, &dir) else {
        return;
    };
    let config = base_config(&url, FAST_POLICY).replace(
        "[auth]\nargon2 = { m_kib = 64, t = 1, p = 1 }\n",
        "[auth]\nmax_concurrent_hashes = 2\nmax_password_failures_per_address = 100000\n",
    );
    assert!(config.contains("max_concurrent_hashes"), "{config}");
    let server = Server::start(&dir, &config);
    let pid = server.pid().unwrap();
    // One sign-in first: the peak before includes one hash's memory.
    let mut c = server.client();
    let r = sign_in(&mut c, "warm-up@example.com", "not-a-real-user").await;
    assert_eq!(r.status, 401, "{}", r.text);
    let before = peak_kib(pid);

    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let (client, url) = (client.clone(), server.url.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{url}/api/v1/sign-in"))
                .json(&json!({"user": format!("guess-{i}@example.com"), "password": "guess"}))
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").is_some();
            (r.status().as_u16(), retry)
        }));
    }
    let (mut refused, mut busy) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            (401, _) => refused += 1,
            (503, true) => busy += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    let grown_mib = peak_kib(pid).saturating_sub(before) / 1024;
    eprintln!(
        "1000 sign-ins: {refused} checked (401), {busy} told to retry (503); peak grew {grown_mib} MiB"
    );
    assert!(refused > 0 && busy > 0, "{refused} checked, {busy} busy");
    assert!(
        grown_mib < 100,
        "peak memory grew by {grown_mib} MiB (two 19 MiB hashes at a time should need far less)"
    );
}
