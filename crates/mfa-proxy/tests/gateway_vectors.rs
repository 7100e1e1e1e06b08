//! The shared gateway vectors (`tests/vectors/gateway.json`) replayed through
//! the filter's decision, with inline credentials and a simulated clock. The
//! server's verify endpoint replays the same file
//! (`host-examples/server/tests/gateway_vectors.rs`): the two refuse and
//! throttle identically because both ask the engine's gateway rules.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::cell::RefCell;
use std::collections::HashMap;

use mfa_core::{Argon2Params, Engine, Keys, ParsedAppPassword, Policy, SeededRandom, UserRecord};
use mfa_proxy::cache::CacheKey;
use mfa_proxy::config::Config;
use mfa_proxy::gate::{Decision, Event, Facts, Gate, Metrics, SharedStore};
use serde_json::{Value, json};

const START: u64 = 1_800_000_000;

#[derive(Default)]
struct Store(RefCell<HashMap<String, (Vec<u8>, u32)>>);

impl SharedStore for Store {
    fn get(&self, key: &str) -> Option<(Vec<u8>, Option<u32>)> {
        self.0.borrow().get(key).map(|(v, c)| (v.clone(), Some(*c)))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        let mut data = self.0.borrow_mut();
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

struct NoMetrics;

impl Metrics for NoMetrics {
    fn count(&self, _: Event) {}
}

struct Req {
    headers: Vec<(&'static str, String)>,
    address: String,
}

impl Facts for Req {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }

    fn client_address(&self) -> Option<String> {
        Some(self.address.clone())
    }
}

/// A password with the same id that passes the format check but is not it.
fn wrong_but_well_formed(password: &str) -> String {
    let canonical: Vec<u8> = password.bytes().filter(|b| *b != b'-').collect();
    const SYMBOLS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    for a in SYMBOLS {
        for b in SYMBOLS {
            let mut c = canonical.clone();
            c[10] = *a;
            c[29] = *b;
            if c != canonical {
                let s = String::from_utf8(c).unwrap();
                if ParsedAppPassword::parse(&s).is_ok() {
                    return s;
                }
            }
        }
    }
    panic!("no well-formed variant");
}

/// A well-formed app password with an id nobody has.
fn unknown_id() -> String {
    const SYMBOLS: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    for a in SYMBOLS {
        for b in SYMBOLS {
            let s = format!("zzzz{}{}{}", "k".repeat(26), *a as char, *b as char);
            if ParsedAppPassword::parse(&s).is_ok() {
                return s;
            }
        }
    }
    panic!("no well-formed password");
}

#[test]
fn the_gateway_vectors_hold_at_the_filter() {
    let vectors: Value = serde_json::from_str(include_str!("../../../tests/vectors/gateway.json"))
        .expect("tests/vectors/gateway.json");
    let owner = vectors["owner"].as_str().unwrap();
    let mut rng = SeededRandom::new(b"gateway vectors");
    let policy = Policy {
        argon2: Argon2Params::INSECURE_FOR_TESTS,
        ..Policy::default()
    };
    let engine = Engine::new(policy, Keys::generate(&mut rng)).unwrap();
    let mut rec = UserRecord::new(owner, START);
    let new = engine
        .create_app_password(
            &mut rec,
            "Mail",
            &[],
            None,
            START,
            &mut rng,
            &mut Vec::new(),
        )
        .unwrap();
    let right = new.password.expose().to_string();
    let passwords = HashMap::from([
        ("right", right.clone()),
        ("wrong", wrong_but_well_formed(&right)),
        ("unknown", unknown_id()),
        ("malformed", "not-an-app-password".to_string()),
    ]);
    let config = json!({
        "routes": [{ "path_prefix": "/", "mode": "app_password" }],
        "app_passwords": { "credentials": [new.credential] },
        "throttle": vectors["throttle"],
    });
    let gate = Gate::new(
        Config::parse(config.to_string().as_bytes()).unwrap(),
        CacheKey::from_bytes(&[7; 32]).unwrap(),
    );
    let store = Store::default();
    for (i, step) in vectors["steps"].as_array().unwrap().iter().enumerate() {
        let pw = &passwords[step["password"].as_str().unwrap()];
        let user = step["user"].as_str().unwrap();
        let auth = format!(
            "Basic {}",
            data_encoding::BASE64.encode(format!("{user}:{pw}").as_bytes())
        );
        let r = Req {
            headers: vec![
                (":method", "GET".into()),
                (":path", "/mail".into()),
                (":authority", "mail.example.com".into()),
                ("authorization", auth),
            ],
            address: format!("{}:40000", step["address"].as_str().unwrap()),
        };
        let now = START + step["at"].as_u64().unwrap();
        let d = gate.decide(&r, now, &store, &NoMetrics);
        let want = step["status"].as_u64().unwrap();
        let at = format!("step {i}: {step}");
        match (&d, want) {
            (Decision::Continue(edits), 200) => {
                let user = edits
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "x-mfa-user")
                    .and_then(|(_, v)| v.clone());
                assert_eq!(user.as_deref(), step["user_is"].as_str(), "{at}");
            }
            (Decision::Respond(resp), _) => {
                assert_eq!(u64::from(resp.status), want, "{at}: {}", resp.body);
                if let Some(code) = step["code"].as_str() {
                    let body: Value = serde_json::from_str(&resp.body).unwrap();
                    assert_eq!(body["error"]["code"], code, "{at}");
                }
                if let Some(wait) = step["retry_after"].as_u64() {
                    let header = resp
                        .headers
                        .iter()
                        .find(|(k, _)| k == "retry-after")
                        .map(|(_, v)| v.as_str());
                    assert_eq!(header, Some(wait.to_string().as_str()), "{at}");
                }
            }
            (other, _) => panic!("{at}: {other:?}"),
        }
    }
}
