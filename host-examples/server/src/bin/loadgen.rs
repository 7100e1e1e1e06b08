//! `mfa-loadgen`: a bounded HTTP load generator for the server's benchmarks.
//!
//! ```text
//! mfa-loadgen setup --url URL --admin-token T --users N --prefix P --out FILE [--app-passwords]
//! mfa-loadgen totp --url URL --users-file FILE --concurrency C --seconds S [--offset K]
//! mfa-loadgen app-password --url URL --users-file FILE --concurrency C --seconds S [--gateway-token T]
//! ```
//! The server must run in trusted-header mode (`x-remote-user` from loopback,
//! with the proxy secret from the environment variable `MFA_PROXY_SECRET` in
//! `x-mfa-proxy-secret`).
//! `totp` sends every request for a different user with that user's current code,
//! so each request is a real success that writes the replay step.
#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    reason = "a benchmark tool reports on standard output"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn need(args: &[String], name: &str) -> Result<String, String> {
    arg(args, name).ok_or_else(|| format!("{name} is required"))
}

fn num<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match arg(args, name) {
        Some(v) => v.parse().map_err(|_| format!("{name} must be a number")),
        None => Ok(default),
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mfa-loadgen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mfa-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("setup") => setup(&args).await,
        Some("totp") => bench(&args, Kind::Totp).await,
        Some("app-password") => bench(&args, Kind::AppPassword).await,
        _ => Err("usage: mfa-loadgen setup|totp|app-password … (see the source header)".into()),
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    tx: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(url: &str) -> Result<Self, String> {
        let host = url
            .strip_prefix("http://")
            .ok_or("only http:// URLs")?
            .trim_end_matches('/')
            .to_string();
        let stream = tokio::net::TcpStream::connect(&host)
            .await
            .map_err(|e| format!("connect {host}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (tx, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        Ok(Self { tx, host })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<(StatusCode, Vec<u8>, Vec<String>), String> {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if !body.is_empty() {
            b = b.header("content-type", "application/json");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if headers.iter().any(|(k, _)| *k == "x-remote-user")
            && let Ok(secret) = std::env::var("MFA_PROXY_SECRET")
        {
            b = b.header("x-mfa-proxy-secret", secret);
        }
        let req = b
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        self.tx.ready().await.map_err(|e| e.to_string())?;
        let resp = self.tx.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let cookies = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_string)
            .collect();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .to_vec();
        Ok((status, body, cookies))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Create users with an authenticator app (and optionally an app password each).
async fn setup(args: &[String]) -> Result<(), String> {
    let url = need(args, "--url")?;
    let admin = need(args, "--admin-token")?;
    let n: usize = num(args, "--users", 1000)?;
    let prefix = arg(args, "--prefix").unwrap_or_else(|| "bench".into());
    let out = need(args, "--out")?;
    let conc: usize = num(args, "--concurrency", 8)?;
    let with_ap = args.iter().any(|a| a == "--app-passwords");
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (url, admin, prefix, next) = (url.clone(), admin.clone(), prefix.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&url).await?;
            let mut lines = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(lines);
                }
                let user = format!("{prefix}{i}@example.com");
                let auth = format!("Bearer {admin}");
                let (st, b, _) = c
                    .send(
                        "PUT",
                        &format!("/api/v1/admin/users/{user}/state"),
                        &[("authorization", &auth)],
                        r#"{"state":"enabled"}"#.into(),
                    )
                    .await?;
                if !st.is_success() {
                    return Err(format!("set state: {st} {}", String::from_utf8_lossy(&b)));
                }
                let h = [("x-remote-user", user.as_str())];
                let (st, b, _) = c
                    .send("POST", "/api/v1/methods/authenticator", &h, "{}".into())
                    .await?;
                if !st.is_success() {
                    return Err(format!("begin: {st} {}", String::from_utf8_lossy(&b)));
                }
                let v: serde_json::Value = serde_json::from_slice(&b).map_err(|e| e.to_string())?;
                let uri = v["otpauth_uri"].as_str().ok_or("no otpauth_uri")?;
                let seed = otpauth_secret(uri)?;
                let secret = data_encoding::BASE32_NOPAD.encode(&seed);
                let code = totp_code(&seed, now()).map_err(|e| e.to_string())?;
                let (st, b, cookies) = c
                    .send(
                        "POST",
                        "/api/v1/methods/confirm",
                        &h,
                        format!(r#"{{"code":"{code}"}}"#),
                    )
                    .await?;
                if !st.is_success() {
                    return Err(format!("confirm: {st} {}", String::from_utf8_lossy(&b)));
                }
                let mut ap = String::new();
                if with_ap {
                    let cookie = cookies.join("; ");
                    let h2 = [
                        ("x-remote-user", user.as_str()),
                        ("cookie", cookie.as_str()),
                    ];
                    let (st, b, _) = c
                        .send(
                            "POST",
                            "/api/v1/app-passwords",
                            &h2,
                            r#"{"name":"bench"}"#.into(),
                        )
                        .await?;
                    if !st.is_success() {
                        return Err(format!(
                            "app password: {st} {}",
                            String::from_utf8_lossy(&b)
                        ));
                    }
                    let v: serde_json::Value =
                        serde_json::from_slice(&b).map_err(|e| e.to_string())?;
                    ap = v["password"].as_str().unwrap_or_default().to_string();
                }
                lines.push(format!("{user}\t{secret}\t{ap}"));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    std::fs::write(&out, all.join("\n") + "\n").map_err(|e| format!("{out}: {e}"))?;
    println!("created {} users into {out}", all.len());
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Totp,
    AppPassword,
}

struct User {
    name: String,
    secret: Vec<u8>,
    app_password: String,
}

async fn bench(args: &[String], kind: Kind) -> Result<(), String> {
    let url = need(args, "--url")?;
    let file = need(args, "--users-file")?;
    let conc: usize = num(args, "--concurrency", 8)?;
    let secs: f64 = num(args, "--seconds", 5.0)?;
    let offset: i64 = num(args, "--offset", 0)?;
    let max_requests: usize = num(args, "--max-requests", usize::MAX)?;
    let gateway = arg(args, "--gateway-token");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let users: Vec<User> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut it = l.split('\t');
            let name = it.next().unwrap_or_default().to_string();
            let secret = data_encoding::BASE32_NOPAD
                .decode(it.next().unwrap_or_default().as_bytes())
                .unwrap_or_default();
            let app_password = it.next().unwrap_or_default().to_string();
            User {
                name,
                secret,
                app_password,
            }
        })
        .collect();
    if users.is_empty() {
        return Err("no users in the file".into());
    }
    // Precompute the requests so the generator spends its time on HTTP.
    let t = (now() as i64 + offset * 30).max(0) as u64;
    let bodies: Arc<Vec<(String, String)>> = Arc::new(
        users
            .iter()
            .map(|u| match kind {
                Kind::Totp => {
                    let code = totp_code(&u.secret, t).unwrap_or_default();
                    (u.name.clone(), format!(r#"{{"code":"{code}"}}"#))
                }
                Kind::AppPassword => (
                    u.name.clone(),
                    serde_json::json!({"user": u.name, "password": u.app_password, "scope": "imap"}).to_string(),
                ),
            })
            .collect(),
    );
    let limit = if kind == Kind::Totp {
        bodies.len().min(max_requests)
    } else {
        max_requests
    };
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (url, bodies, next, gateway) =
            (url.clone(), bodies.clone(), next.clone(), gateway.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&url).await?;
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut ok = 0usize;
            let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let (user, body) = &bodies[i % bodies.len()];
                let t0 = Instant::now();
                let (st, _, _) = match kind {
                    Kind::Totp => {
                        c.send(
                            "POST",
                            "/api/v1/verify",
                            &[("x-remote-user", user)],
                            body.clone(),
                        )
                        .await?
                    }
                    Kind::AppPassword => {
                        let h: Vec<(&str, &str)> = gateway
                            .as_deref()
                            .map(|g| ("x-mfa-gateway-token", g))
                            .into_iter()
                            .collect();
                        c.send("POST", "/api/v1/app-passwords/verify", &h, body.clone())
                            .await?
                    }
                };
                lat.push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                if st == StatusCode::OK {
                    ok += 1;
                }
                *statuses.entry(st.as_u16()).or_default() += 1;
            }
            Ok::<_, String>((lat, ok, statuses))
        }));
    }
    let mut lat = Vec::new();
    let mut ok = 0;
    let mut statuses: std::collections::BTreeMap<u16, usize> = Default::default();
    for t in tasks {
        let (l, o, s) = t.await.map_err(|e| e.to_string())??;
        lat.extend(l);
        ok += o;
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{{\"requests\":{},\"ok\":{},\"seconds\":{:.2},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{},\"statuses\":{:?}}}",
        lat.len(),
        ok,
        elapsed,
        lat.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        statuses
    );
    Ok(())
}

/// The shared secret of an `otpauth://` URI (the `secret` parameter, base32).
fn otpauth_secret(uri: &str) -> Result<Vec<u8>, String> {
    let query = uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    let b32 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("secret="))
        .ok_or("the otpauth URI has no secret")?;
    data_encoding::BASE32_NOPAD
        .decode(b32.trim_end_matches('=').to_ascii_uppercase().as_bytes())
        .map_err(|e| format!("the otpauth URI's secret is not base32: {e}"))
}

/// The code an authenticator app shows (RFC 6238: SHA-1, 6 digits, 30 s), as a client computes it.
fn totp_code(secret: &[u8], unix: u64) -> Result<String, String> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret).map_err(|e| e.to_string())?;
    mac.update(&(unix / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    Ok(format!("{:06}", bin % 1_000_000))
}
