//! The decision logic on the host target: configuration checks and
//! `request facts → decision`, with shared data and metrics as plain maps.
use std::cell::RefCell;
use std::collections::HashMap;

#[path = "support/backend.rs"]
mod backend;

#[path = "../../mfa-core/tests/common/authenticator.rs"]
mod authenticator;

use authenticator::SoftKey;
use mfa_core::{
    AppPasswordCredential, Argon2Params, Engine, FirstFactor, Keys, MethodType, MfaState,
    PasskeyPolicy, Policy, Proof, SeededRandom, SignInStep, Standing, UserRecord,
};
use mfa_proxy::cache::CacheKey;
use mfa_proxy::config::{AppPasswordSource, AppPasswords, Config};
use mfa_proxy::gate::{Decision, Denial, Event, Facts, Gate, HeaderEdit, Metrics, SharedStore};
use mfa_proxy::remote::Answer;
use serde_json::json;

const NOW: u64 = 1_800_000_000;

#[derive(Default)]
struct Store {
    data: RefCell<HashMap<String, (Vec<u8>, u32)>>,
}

impl SharedStore for Store {
    fn get(&self, key: &str) -> Option<(Vec<u8>, Option<u32>)> {
        self.data
            .borrow()
            .get(key)
            .map(|(v, cas)| (v.clone(), Some(*cas)))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        let mut data = self.data.borrow_mut();
        let current = data.get(key).map(|(_, c)| *c);
        if let (Some(want), Some(have)) = (cas, current)
            && want != have
        {
            return false;
        }
        data.insert(key.to_string(), (value.to_vec(), current.unwrap_or(0) + 1));
        true
    }
}

#[derive(Default)]
struct Counts(RefCell<Vec<Event>>);

impl Metrics for Counts {
    fn count(&self, event: Event) {
        self.0.borrow_mut().push(event);
    }
}

impl Counts {
    fn of(&self, event: Event) -> usize {
        self.0.borrow().iter().filter(|e| **e == event).count()
    }
}

struct Req {
    headers: Vec<(&'static str, String)>,
    address: &'static str,
}

impl Facts for Req {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }

    fn client_address(&self) -> Option<String> {
        Some(self.address.to_string())
    }
}

fn req(method: &str, path: &str, extra: &[(&'static str, &str)]) -> Req {
    let mut headers = vec![
        (":method", method.to_string()),
        (":path", path.to_string()),
        (":authority", "mail.example.com".to_string()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    Req {
        headers,
        address: "192.0.2.7:50123",
    }
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes())
    )
}

struct World {
    engine: Engine,
    alice: UserRecord,
    alice_pw: String,
    alice_cred: AppPasswordCredential,
    bob_pw: String,
    bob_cred: AppPasswordCredential,
    carol_pw: String,
    carol_cred: AppPasswordCredential,
}

fn world() -> World {
    let mut rng = SeededRandom::new(b"decide");
    let policy = Policy {
        argon2: Argon2Params::INSECURE_FOR_TESTS,
        ..Policy::default()
    };
    let engine = Engine::new(policy, Keys::generate(&mut rng)).unwrap();
    let mut make = |user: &str, scopes: &[&str], created: u64, expires: Option<u64>| {
        let mut rec = UserRecord::new(user, created);
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let new = engine
            .create_app_password(
                &mut rec,
                "Mail",
                &scopes,
                expires,
                created,
                &mut rng,
                &mut Vec::new(),
            )
            .unwrap();
        (rec, new.password.expose().to_string(), new.credential)
    };
    let (alice, alice_pw, alice_cred) = make("alice@example.com", &[], NOW, None);
    let (_, bob_pw, bob_cred) = make("bob@example.com", &["smtp"], NOW, None);
    let (_, carol_pw, carol_cred) = make("carol@example.com", &[], NOW - 100, Some(NOW - 10));
    World {
        engine,
        alice,
        alice_pw,
        alice_cred,
        bob_pw,
        bob_cred,
        carol_pw,
        carol_cred,
    }
}

fn session_json(engine: &Engine) -> serde_json::Value {
    json!({
        "jwks": serde_json::from_str::<serde_json::Value>(&engine.jwks().to_json()).unwrap(),
        "issuer": "mfa-wasm",
        "audience": "mfa-wasm",
        "redirect_url": "https://id.example.com/verify"
    })
}

fn inline_config(w: &World) -> serde_json::Value {
    json!({
        "routes": [
            { "path_prefix": "/public", "mode": "public" },
            { "path_prefix": "/web", "mode": "session" },
            { "path_prefix": "/either", "mode": "either" },
            { "hosts": ["imap.example.com"], "mode": "app_password", "scope": "imap" },
            { "hosts": ["open.example.com"], "mode": "app_password" },
            { "hosts": ["*.example.com"], "mode": "app_password", "scope": "smtp" }
        ],
        "app_passwords": { "credentials": [w.alice_cred, w.bob_cred, w.carol_cred] },
        "session": session_json(&w.engine),
        "throttle": { "max_failures": 3, "window_secs": 60, "block_secs": 30 }
    })
}

/// `GET /` on `host` with Basic credentials.
fn basic_on(user: &str, pw: &str, host: &str) -> Req {
    let auth = basic(user, pw);
    let mut r = req("GET", "/", &[("authorization", &auth)]);
    r.headers[2].1 = host.to_string();
    r
}

fn gate(config: &serde_json::Value) -> Gate {
    let config = Config::parse(config.to_string().as_bytes()).unwrap();
    Gate::new(config, CacheKey::from_bytes(&[9; 32]).unwrap())
}

fn edits(d: &Decision) -> &[HeaderEdit] {
    match d {
        Decision::Continue(e) => e,
        other => panic!("expected to continue, got {other:?}"),
    }
}

fn edit<'a>(d: &'a Decision, name: &str) -> Option<Option<&'a str>> {
    edits(d)
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_deref())
}

fn status(d: &Decision) -> u16 {
    match d {
        Decision::Respond(r) => r.status,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn code(d: &Decision) -> String {
    match d {
        Decision::Respond(r) => {
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["error"]["code"]
                .as_str()
                .unwrap()
                .to_string()
        }
        other => panic!("expected a response, got {other:?}"),
    }
}

fn header<'a>(d: &'a Decision, name: &str) -> Option<&'a str> {
    match d {
        Decision::Respond(r) => r
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str()),
        _ => None,
    }
}

