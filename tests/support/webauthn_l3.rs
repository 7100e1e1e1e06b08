//! The WebAuthn Level 3 specification's test vectors (`tests/vectors/webauthn-l3.json`)
//! and what the engine must answer for each, shared by the three replays:
//! natively (`crates/mfa-core/tests/webauthn.rs`), through the component
//! (`crates/mfa-host/tests/webauthn_vectors.rs`) and in the browser build
//! (`crates/mfa-web/tests/webauthn_vectors.rs`). Each replay sends the
//! vectors through its own surface and checks the answers against these.
#![allow(dead_code, reason = "each replay uses its own part")]

use serde_json::Value;

/// The vector file.
pub const VECTORS: &str = include_str!("../vectors/webauthn-l3.json");

/// The `now` of every replay, and the expiry of the recorded ceremonies.
pub const NOW: u64 = 1_780_000_000;
pub const LATER: u64 = NOW + 60;

/// The registrations the engine accepts: none, long credential id,
/// topOrigin, packed self, packed x5c with ES256, RS256, EdDSA.
pub const SUPPORTED: usize = 7;

pub fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("the vector file is JSON")
}

/// A hex field of a vector, as bytes.
pub fn hex(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key].as_str().unwrap_or_else(|| panic!("{key} missing"));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The relying party of the vectors: its id, name and origin, and the top
/// origin that frames the `topOrigin` case.
pub const RP_ID: &str = "example.org";
pub const RP_NAME: &str = "Example";
pub const ORIGIN: &str = "https://example.org";
pub const TOP_ORIGIN: &str = "https://example.com";

/// Whether the registration was made in a frame of `TOP_ORIGIN`.
pub fn framed(reg: &Value) -> bool {
    reg["top_origin"].is_string()
}

/// The check a registration must be refused with (`WebauthnError::code`),
/// or `None` when it must verify.
pub fn expected_refusal(reg: &Value) -> Option<&'static str> {
    match (reg["alg"].as_i64().unwrap(), reg["fmt"].as_str().unwrap()) {
        (-35 | -36 | -53, _) => Some("unsupported_algorithm"),
        (_, "tpm" | "android-key" | "apple" | "fido-u2f") => Some("unsupported_attestation"),
        // crossOrigin without a topOrigin: a frame of an unknown site.
        _ if reg["name"] == "none-es256-crossOrigin" => Some("cross_origin_not_allowed"),
        _ => None,
    }
}

/// How the vector's authenticator vouched for the key, without roots:
/// `none`, `self_attested` or `basic`.
pub fn attestation(reg: &Value) -> &'static str {
    match (
        reg["fmt"].as_str().unwrap(),
        reg["x5c_len"].as_u64().unwrap(),
    ) {
        ("none", _) => "none",
        ("packed", 0) => "self_attested",
        _ => "basic",
    }
}

/// The assertion made with a registration's key.
pub fn assertion_of<'a>(all: &'a Value, reg: &Value) -> &'a Value {
    let name = format!("{}.assertion", reg["name"].as_str().unwrap());
    all["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name.as_str())
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// Whether the assertion's authenticator data says the person was verified.
pub fn user_verified(assertion: &Value) -> bool {
    hex(assertion, "authenticator_data_hex")[32] & 0x04 != 0
}
