//! Replays the engine's vector file (`tests/vectors/engine.json`, format in
//! `tests/vectors/README.md`) through the browser bindings, under
//! `wasm-bindgen-test-runner` (Node): the page must get the answers native
//! `mfa-core` recorded, case by case.
//!
//! ```text
//! cargo test -p mfa-web --target wasm32-unknown-unknown --test vectors
//! ```
//!
//! Sections replayed, and through which binding:
//!
//! - `otpauth`: `parseOtpauth`. Its `manualKey` (base32 in groups of four) is
//!   decoded to `secret_hex`, and each warning sentence is read back to the
//!   tagged warning it describes.
//! - `app_password_parse`: `appPasswordId`; and `formatAppPassword`, whose
//!   output must be refused the same way or give the same id again.
//! - `phone`: `checkPhone` (its `e164`).
//! - `email`: `checkEmail`.
//!
//! Sections not replayed, because mfa-web has no binding for them:
//!
//! - `totp`, `totp_checks`, `hotp`: the page neither computes nor checks
//!   codes; the engine behind the server does (a phone clock that is off at
//!   registration comes back as its `clock_drift` refusal).
//! - `app_password_verify`: the page never holds gateway credentials or
//!   hashes; the gateway filter and the server check app passwords.
//! - `tokens`: the page does not verify MFA session or device tokens.
//!
//! Where the browser's answer differs from the recorded one by design, the
//! case is listed in [`DIFFERS`] with the browser's exact answer and why; it
//! is replayed like every other case and must give exactly that answer.
#![cfg(target_arch = "wasm32")]

use data_encoding::{BASE32_NOPAD, HEXLOWER};
use serde_json::{Value, json};
use wasm_bindgen::{JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const VECTORS: &str = include_str!("../../../tests/vectors/engine.json");

/// Sections this file replays.
const REPLAYED: &[&str] = &["otpauth", "app_password_parse", "phone", "email"];

/// Sections without a binding in mfa-web (see the top of this file).
const NOT_REPLAYED: &[&str] = &[
    "totp",
    "totp_checks",
    "hotp",
    "app_password_verify",
    "tokens",
];

/// A case whose browser answer differs from the recorded engine result.
struct Differs {
    section: &'static str,
    name: &'static str,
    /// The browser's exact answer, as JSON.
    browser: &'static str,
    why: &'static str,
}

const PHONE_PLUS: &str = "checkPhone reads a number starting with + as a whole international \
    number (PhoneNumber::parse_e164) and ignores the country code; PhoneNumber::parse, which \
    the file records, refuses the +";
const EMAIL_DOMAINS: &str = "checkEmail checks the syntax only and passes no organisation \
    domains to EmailAddress::parse (the server's policy refuses them), so an address at one \
    of the organisation's domains is accepted";
/// Every difference between the browser's answers and the file. Each entry
/// must name a case of the file and the browser's answer must not equal the
/// recorded one (else the entry is stale and fails the replay).
const DIFFERS: &[Differs] = &[
    Differs {
        section: "phone",
        name: "plus inside the number",
        browser: r#"{"ok": "+447700900123"}"#,
        why: PHONE_PLUS,
    },
    Differs {
        section: "email",
        name: "organisation domain",
        browser: r#"{"ok": "alice@contoso.com"}"#,
        why: EMAIL_DOMAINS,
    },
    Differs {
        section: "email",
        name: "organisation domain in capitals",
        browser: r#"{"ok": "alice@contoso.com"}"#,
        why: EMAIL_DOMAINS,
    },
    Differs {
        section: "email",
        name: "subdomain of the organisation",
        browser: r#"{"ok": "alice@mail.contoso.com"}"#,
        why: EMAIL_DOMAINS,
    },
    Differs {
        section: "email",
        name: "organisation domain written with @ and spaces",
        browser: r#"{"ok": "alice@fabrikam.com"}"#,
        why: EMAIL_DOMAINS,
    },
];

fn doc() -> Value {
    let doc: Value = serde_json::from_str(VECTORS).expect("the vector file is JSON");
    assert_eq!(doc["version"], 1, "unknown vector file version");
    doc
}

fn s<'a>(c: &'a Value, k: &str) -> &'a str {
    c[k].as_str()
        .unwrap_or_else(|| panic!("field {k} missing in {c}"))
}