fn session_token(engine: &Engine, rec: &UserRecord, at: u64) -> String {
    backend::session_token(engine, rec.user_id(), at, &mut SeededRandom::new(b"tok"))
}

// ----- configuration ------------------------------------------------------

fn config_error(config: serde_json::Value) -> String {
    Config::parse(config.to_string().as_bytes())
        .expect_err("the configuration must be refused")
        .to_string()
}

#[test]
fn bad_configurations_name_the_field() {
    let w = world();
    let mut c = inline_config(&w);
    c["routes"][1]["mode"] = json!("sesion");
    assert!(config_error(c).contains("`routes[1].mode`: unknown variant `sesion`"));

    let mut c = inline_config(&w);
    c["routes"] = json!([]);
    assert!(config_error(c).contains("`routes`"));

    let mut c = inline_config(&w);
    c["app_passwords"]["credentials"][1]["hash"] = json!("$argon2i$nope");
    assert!(config_error(c).contains("`app_passwords.credentials[1].hash`"));

    let mut c = inline_config(&w);
    c["app_passwords"]["credentials"][0]["user"] = json!("a:b");
    assert!(config_error(c).contains("`app_passwords.credentials[0].user`"));

    let mut c = inline_config(&w);
    c["app_passwords"]["remote"] = json!({ "cluster": "mfa" });
    assert!(config_error(c).contains("not both"));

    let mut c = inline_config(&w);
    c["session"]["jwks"] = json!({ "keys": [] });
    assert!(config_error(c).contains("`session.jwks`"));

    let mut c = inline_config(&w);
    c["session"]["redirect_url"] = json!("javascript:alert(1)");
    assert!(config_error(c).contains("`session.redirect_url`"));

    let mut c = inline_config(&w);
    c["throttle"]["max_failures"] = json!(0);
    assert!(config_error(c).contains("`throttle.max_failures`"));

    let mut c = inline_config(&w);
    c["app_passwords"]["cache_ttl_secs"] = json!(86_400);
    assert!(config_error(c).contains("`app_passwords.cache_ttl_secs`"));

    let mut c = inline_config(&w);
    c["routs"] = json!([]);
    assert!(config_error(c).contains("unknown field `routs`"));

    let mut c = inline_config(&w);
    c.as_object_mut().unwrap().remove("session");
    assert!(config_error(c).contains("`routes[1].mode`: accepts sessions"));

    let mut c = inline_config(&w);
    c["routes"][0]["scope"] = json!("imap");
    assert!(config_error(c).contains("`routes[0].scope`"));

    let mut c = inline_config(&w);
    c["app_passwords"]["credentials"][2] = json!(w.alice_cred);
    assert!(config_error(c).contains("twice"));

    assert!(
        Config::parse(b"")
            .unwrap_err()
            .to_string()
            .starts_with("invalid configuration")
    );
    assert!(Config::parse(b"{} {}").is_err());
}

#[test]
fn configuration_errors_do_not_quote_hashes() {
    let w = world();
    let mut c = inline_config(&w);
    c["app_passwords"]["credentials"][0]["scopes"] = json!(w.alice_cred.hash);
    let msg = config_error(c);
    assert!(
        msg.contains("`app_passwords.credentials[0].scopes`"),
        "{msg}"
    );
    assert!(!msg.contains(&w.alice_cred.hash), "{msg}");
    assert!(msg.contains("invalid type: string"), "{msg}");
}

// ----- app passwords --------------------------------------------------------

#[test]
fn right_app_password_sets_identity_and_is_cached() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    let auth = basic("alice@example.com", &w.alice_pw);
    let r = req("GET", "/inbox", &[("authorization", &auth)]);
    let d = g.decide(&r, NOW, &store, &m);
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    assert_eq!(edit(&d, "x-mfa-method"), Some(Some("app_password")));
    assert_eq!(
        edit(&d, "x-mfa-app-password-id"),
        Some(Some(w.alice_cred.id.as_str()))
    );
    assert_eq!(
        edit(&d, "authorization"),
        Some(None),
        "the credential is removed"
    );
    assert_eq!(m.of(Event::HashComputed), 1);
    assert_eq!(m.of(Event::CacheMiss), 1);

    // Grouping, case and spaces do not matter, and the cache answers.
    let spaced = w.alice_pw.replace('-', " ").to_uppercase();
    let r = req(
        "GET",
        "/inbox",
        &[("authorization", &basic("alice@example.com", &spaced))],
    );
    let d = g.decide(&r, NOW + 59, &store, &m);
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    assert_eq!(m.of(Event::HashComputed), 1, "argon2 ran once");
    assert_eq!(m.of(Event::CacheHit), 1);

    // After the TTL (60 s by default) it is checked again.
    g.decide(&r, NOW + 60, &store, &m);
    assert_eq!(m.of(Event::HashComputed), 2);
    assert!(
        store.data.borrow().keys().all(|k| !k.contains("alice")),
        "no user names in shared data"
    );
}

/// Security review item 9: what did not decide is not forwarded either. A
/// Basic app password beside a winning session, and every credential sent to
/// a public route, are removed before the request goes upstream; a route can
/// keep them when its upstream needs them.
#[test]
fn credentials_that_did_not_decide_are_stripped_too() {
    let w = world();
    let (store, m) = (Store::default(), Counts::default());
    let valid = session_token(&w.engine, &w.alice, NOW);
    let cookie = format!("a=1; mfa_session={valid}");
    let auth = basic("bob@example.com", &w.bob_pw);
    let both = [
        ("cookie", cookie.as_str()),
        ("authorization", auth.as_str()),
    ];

    let g = gate(&inline_config(&w));
    // The session decides on an `either` route; bob's app password goes nowhere.
    let d = g.decide(&req("GET", "/either/x", &both), NOW, &store, &m);
    assert_eq!(edit(&d, "x-mfa-method"), Some(Some("session")));
    assert_eq!(
        edit(&d, "authorization"),
        Some(None),
        "the unused Basic header is removed"
    );
    assert_eq!(edit(&d, "cookie"), Some(Some("a=1")));
    // A public route forwards no credential at all.
    let d = g.decide(&req("GET", "/public/x", &both), NOW, &store, &m);
    assert_eq!(edit(&d, "x-mfa-user"), Some(None));
    assert_eq!(edit(&d, "authorization"), Some(None));
    assert_eq!(edit(&d, "cookie"), Some(Some("a=1")));
    // An app password decides: the session cookie does not go up either.
    let mut r = req(
        "GET",
        "/",
        &[
            ("authorization", auth.as_str()),
            ("cookie", cookie.as_str()),
        ],
    );
    r.headers[2].1 = "mail.example.com".into();
    let d = g.decide(&r, NOW, &store, &m);
    assert_eq!(edit(&d, "x-mfa-method"), Some(Some("app_password")));
    assert_eq!(edit(&d, "authorization"), Some(None));
    assert_eq!(edit(&d, "cookie"), Some(Some("a=1")));

    // A route may keep them for an upstream that needs them.
    let mut c = inline_config(&w);
    c["routes"][0]["strip_credentials"] = json!(false);
    let g = gate(&c);
    let d = g.decide(&req("GET", "/public/x", &both), NOW, &store, &m);
    assert_eq!(edit(&d, "authorization"), None);
    assert_eq!(edit(&d, "cookie"), None);
}

