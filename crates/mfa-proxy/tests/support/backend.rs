//! Loopback services for the filter's tests, benchmarks and demo: an upstream
//! that echoes the request headers it received, and (for the demo in
//! `examples/demo-backend.rs`) an app-password verify service that implements
//! the server's contract with the real engine. The tests of remote mode run
//! against the real server instead (`support/server.rs`).
#![allow(
    dead_code,
    reason = "shared by several test crates and an example; each uses a part"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mfa_core::{
    Engine, Error, FirstFactor, MfaState, OtpAuthUri, RandomSource, Registration, SignInStep,
    Standing, UserRecord, totp_code,
};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A session token for `user` at `now`, issued the way users get one: the
/// engine's sign-in flow (password, then "Set it up now" with an
/// authenticator app whose code is computed from the QR code's secret).
pub fn session_token(engine: &Engine, user: &str, now: u64, rng: &mut dyn RandomSource) -> String {
    let mut rec = UserRecord::new(user, now);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut rec, MfaState::Enabled, "admin", now, &mut audit);
    let SignInStep::Next(login) =
        engine.start_sign_in(&rec, FirstFactor::Password, None, now, rng, &mut audit)
    else {
        panic!("a user without methods must set one up")
    };
    let Ok(Registration::Authenticator { uri, .. }) =
        engine.begin_authenticator(&mut rec, None, now, rng, &mut audit)
    else {
        panic!("authenticator registration starts")
    };
    let (parsed, _) = OtpAuthUri::parse(uri.expose()).expect("engine URIs parse");
    let code = totp_code(parsed.secret(), &engine.policy().totp, now).expect("valid parameters");
    let registered = engine
        .finish_registration(
            &mut rec,
            Standing::Token(login.token.expose()),
            &code,
            false,
            now,
            rng,
            &mut audit,
        )
        .expect("the current code finishes the set-up");
    let signed = registered.signed_in.expect("set-up signs in");
    signed.session.expose().to_string()
}

/// Randomness from the operating system.
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        getrandom::fill(dest).expect("the operating system provides randomness");
    }
}

/// One parsed HTTP/1.1 request.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response to write.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Read one request; `None` at end of stream or on a malformed request.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    let mut total = line.len();
    loop {
        let mut h = String::new();
        let n = reader.read_line(&mut h).ok()?;
        total += n;
        if n == 0 || total > MAX_HEADER_BYTES {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY_BYTES {
        return None;
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let reason = match reply.status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", reply.status);
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", reply.body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&reply.body);
    stream.write_all(&bytes)
}

/// A keep-alive HTTP/1.1 server on 127.0.0.1, one thread per connection.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
}

impl Server {
    /// Serve `handler` on a free loopback port (or `port`, if not 0).
    pub fn start<H>(port: u16, handler: H) -> std::io::Result<Self>
    where
        H: Fn(&Request) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let (stop2, requests2) = (stop.clone(), requests.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (handler, requests, stop) = (handler.clone(), requests2.clone(), stop2.clone());
                thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let Ok(mut writer) = stream.try_clone() else {
                        return;
                    };
                    let mut reader = BufReader::new(stream);
                    while let Some(req) = read_request(&mut reader) {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        requests.fetch_add(1, Ordering::SeqCst);
                        let close = req
                            .header("connection")
                            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
                        if write_reply(&mut writer, &handler(&req)).is_err() || close {
                            break;
                        }
                    }
                    let _ = writer.shutdown(Shutdown::Both);
                });
            }
        });
        Ok(Self {
            addr,
            stop,
            requests,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Requests served so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// The echo upstream: answers 200 with `{"method","path","headers":{…}}`.
pub fn echo_upstream(port: u16) -> std::io::Result<Server> {
    Server::start(port, |req| {
        let headers: BTreeMap<&str, &str> = req
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Reply::json(
            200,
            &serde_json::json!({ "method": req.method, "path": req.path, "headers": headers }),
        )
    })
}

/// The app-password verify service: users' records in memory, checked by the engine.
pub struct VerifyService {
    pub server: Server,
}

struct VerifyState {
    engine: Engine,
    records: BTreeMap<String, UserRecord>,
}

fn error(status: u16, e: &Error) -> Reply {
    let mut r = Reply::json(
        status,
        &serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } }),
    );
    if let Error::RetryLater { until } | Error::Locked { until } = e {
        let wait = until.saturating_sub(unix_now()).max(1);
        r.headers.push(("retry-after".into(), wait.to_string()));
    }
    r
}

fn verify(state: &Mutex<VerifyState>, req: &Request) -> Reply {
    if req.method != "POST" || req.path != "/api/v1/app-passwords/verify" {
        return Reply::json(
            404,
            &serde_json::json!({ "error": { "code": "not_found", "message": "no such endpoint" } }),
        );
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return Reply::json(
            400,
            &serde_json::json!({ "error": { "code": "invalid_input", "message": "the body is not JSON" } }),
        );
    };
    let (Some(user), Some(password)) = (body["user"].as_str(), body["password"].as_str()) else {
        return Reply::json(
            400,
            &serde_json::json!({ "error": { "code": "invalid_input", "message": "user and password are required" } }),
        );
    };
    let scope = body["scope"].as_str();
    let Ok(mut guard) = state.lock() else {
        return Reply::json(
            500,
            &serde_json::json!({ "error": { "code": "internal", "message": "state lock poisoned" } }),
        );
    };
    let VerifyState { engine, records } = &mut *guard;
    let Some(record) = records.get_mut(user) else {
        return error(401, &Error::UnknownAppPassword);
    };
    let mut audit = Vec::new();
    match engine.verify_app_password(
        record,
        password,
        scope,
        unix_now(),
        &mut OsRandom,
        &mut audit,
    ) {
        Ok(m) => Reply::json(
            200,
            &serde_json::json!({ "user": record.user_id(), "id": m.id, "name": m.name, "scopes": m.scopes }),
        ),
        Err(e @ Error::OutOfScope { .. }) => error(403, &e),
        Err(e @ (Error::RetryLater { .. } | Error::Locked { .. })) => error(429, &e),
        Err(e) => error(401, &e),
    }
}

impl VerifyService {
    /// Serve the contract on `port` (0: a free one) for these users.
    pub fn start(port: u16, engine: Engine, records: Vec<UserRecord>) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(VerifyState {
            engine,
            records: records
                .into_iter()
                .map(|r| (r.user_id().to_string(), r))
                .collect(),
        }));
        let server = Server::start(port, move |req| verify(&state, req))?;
        Ok(Self { server })
    }
}