/// `{"error": code}` from a binding's error: its message is `code: text`.
fn error(e: JsError) -> Value {
    let v: JsValue = e.into();
    let message: String = js_sys::Error::from(v).message().into();
    let (code, _) = message
        .split_once(": ")
        .unwrap_or_else(|| panic!("error without a code: {message}"));
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "error code is not snake_case: {message}"
    );
    json!({ "error": code })
}

fn outcome<T>(r: Result<T, JsError>, ok: impl FnOnce(T) -> Value) -> Value {
    match r {
        Ok(v) => json!({ "ok": ok(v) }),
        Err(e) => error(e),
    }
}

/// A binding's result as JavaScript sees it, through `JSON.stringify`.
fn js_json(v: &JsValue) -> Value {
    assert!(!v.is_undefined(), "a binding returned undefined");
    let text: String = js_sys::JSON::stringify(v).expect("JSON").into();
    serde_json::from_str(&text).expect("JSON.stringify gives JSON")
}

/// The browser's answer, keeping in an `ok` object only the fields the file records.
fn project(actual: Value, recorded: &Value) -> Value {
    match (actual.get("ok"), recorded.get("ok")) {
        (Some(a), Some(Value::Object(r))) => {
            let kept: serde_json::Map<String, Value> = r
                .keys()
                .filter_map(|k| a.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            json!({ "ok": kept })
        }
        _ => actual,
    }
}

/// One section's replay: counts the cases and the listed differences met.
struct Replay {
    section: &'static str,
    cases: usize,
    differs_met: usize,
}

impl Replay {
    fn new(section: &'static str) -> Self {
        assert!(REPLAYED.contains(&section), "{section} is not listed");
        Replay {
            section,
            cases: 0,
            differs_met: 0,
        }
    }

    /// Compares the browser's answer (`via`: the binding) with the recorded one.
    fn check(&mut self, name: &str, via: &str, recorded: &Value, actual: Value) {
        let section = self.section;
        let actual = project(actual, recorded);
        if let Some(d) = DIFFERS
            .iter()
            .find(|d| d.section == section && d.name == name)
        {
            let browser: Value = serde_json::from_str(d.browser).expect("DIFFERS holds JSON");
            assert_ne!(
                &browser, recorded,
                "{section}: {name}: listed in DIFFERS but the file records the same answer"
            );
            assert_eq!(
                actual, browser,
                "{section}: {name} ({via}): not the browser answer listed in DIFFERS (left: browser, right: DIFFERS; {})",
                d.why
            );
            self.differs_met += 1;
        } else {
            assert_eq!(
                &actual, recorded,
                "{section}: {name} ({via}): the browser's answer differs from the vector file (left: browser, right: file)"
            );
        }
    }

    /// Every case of the section was replayed, and every listed difference met.
    fn finish(self, doc: &Value, checks_per_case: usize) {
        let section = self.section;
        let in_file = doc[section].as_array().map_or(0, Vec::len);
        assert!(in_file > 0, "{section}: no cases in the vector file");
        assert_eq!(
            self.cases, in_file,
            "{section}: replayed {} of {in_file} cases",
            self.cases
        );
        let listed = DIFFERS.iter().filter(|d| d.section == section).count();
        assert_eq!(
            self.differs_met,
            listed * checks_per_case,
            "{section}: an entry of DIFFERS names no case of the file"
        );
    }
}

fn cases<'a>(doc: &'a Value, section: &str) -> &'a [Value] {
    doc[section]
        .as_array()
        .unwrap_or_else(|| panic!("section {section} missing"))
}

#[wasm_bindgen_test]
fn every_section_is_replayed_or_listed_as_without_binding() {
    let doc = doc();
    let mut in_file: Vec<&str> = doc
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "version")
        .collect();
    let mut known: Vec<&str> = REPLAYED.iter().chain(NOT_REPLAYED).copied().collect();
    in_file.sort_unstable();
    known.sort_unstable();
    assert_eq!(
        in_file, known,
        "a section of the vector file is neither replayed nor listed as without binding"
    );
}