#[test]
fn strip_credentials_can_be_turned_off() {
    let w = world();
    let mut c = inline_config(&w);
    c["strip_credentials"] = json!(false);
    let g = gate(&c);
    let auth = basic("alice@example.com", &w.alice_pw);
    let d = g.decide(
        &req("GET", "/", &[("authorization", &auth)]),
        NOW,
        &Store::default(),
        &Counts::default(),
    );
    assert_eq!(edit(&d, "authorization"), None);
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
}

#[test]
fn refusals_of_app_passwords() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    let run =
        |user: &str, pw: &str, host: &str| g.decide(&basic_on(user, pw, host), NOW, &store, &m);
    // Malformed: no hash.
    let d = run("alice@example.com", "hunter2", "mail.example.com");
    assert_eq!(
        (status(&d), code(&d)),
        (401, "malformed_app_password".into())
    );
    assert!(
        header(&d, "www-authenticate")
            .unwrap()
            .starts_with("Basic realm=\"mfa\"")
    );
    assert_eq!(m.of(Event::HashComputed), 0);
    // Another user's password: unknown id for this user, no hash.
    let d = run("alice@example.com", &w.bob_pw, "mail.example.com");
    assert_eq!(code(&d), "unknown_app_password");
    assert_eq!(m.of(Event::HashComputed), 0);
    // Expired: no hash.
    let d = run("carol@example.com", &w.carol_pw, "mail.example.com");
    assert_eq!((status(&d), code(&d)), (401, "app_password_expired".into()));
    assert_eq!(m.of(Event::HashComputed), 0);
    // Out of scope: bob's is for smtp; the imap host wants imap. Cached too.
    let d = run("bob@example.com", &w.bob_pw, "imap.example.com");
    assert_eq!((status(&d), code(&d)), (403, "out_of_scope".into()));
    let d = run("bob@example.com", &w.bob_pw, "IMAP.example.com:993");
    assert_eq!(status(&d), 403);
    assert_eq!(
        m.of(Event::HashComputed),
        1,
        "the out-of-scope answer is cached"
    );
    // Bob on the general route is fine, from the same cache entry: one
    // argon2 run per credential, whatever the routes it is used on.
    let d = run("bob@example.com", &w.bob_pw, "mail.example.com");
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("bob@example.com")));
    assert_eq!(
        m.of(Event::HashComputed),
        1,
        "a verified credential serves every route"
    );
    // And the other way round: alice (no scopes) first on the general route, then imap.
    let d = run("alice@example.com", &w.alice_pw, "mail.example.com");
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    let d = run("alice@example.com", &w.alice_pw, "imap.example.com");
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    assert_eq!(m.of(Event::HashComputed), 2);
    let d = run("bob@example.com", &w.bob_pw, "imap.example.com");
    assert_eq!(
        status(&d),
        403,
        "the cached entry still refuses a scope the credential lacks"
    );
    assert_eq!(m.of(Event::HashComputed), 2);
    // No route for another domain: refused.
    let d = run("alice@example.com", &w.alice_pw, "evil.test");
    assert_eq!((status(&d), code(&d)), (403, "no_route".into()));
    // Missing or unreadable Basic header.
    let d = g.decide(&req("GET", "/", &[]), NOW, &store, &m);
    assert_eq!((status(&d), code(&d)), (401, "missing_credentials".into()));
    let d = g.decide(
        &req("GET", "/", &[("authorization", "Basic %%%")]),
        NOW,
        &store,
        &m,
    );
    assert_eq!(code(&d), "malformed_app_password");
    assert_eq!(m.of(Event::Denied(Denial::MalformedAppPassword)), 2);
}

/// Security review item 6: an `smtp`-only password must not open a route that
/// asks for no scope, neither on its first use nor from the cache of an
/// earlier verification.
#[test]
fn scoped_app_password_is_refused_where_no_scope_is_named() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    let run =
        |user: &str, pw: &str, host: &str| g.decide(&basic_on(user, pw, host), NOW, &store, &m);
    // First use, on the route without a scope: refused after the hash.
    let d = run("bob@example.com", &w.bob_pw, "open.example.com");
    assert_eq!((status(&d), code(&d)), (403, "out_of_scope".into()));
    assert_eq!(m.of(Event::HashComputed), 1);
    // Its own scope's route takes it (from the cache: no second hash)…
    let d = run("bob@example.com", &w.bob_pw, "mail.example.com");
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("bob@example.com")));
    assert_eq!(m.of(Event::HashComputed), 1);
    // …and the cached verification still does not open the unscoped route.
    let d = run("bob@example.com", &w.bob_pw, "open.example.com");
    assert_eq!((status(&d), code(&d)), (403, "out_of_scope".into()));
    // A password without scopes opens it.
    let d = run("alice@example.com", &w.alice_pw, "open.example.com");
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
}

/// Security review item 12: the gateway keys users on the canonical user id,
/// so case and surrounding spaces are the same user (one cache entry, one
/// identity upstream), and no spelling opens a budget of its own.
#[test]
fn user_name_case_and_spaces_are_one_user() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    for (i, name) in [
        "alice@example.com",
        "ALICE@example.com",
        " Alice@Example.com ",
    ]
    .iter()
    .enumerate()
    {
        let auth = basic(name, &w.alice_pw);
        let d = g.decide(
            &req("GET", "/", &[("authorization", &auth)]),
            NOW,
            &store,
            &m,
        );
        assert_eq!(
            edit(&d, "x-mfa-user"),
            Some(Some("alice@example.com")),
            "{name}"
        );
        assert_eq!(
            m.of(Event::HashComputed),
            1,
            "one hash for every spelling ({i})"
        );
    }
    assert_eq!(m.of(Event::CacheHit), 2);
}