/// A tagged warning from the sentence `parseOtpauth` shows for it.
fn warning_tag(text: &str) -> Value {
    if let Some(bits) = text
        .strip_prefix("The key has only ")
        .and_then(|r| r.strip_suffix(" bits; at least 128 are needed."))
        && let Ok(bits) = bits.parse::<u64>()
    {
        return json!({ "warning": "short_secret", "bits": bits });
    }
    if text == "The issuer in the label and the issuer parameter differ." {
        return json!({ "warning": "issuer_mismatch" });
    }
    if text == "No issuer: your app will show only the account name." {
        return json!({ "warning": "missing_issuer" });
    }
    if let Some(parameter) = text
        .strip_prefix("Some authenticator apps ignore the ")
        .and_then(|r| r.strip_suffix(" setting and will show wrong codes."))
    {
        return json!({ "warning": "often_ignored", "parameter": parameter });
    }
    if let Some(parameter) = text
        .strip_prefix("Unknown setting ")
        .and_then(|r| r.strip_suffix(" ignored."))
    {
        return json!({ "warning": "unknown_parameter", "parameter": parameter });
    }
    json!({ "warning": format!("no tag for the sentence {text:?}") })
}

/// `parseOtpauth`'s view in the file's shape: `manualKey` as `secret_hex`,
/// warning sentences as tags.
fn otpauth_fields(v: &JsValue) -> Value {
    let mut view = js_json(v);
    let o = view
        .as_object_mut()
        .expect("parseOtpauth returns an object");
    let manual = o.remove("manualKey").expect("manualKey");
    let manual = manual
        .as_str()
        .expect("manualKey is a string")
        .replace(' ', "");
    let secret = BASE32_NOPAD
        .decode(manual.as_bytes())
        .unwrap_or_else(|e| panic!("manualKey {manual} is not base32: {e}"));
    o.insert("secret_hex".into(), json!(HEXLOWER.encode(&secret)));
    let warnings: Vec<Value> = o["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| warning_tag(w.as_str().expect("a warning is a sentence")))
        .collect();
    o.insert("warnings".into(), json!(warnings));
    view
}

#[wasm_bindgen_test]
fn otpauth_uris_parse_as_recorded() {
    let doc = doc();
    let mut replay = Replay::new("otpauth");
    for c in cases(&doc, "otpauth") {
        let actual = outcome(mfa_web::parse_otpauth(s(c, "uri")), |v| otpauth_fields(&v));
        replay.check(s(c, "name"), "parseOtpauth", &c["result"], actual);
        replay.cases += 1;
    }
    replay.finish(&doc, 1);
}

#[wasm_bindgen_test]
fn app_passwords_parse_as_recorded() {
    let doc = doc();
    let mut replay = Replay::new("app_password_parse");
    for c in cases(&doc, "app_password_parse") {
        let (name, input) = (s(c, "name"), s(c, "input"));
        let id = outcome(mfa_web::app_password_id(input), |id| json!({ "id": id }));
        replay.check(name, "appPasswordId", &c["result"], id);
        // Formatting refuses what parsing refuses and keeps the password:
        // the grouped text has the same id.
        let formatted = match mfa_web::format_app_password(input, "-") {
            Ok(grouped) => outcome(mfa_web::app_password_id(&grouped), |id| json!({ "id": id })),
            Err(e) => error(e),
        };
        replay.check(name, "formatAppPassword", &c["result"], formatted);
        replay.cases += 1;
    }
    replay.finish(&doc, 2);
}

#[wasm_bindgen_test]
fn phone_numbers_check_as_recorded() {
    let doc = doc();
    let mut replay = Replay::new("phone");
    for c in cases(&doc, "phone") {
        let actual = outcome(
            mfa_web::check_phone(s(c, "country_code"), s(c, "national")),
            |v| js_json(&v)["e164"].clone(),
        );
        replay.check(s(c, "name"), "checkPhone", &c["result"], actual);
        replay.cases += 1;
    }
    replay.finish(&doc, 1);
}

#[wasm_bindgen_test]
fn email_addresses_check_as_recorded() {
    let doc = doc();
    let mut replay = Replay::new("email");
    for c in cases(&doc, "email") {
        // checkEmail takes no organisation domains: see DIFFERS.
        let actual = outcome(mfa_web::check_email(s(c, "address")), |a| json!(a));
        replay.check(s(c, "name"), "checkEmail", &c["result"], actual);
        replay.cases += 1;
    }
    replay.finish(&doc, 1);
}