/// Security review item 5: a lock per user was a denial of service (ten
/// well-formed garbage passwords locked a victim's mail clients out) and told
/// which accounts exist (401 for invented users, 429 for real ones). Now
/// failures are counted per client address only: the attacker's address is
/// throttled, the victim's correct password keeps working from anywhere
/// else, and a real and an invented user get the same answers.
#[test]
fn app_password_lockout_is_not_a_denial_of_service() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    // Well-formed garbage for the victim, from one address and from many.
    let garbage = basic("alice@example.com", &w.bob_pw);
    let mut answers = Vec::new();
    for _ in 0..4 {
        let d = g.decide(
            &req("GET", "/", &[("authorization", &garbage)]),
            NOW,
            &store,
            &m,
        );
        answers.push(status(&d));
    }
    assert_eq!(
        answers,
        [401, 401, 401, 429],
        "the attacking address is throttled"
    );
    for i in 0..50 {
        let mut r = req("GET", "/", &[("authorization", &garbage)]);
        r.address = Box::leak(format!("203.0.113.{i}:1").into_boxed_str());
        assert_eq!(status(&g.decide(&r, NOW, &store, &m)), 401);
    }
    // The victim's correct password, never used before (nothing cached), passes.
    let mut victim = req(
        "GET",
        "/",
        &[("authorization", &basic("alice@example.com", &w.alice_pw))],
    );
    victim.address = "198.51.100.4:1";
    assert_eq!(
        edit(&g.decide(&victim, NOW + 1, &store, &m), "x-mfa-user"),
        Some(Some("alice@example.com"))
    );
    assert_eq!(
        m.of(Event::CacheHit),
        0,
        "verified by its hash, not from a cache"
    );

    // A real user and an invented one: the same answers, refusal and throttle alike.
    let answer = |user: &str, address: &'static str| {
        let mut r = req("GET", "/", &[("authorization", &basic(user, &w.bob_pw))]);
        r.address = address;
        (0..4)
            .map(|_| match g.decide(&r, NOW + 2, &store, &m) {
                Decision::Respond(r) => (r.status, r.body, r.headers),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        answer("carol@example.com", "198.51.100.20:1"),
        answer("nobody-here@example.com", "198.51.100.21:1")
    );
}

#[test]
fn a_cached_credential_passes_while_its_user_is_under_attack() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    let good = basic("alice@example.com", &w.alice_pw);
    let mut legit = req("GET", "/", &[("authorization", &good)]);
    legit.address = "198.51.100.4:1";
    assert!(matches!(
        g.decide(&legit, NOW, &store, &m),
        Decision::Continue(_)
    ));
    let wrong = basic("alice@example.com", &w.bob_pw);
    for _ in 0..5 {
        g.decide(
            &req("GET", "/", &[("authorization", &wrong)]),
            NOW,
            &store,
            &m,
        );
    }
    assert!(matches!(
        g.decide(&legit, NOW + 1, &store, &m),
        Decision::Continue(_)
    ));
}

#[test]
fn another_configuration_does_not_share_cache_entries() {
    let w = world();
    let store = Store::default();
    let m = Counts::default();
    let g1 = gate(&inline_config(&w));
    let auth = basic("alice@example.com", &w.alice_pw);
    assert!(matches!(
        g1.decide(
            &req("GET", "/", &[("authorization", &auth)]),
            NOW,
            &store,
            &m
        ),
        Decision::Continue(_)
    ));
    // Same shared data, alice's credential removed from the configuration.
    let mut c = inline_config(&w);
    c["app_passwords"]["credentials"] = json!([w.bob_cred]);
    let g2 = gate(&c);
    let d = g2.decide(
        &req("GET", "/", &[("authorization", &auth)]),
        NOW + 1,
        &store,
        &m,
    );
    assert_eq!(code(&d), "unknown_app_password");
}

#[test]
fn identity_headers_are_always_overwritten_or_removed() {
    let w = world();
    let g = gate(&inline_config(&w));
    let forged = [
        ("x-mfa-user", "mallory@example.com"),
        ("x-mfa-method", "session"),
        ("x-mfa-app-password-id", "abcd"),
    ];
    let d = g.decide(
        &req("GET", "/public/health", &forged),
        NOW,
        &Store::default(),
        &Counts::default(),
    );
    for h in ["x-mfa-user", "x-mfa-method", "x-mfa-app-password-id"] {
        assert_eq!(edit(&d, h), Some(None), "{h} removed on a public route");
    }
}

// ----- sessions ---------------------------------------------------------------

#[test]
fn sessions_redirect_browsers_and_refuse_api_calls() {
    let w = world();
    let g = gate(&inline_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    let valid = session_token(&w.engine, &w.alice, NOW);
    let cookie = format!("a=1; mfa_session={valid}");
    let d = g.decide(
        &req("GET", "/web/x", &[("cookie", &cookie)]),
        NOW,
        &store,
        &m,
    );
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    assert_eq!(edit(&d, "x-mfa-method"), Some(Some("session")));
    assert_eq!(edit(&d, "x-mfa-app-password-id"), Some(None));
    assert_eq!(edit(&d, "cookie"), Some(Some("a=1")));

    let expired = session_token(&w.engine, &w.alice, NOW - 9 * 3600);
    let other = Engine::new(
        Policy::default(),
        Keys::generate(&mut SeededRandom::new(b"other")),
    )
    .unwrap();
    let foreign = session_token(&other, &w.alice, NOW);
    for (token, reason) in [
        (expired.as_str(), "session_expired"),
        (foreign.as_str(), "session_invalid"),
        ("x.y.z", "session_invalid"),
    ] {
        let cookie = format!("mfa_session={token}");
        let d = g.decide(
            &req(
                "GET",
                "/web/a b?x=1",
                &[("cookie", &cookie), ("accept", "text/html")],
            ),
            NOW,
            &store,
            &m,
        );
        assert_eq!(status(&d), 302, "{reason}");
        assert_eq!(
            header(&d, "location"),
            Some("https://id.example.com/verify?return_to=/web/a%20b%3Fx%3D1")
        );
        let d = g.decide(
            &req(
                "GET",
                "/web/api",
                &[("cookie", &cookie), ("accept", "application/json")],
            ),
            NOW,
            &store,
            &m,
        );
        assert_eq!((status(&d), code(&d)), (401, reason.to_string()));
        assert!(
            header(&d, "www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let d = g.decide(
        &req("DELETE", "/web/x", &[("accept", "text/html")]),
        NOW,
        &store,
        &m,
    );
    assert_eq!((status(&d), code(&d)), (401, "session_missing".into()));
}

#[test]
fn sessions_without_the_required_amr_are_refused() {
    let w = world();
    let mut c = inline_config(&w);
    c["session"]["required_amr"] = json!(["mfa", "hwk"]);
    let g = gate(&c);
    let token = session_token(&w.engine, &w.alice, NOW);
    let d = g.decide(
        &req(
            "GET",
            "/web/x",
            &[("cookie", &format!("mfa_session={token}"))],
        ),
        NOW,
        &Store::default(),
        &Counts::default(),
    );
    assert_eq!(code(&d), "session_insufficient");
}

#[test]
fn a_cached_session_still_expires() {
    let w = world();
    let g = gate(&inline_config(&w));
    let token = session_token(&w.engine, &w.alice, NOW);
    let cookie = format!("mfa_session={token}");
    let (store, m) = (Store::default(), Counts::default());
    assert!(matches!(
        g.decide(&req("GET", "/web", &[("cookie", &cookie)]), NOW, &store, &m),
        Decision::Continue(_)
    ));
    let d = g.decide(
        &req("GET", "/web", &[("cookie", &cookie)]),
        NOW + 8 * 3600,
        &store,
        &m,
    );
    assert_eq!(code(&d), "session_expired");
}

#[test]
fn session_from_a_bearer_header() {
    let w = world();
    let mut c = inline_config(&w);
    c["session"]["header"] = json!("Authorization");
    let g = gate(&c);
    let token = session_token(&w.engine, &w.alice, NOW);
    let d = g.decide(
        &req(
            "GET",
            "/either/x",
            &[("authorization", &format!("Bearer {token}"))],
        ),
        NOW,
        &Store::default(),
        &Counts::default(),
    );
    assert_eq!(edit(&d, "x-mfa-method"), Some(Some("session")));
    assert_eq!(edit(&d, "authorization"), Some(None));
    // In `either` mode a Basic header in the same place still works.
    let auth = basic("alice@example.com", &w.alice_pw);
    let d = g.decide(
        &req("GET", "/either/x", &[("authorization", &auth)]),
        NOW,
        &Store::default(),
        &Counts::default(),
    );
    assert_eq!(edit(&d, "x-mfa-method"), Some(Some("app_password")));
    let d = g.decide(
        &req("GET", "/either/x", &[]),
        NOW,
        &Store::default(),
        &Counts::default(),
    );
    match &d {
        Decision::Respond(r) => assert_eq!(
            r.headers
                .iter()
                .filter(|(k, _)| k == "www-authenticate")
                .count(),
            2
        ),
        other => panic!("{other:?}"),
    }
}

// ----- phishing-resistant routes ---------------------------------------------------

/// The relying party and the page passkeys are used on (the sign-in pages of
/// `redirect_url`).
const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://id.example.com";

/// An engine whose users may sign in with passkeys as well as codes.
fn passkey_engine() -> Engine {
    let policy = Policy::builder()
        .argon2(Argon2Params::INSECURE_FOR_TESTS)
        .allowed_methods(MethodType::ALL.to_vec())
        .passkeys(PasskeyPolicy {
            rp_id: RP_ID.into(),
            rp_name: "Example".into(),
            origins: vec![ORIGIN.into()],
            ..PasskeyPolicy::default()
        })
        .build()
        .unwrap();
    Engine::new(policy, Keys::generate(&mut SeededRandom::new(b"passkeys"))).unwrap()
}

/// A session for `user` signed in with a passkey, the way users get one:
/// "Set it up now" with a key on the engine's software authenticator, then
/// the next sign-in with that key as the second factor. `synced`: a key that
/// may be backed up (RFC 8176 `swk`); otherwise device-bound (`hwk`).
fn passkey_session(engine: &Engine, user: &str, synced: bool, at: u64) -> String {
    let mut rng = SeededRandom::new(user.as_bytes());
    let mut audit = Vec::new();
    let mut key = SoftKey::p256(7, RP_ID, ORIGIN);
    // User presence only (so no `user` in the amr), plus backup eligible and
    // backed up for a synced passkey.
    key.flags = if synced { 0x01 | 0x08 | 0x10 } else { 0x01 };
    let mut rec = UserRecord::new(user, at);
    engine.set_mfa_state(&mut rec, MfaState::Enabled, "admin", at, &mut audit);
    let mut login = |rec: &UserRecord, rng: &mut SeededRandom| match engine.start_sign_in(
        rec,
        FirstFactor::Password,
        None,
        at,
        rng,
        &mut audit,
    ) {
        SignInStep::Next(step) => step.token.expose().to_string(),
        SignInStep::SignedIn(_) => panic!("no device token was presented"),
    };
    let token = login(&rec, &mut rng);
    let options = engine
        .begin_passkey(&mut rec, at, &mut rng, &mut Vec::new())
        .unwrap();
    engine
        .finish_passkey_registration(
            &mut rec,
            Standing::Token(&token),
            &key.create(&options.options),
            "Security key",
            false,
            at,
            &mut rng,
            &mut Vec::new(),
        )
        .unwrap();
    let token = login(&rec, &mut rng);
    let options = engine
        .begin_passkey_sign_in(
            &mut rec,
            Standing::Token(&token),
            at,
            &mut rng,
            &mut Vec::new(),
        )
        .unwrap();
    let answer = key.get(&options.options, None);
    engine
        .finish_sign_in(
            &mut rec,
            Standing::Token(&token),
            Proof::Passkey(&answer),
            false,
            at,
            &mut rng,
            &mut Vec::new(),
        )
        .unwrap()
        .session
        .expose()
        .to_string()
}

/// A session for `user` signed in with an authenticator app's code.
fn otp_session(engine: &Engine, user: &str, at: u64) -> String {
    backend::session_token(engine, user, at, &mut SeededRandom::new(b"otp"))
}

/// `/admin` admits only passkey and security-key sessions, `/web` any session.
fn phishing_resistant_config(engine: &Engine) -> serde_json::Value {
    json!({
        "routes": [
            { "path_prefix": "/admin", "mode": "session", "phishing_resistant": true },
            { "path_prefix": "/web", "mode": "session" }
        ],
        "session": session_json(engine)
    })
}

fn with_session(method: &str, path: &str, token: &str, accept: &str) -> Req {
    let cookie = format!("mfa_session={token}");
    req(method, path, &[("cookie", &cookie), ("accept", accept)])
}

#[test]
fn a_phishing_resistant_route_admits_passkey_sessions() {
    let e = passkey_engine();
    let g = gate(&phishing_resistant_config(&e));
    let (store, m) = (Store::default(), Counts::default());
    for (user, synced, amr) in [
        ("alice@example.com", false, ["pwd", "hwk", "mfa"]),
        ("bob@example.com", true, ["pwd", "swk", "mfa"]),
    ] {
        let token = passkey_session(&e, user, synced, NOW);
        assert_eq!(e.verify_session(&token, NOW).unwrap().amr, amr);
        for path in ["/admin/users", "/web/x", "/admin/users"] {
            let d = g.decide(
                &with_session("GET", path, &token, "application/json"),
                NOW,
                &store,
                &m,
            );
            assert_eq!(edit(&d, "x-mfa-user"), Some(Some(user)), "{user} {path}");
            assert_eq!(edit(&d, "x-mfa-method"), Some(Some("session")));
        }
    }
    assert_eq!(m.of(Event::Allowed), 6);
}

#[test]
fn a_phishing_resistant_route_refuses_code_sessions() {
    let e = passkey_engine();
    let g = gate(&phishing_resistant_config(&e));
    let (store, m) = (Store::default(), Counts::default());
    let token = otp_session(&e, "alice@example.com", NOW);
    assert_eq!(
        e.verify_session(&token, NOW).unwrap().amr,
        ["pwd", "otp", "mfa"]
    );
    // An API call: 401 with the Bearer challenge, as for a missing `required_amr`.
    let d = g.decide(
        &with_session("GET", "/admin/users", &token, "application/json"),
        NOW,
        &store,
        &m,
    );
    assert_eq!((status(&d), code(&d)), (401, "session_insufficient".into()));
    assert!(
        header(&d, "www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let Decision::Respond(r) = &d else {
        unreachable!()
    };
    assert!(
        r.body
            .contains("needs a sign-in with a passkey or security key"),
        "{}",
        r.body
    );
    // A browser is sent to sign in again.
    let d = g.decide(
        &with_session("GET", "/admin/users", &token, "text/html"),
        NOW,
        &store,
        &m,
    );
    assert_eq!(status(&d), 302);
    assert_eq!(
        header(&d, "location"),
        Some("https://id.example.com/verify?return_to=/admin/users")
    );
    assert_eq!(m.of(Event::Denied(Denial::SessionInsufficient)), 2);
    // The same session still opens the ordinary route.
    let d = g.decide(
        &with_session("GET", "/web/x", &token, "application/json"),
        NOW,
        &store,
        &m,
    );
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
}

#[test]
fn a_code_session_cached_on_an_ordinary_route_does_not_pass_a_phishing_resistant_one() {
    let e = passkey_engine();
    let g = gate(&phishing_resistant_config(&e));
    let (store, m) = (Store::default(), Counts::default());
    // Issued 100 s ahead of the gateway's clock, and first admitted at its
    // own time on the ordinary route: from then on the gateway's cache holds
    // it, and only the cache can answer for it at `NOW` (checked afresh, a
    // token issued more than a minute in the future is refused as invalid).
    let issued = NOW + 100;
    let token = otp_session(&e, "alice@example.com", issued);
    let d = g.decide(
        &with_session("GET", "/web/x", &token, "application/json"),
        issued,
        &store,
        &m,
    );
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    let d = g.decide(
        &with_session("GET", "/web/x", &token, "application/json"),
        NOW,
        &store,
        &m,
    );
    assert_eq!(
        edit(&d, "x-mfa-user"),
        Some(Some("alice@example.com")),
        "served from the cache"
    );
    // The attack: the cached session replayed at the phishing-resistant route.
    for now in [NOW, issued] {
        let d = g.decide(
            &with_session("GET", "/admin/users", &token, "application/json"),
            now,
            &store,
            &m,
        );
        assert_eq!((status(&d), code(&d)), (401, "session_insufficient".into()));
    }
    // A new session for the same user, never seen before, is refused too.
    let fresh = otp_session(&e, "alice@example.com", NOW);
    assert_ne!(fresh, token);
    let d = g.decide(
        &with_session("GET", "/admin/users", &fresh, "application/json"),
        NOW,
        &store,
        &m,
    );
    assert_eq!(code(&d), "session_insufficient");
    assert_eq!(m.of(Event::Denied(Denial::SessionInsufficient)), 3);
}

#[test]
fn phishing_resistant_is_refused_where_an_app_password_or_nothing_would_do() {
    let w = world();
    // inline_config: routes[0] public, [1] session, [2] either, [3] app_password.
    for (i, needle) in [
        (0, "`public` route asks for no sign-in"),
        (2, "mode `either` also admits app passwords"),
        (3, "an app password is never phishing-resistant"),
    ] {
        let mut c = inline_config(&w);
        c["routes"][i]["phishing_resistant"] = json!(true);
        let msg = config_error(c);
        assert!(
            msg.contains(&format!("`routes[{i}].phishing_resistant`")),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg}");
        assert!(msg.contains("use mode `session`"), "{msg}");
    }
    let mut c = inline_config(&w);
    c["routes"][1]["phishing_resistant"] = json!(true);
    let config = Config::parse(c.to_string().as_bytes()).unwrap();
    assert!(config.routes[1].phishing_resistant);
    assert!(!config.routes[2].phishing_resistant, "off by default");
    // `false` is allowed anywhere: it is the default.
    let mut c = inline_config(&w);
    c["routes"][3]["phishing_resistant"] = json!(false);
    assert!(Config::parse(c.to_string().as_bytes()).is_ok());

    let mut c = inline_config(&w);
    c["routes"][1]["phishing_resistant"] = json!("yes");
    let msg = config_error(c);
    assert!(msg.contains("`routes[1].phishing_resistant`"), "{msg}");
    assert!(msg.contains("invalid type"), "{msg}");
    let mut c = inline_config(&w);
    c["routes"][1]["phishing_resistent"] = json!(true);
    assert!(config_error(c).contains("unknown field `phishing_resistent`"));
}

// ----- remote -----------------------------------------------------------------

fn remote_config() -> serde_json::Value {
    json!({
        "routes": [{ "path_prefix": "/imap", "mode": "app_password", "scope": "imap" }, { "mode": "app_password" }],
        "app_passwords": { "remote": { "cluster": "mfa_server" }, "cache_ttl_secs": 5 },
        "throttle": { "max_failures": 3 }
    })
}

#[test]
fn remote_verification_follows_the_contract() {
    let w = world();
    let g = gate(&remote_config());
    let (store, m) = (Store::default(), Counts::default());
    let auth = basic("alice@example.com", &w.alice_pw);
    let r = req("GET", "/imap/x", &[("authorization", &auth)]);
    let Decision::Call(call) = g.decide(&r, NOW, &store, &m) else {
        panic!("expected a call")
    };
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["user"], "alice@example.com");
    assert_eq!(body["scope"], "imap");
    assert_eq!(
        body["password"].as_str().unwrap(),
        w.alice_pw.replace('-', "")
    );
    assert!(!format!("{:?}", call.pending).contains(&w.alice_pw[..9]));

    let answer = Answer::Verified {
        user: "alice@example.com".into(),
        id: w.alice_cred.id.clone(),
    };
    let d = g.finish_call(call.pending, answer, NOW, &store, &m);
    assert_eq!(
        edit(&d, "x-mfa-app-password-id"),
        Some(Some(w.alice_cred.id.as_str()))
    );
    // Cached for 5 s: no call.
    assert!(matches!(
        g.decide(&r, NOW + 4, &store, &m),
        Decision::Continue(_)
    ));
    assert!(matches!(
        g.decide(&r, NOW + 5, &store, &m),
        Decision::Call(_)
    ));

    // Malformed: no call at all.
    let bad = req(
        "GET",
        "/",
        &[("authorization", &basic("alice@example.com", "password1"))],
    );
    assert_eq!(
        code(&g.decide(&bad, NOW, &store, &m)),
        "malformed_app_password"
    );

    let next = |user: &str| {
        let auth = basic(user, &w.bob_pw);
        match g.decide(
            &req("GET", "/", &[("authorization", &auth)]),
            NOW,
            &store,
            &m,
        ) {
            Decision::Call(c) => c.pending,
            other => panic!("{other:?}"),
        }
    };
    let d = g.finish_call(
        next("bob@example.com"),
        Answer::Rejected {
            code: "app_password_revoked".into(),
        },
        NOW,
        &store,
        &m,
    );
    assert_eq!((status(&d), code(&d)), (401, "app_password_revoked".into()));
    let d = g.finish_call(next("bob@example.com"), Answer::OutOfScope, NOW, &store, &m);
    assert_eq!(status(&d), 403);
    let d = g.finish_call(
        next("carol@example.com"),
        Answer::Throttled { retry_after: 9 },
        NOW,
        &store,
        &m,
    );
    assert_eq!((status(&d), header(&d, "retry-after")), (429, Some("9")));
    let d = g.finish_call(
        next("carol@example.com"),
        Answer::Unavailable {
            why: "timeout".into(),
        },
        NOW,
        &store,
        &m,
    );
    assert_eq!((status(&d), code(&d)), (503, "verifier_unavailable".into()));
    assert_eq!(m.of(Event::CalloutFailure), 1);
    let d = g.finish_call(
        next("carol@example.com"),
        Answer::Verified {
            user: "carol\r\nx-evil: 1".into(),
            id: "abcd".into(),
        },
        NOW,
        &store,
        &m,
    );
    assert_eq!(
        status(&d),
        503,
        "a user name that cannot be a header value is refused"
    );

    // The malformed one and two wrong answers block the address (max_failures 3).
    for _ in 0..2 {
        let d = g.finish_call(
            next("dave@example.com"),
            Answer::Rejected {
                code: "wrong_app_password".into(),
            },
            NOW,
            &store,
            &m,
        );
        assert_eq!(code(&d), "wrong_app_password");
    }
    let d = g.decide(
        &req("GET", "/", &[("authorization", &auth)]),
        NOW,
        &store,
        &m,
    );
    assert_eq!(status(&d), 429);
}

#[test]
fn the_gateway_token_is_checked_and_never_shown() {
    let secret = "gw-token-0123456789-abcdef";
    let mut c = remote_config();
    c["app_passwords"]["remote"]["gateway_token"] = json!(secret);
    let parsed = Config::parse(c.to_string().as_bytes()).expect("a valid gateway token");
    let Some(AppPasswords {
        source: AppPasswordSource::Remote(remote),
        ..
    }) = &parsed.app_passwords
    else {
        panic!("remote mode expected");
    };
    assert_eq!(
        remote.gateway_token.as_ref().map(|t| t.expose()),
        Some(secret)
    );
    assert!(
        !format!("{parsed:?}").contains(secret),
        "the token never appears in Debug output"
    );

    for bad in [
        "short",
        "has a space in it 0123456789",
        "tab\there-0123456789",
    ] {
        let mut c = remote_config();
        c["app_passwords"]["remote"]["gateway_token"] = json!(bad);
        let msg = config_error(c);
        assert!(
            msg.contains("`app_passwords.remote.gateway_token`"),
            "{msg}"
        );
        assert!(
            !msg.contains(bad),
            "the message does not quote the token: {msg}"
        );
    }
}

/// Security review item 11: behind the filter, an upstream in trusted-header
/// mode believes `x-remote-user`. A client that sends its own (to be someone
/// else upstream) has it removed on every route, public ones too, and also
/// when its own credential decided; a bad header name is a configuration error.
#[test]
fn the_upstreams_trusted_user_header_is_stripped_on_every_route() {
    let w = world();
    let (store, m) = (Store::default(), Counts::default());
    let mut c = inline_config(&w);
    c["strip_request_headers"] = json!(["X-Remote-User"]);
    let g = gate(&c);
    let forged = ("x-remote-user", "admin@example.com");
    let d = g.decide(&req("GET", "/public/x", &[forged]), NOW, &store, &m);
    assert_eq!(edit(&d, "x-remote-user"), Some(None), "public route");
    let valid = session_token(&w.engine, &w.alice, NOW);
    let cookie = format!("mfa_session={valid}");
    let d = g.decide(
        &req("GET", "/web/x", &[("cookie", cookie.as_str()), forged]),
        NOW,
        &store,
        &m,
    );
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
    assert_eq!(edit(&d, "x-remote-user"), Some(None), "session route");
    let mut r = basic_on("bob@example.com", &w.bob_pw, "mail.example.com");
    r.headers
        .push(("x-remote-user", "admin@example.com".into()));
    let d = g.decide(&r, NOW, &store, &m);
    assert_eq!(edit(&d, "x-remote-user"), Some(None), "app-password route");
    // Without the setting the filter leaves other headers alone.
    let d = gate(&inline_config(&w)).decide(&req("GET", "/public/x", &[forged]), NOW, &store, &m);
    assert_eq!(edit(&d, "x-remote-user"), None);
    let mut bad = inline_config(&w);
    bad["strip_request_headers"] = json!(["x remote user"]);
    assert!(config_error(bad).contains("strip_request_headers"));
}

// ----- session revocations (security item 2) -----------------------------------

fn revocations_config(w: &World) -> serde_json::Value {
    let mut c = inline_config(w);
    c["session"]["revocations"] = json!({
        "cluster": "mfa_server",
        "gateway_token": "gateway-token-0123456789",
        "refresh_secs": 5,
        "max_age_secs": 30
    });
    c
}

fn feed(epochs: serde_json::Value) -> Vec<u8> {
    json!({ "issued_at": NOW, "epochs": epochs })
        .to_string()
        .into_bytes()
}

#[test]
fn a_revoked_session_is_refused_at_the_gateway_from_the_next_feed_on() {
    let w = world();
    let g = gate(&revocations_config(&w));
    let (store, m) = (Store::default(), Counts::default());
    let token = session_token(&w.engine, &w.alice, NOW);
    let cookie = format!("mfa_session={token}");
    let web = |at: u64| {
        g.decide(
            &req("GET", "/web/x", &[("cookie", &cookie)]),
            at,
            &store,
            &m,
        )
    };

    // No feed yet: the gateway cannot know, so it refuses (fails closed).
    let d = web(NOW);
    assert_eq!(
        (status(&d), code(&d)),
        (503, "revocations_unavailable".into())
    );
    assert_eq!(header(&d, "retry-after"), Some("5"));

    // The host fetches when the gate says so, at most every `refresh_secs`.
    let due = g
        .revocations_due(NOW)
        .expect("the first fetch is due at once");
    assert_eq!(due.remote.path, "/.well-known/mfa-revocations.json");
    assert!(g.revocations_due(NOW + 4).is_none());
    assert_eq!(
        g.revocations_fetched(Some(200), &feed(json!({})), NOW),
        Ok(0)
    );
    assert_eq!(
        edit(&web(NOW + 1), "x-mfa-user"),
        Some(Some("alice@example.com"))
    );

    // An admin resets alice: the next feed lists her new epoch, and her old
    // session — verified and cached a moment ago — is refused.
    assert!(g.revocations_due(NOW + 5).is_some());
    let revoked = feed(json!({ "alice@example.com": 1 }));
    assert_eq!(g.revocations_fetched(Some(200), &revoked, NOW + 5), Ok(1));
    let d = web(NOW + 6);
    assert_eq!((status(&d), code(&d)), (401, "session_revoked".into()));
    assert_eq!(m.of(Event::Denied(Denial::SessionRevoked)), 1);
    // A browser is sent to sign in again.
    let d = g.decide(
        &req(
            "GET",
            "/web/x",
            &[("cookie", &cookie), ("accept", "text/html")],
        ),
        NOW + 6,
        &store,
        &m,
    );
    assert_eq!(status(&d), 302);

    // Another user's session is untouched.
    let bob = session_token(&w.engine, &UserRecord::new("bob@example.com", NOW), NOW);
    let bob_cookie = format!("mfa_session={bob}");
    let d = g.decide(
        &req("GET", "/web/x", &[("cookie", &bob_cookie)]),
        NOW + 6,
        &store,
        &m,
    );
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("bob@example.com")));

    // A server that stops answering cannot keep old feeds in force: an
    // answer that is not a feed is not taken, and past `max_age_secs` every
    // session is refused until a fresh feed arrives.
    for (status_code, body) in [
        (Some(500), feed(json!({}))),
        (None, Vec::new()),
        (Some(200), b"{\"issued_at\": 1, \"epochs\": [1]}".to_vec()),
        (Some(200), vec![0xff, 0xfe]),
    ] {
        assert!(g.revocations_fetched(status_code, &body, NOW + 20).is_err());
    }
    let d = g.decide(
        &req("GET", "/web/x", &[("cookie", &bob_cookie)]),
        NOW + 35,
        &store,
        &m,
    );
    assert_eq!(
        edit(&d, "x-mfa-user"),
        Some(Some("bob@example.com")),
        "the feed of NOW+5 is 30 s old"
    );
    let d = g.decide(
        &req("GET", "/web/x", &[("cookie", &bob_cookie)]),
        NOW + 36,
        &store,
        &m,
    );
    assert_eq!(
        (status(&d), code(&d)),
        (503, "revocations_unavailable".into())
    );

    // App passwords do not depend on the feed.
    let d = g.decide(
        &basic_on("alice@example.com", &w.alice_pw, "open.example.com"),
        NOW + 36,
        &store,
        &m,
    );
    assert_eq!(edit(&d, "x-mfa-user"), Some(Some("alice@example.com")));
}

#[test]
fn revocation_feed_settings_are_checked() {
    let w = world();
    let mut c = revocations_config(&w);
    c["session"]["revocations"]["max_age_secs"] = json!(9);
    assert!(config_error(c).contains("session.revocations.max_age_secs"));
    let mut c = revocations_config(&w);
    c["session"]["revocations"]["refresh_secs"] = json!(0);
    assert!(config_error(c).contains("session.revocations.refresh_secs"));
    let mut c = revocations_config(&w);
    c["session"]["revocations"]["gateway_token"] = json!("short");
    let e = config_error(c);
    assert!(
        e.contains("session.revocations.gateway_token") && !e.contains("short"),
        "{e}"
    );
    let mut c = revocations_config(&w);
    c["session"]["revocations"]["path"] = json!("no-slash");
    assert!(config_error(c).contains("session.revocations.path"));
}
