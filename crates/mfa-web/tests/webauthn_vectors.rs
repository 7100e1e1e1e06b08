//! The WebAuthn Level 3 specification's test vectors
//! (`tests/vectors/webauthn-l3.json`) replayed in the browser build, under
//! `wasm-bindgen-test-runner` (Node): every registration the engine supports
//! verifies with the same credential, key, AAGUID and algorithm as natively
//! (`crates/mfa-core/tests/webauthn.rs`), its assertion verifies with the
//! stored key, and the formats and algorithms the engine does not take are
//! refused with the same typed errors.
//!
//! ```text
//! cargo test -p mfa-web --target wasm32-unknown-unknown --test webauthn_vectors
//! ```
#![cfg(target_arch = "wasm32")]

use mfa_core::webauthn::{
    self, AssertionResponse, AttestationType, Ceremony, CeremonyPolicy, RegistrationResponse,
    RelyingParty, StoredCredential, UserVerification, WebauthnError,
};
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const VECTORS: &str = include_str!("../../../tests/vectors/webauthn-l3.json");
const NOW: u64 = 1_780_000_000;

fn hex(v: &Value, key: &str) -> Vec<u8> {
    let s = v[key].as_str().unwrap_or_else(|| panic!("{key} missing"));
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(s.as_bytes())
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn rp(top_origin: bool) -> RelyingParty {
    let mut rp = RelyingParty::new("example.org", "Example", &["https://example.org"]).unwrap();
    if top_origin {
        rp.top_origins = vec!["https://example.com".into()];
    }
    rp
}

#[wasm_bindgen_test]
fn the_specification_vectors_verify_in_the_browser_build() {
    let all: Value = serde_json::from_str(VECTORS).unwrap();
    let assertions = all["assertions"].as_array().unwrap();
    let policy = CeremonyPolicy::default();
    let (mut verified, mut refused) = (0, 0);
    for reg in all["registrations"].as_array().unwrap() {
        let name = reg["name"].as_str().unwrap();
        let rp = rp(reg["top_origin"].is_string());
        let ceremony = Ceremony::recorded_registration(
            &hex(reg, "challenge_hex"),
            NOW + 60,
            UserVerification::Preferred,
        );
        let response = RegistrationResponse {
            credential_id: hex(reg, "credential_id_hex"),
            client_data_json: hex(reg, "client_data_json_hex"),
            attestation_object: hex(reg, "attestation_object_hex"),
            transports: vec![],
        };
        let result = webauthn::finish_registration(&rp, &ceremony, &policy, &[], &response, NOW);
        let (alg, fmt) = (reg["alg"].as_i64().unwrap(), reg["fmt"].as_str().unwrap());
        let expected = match (alg, fmt) {
            (-35 | -36 | -53, _) => Some(WebauthnError::UnsupportedAlgorithm { alg }),
            (_, "tpm" | "android-key" | "apple" | "fido-u2f") => {
                Some(WebauthnError::UnsupportedAttestation { fmt: fmt.into() })
            }
            _ if name == "none-es256-crossOrigin" => Some(WebauthnError::CrossOriginNotAllowed),
            _ => None,
        };
        let cred = match (result, expected) {
            (Err(e), Some(want)) => {
                assert_eq!(e, want, "{name}");
                refused += 1;
                continue;
            }
            (Ok(cred), None) => cred,
            (got, want) => panic!("{name}: got {got:?}, expected {want:?}"),
        };
        assert_eq!(cred.credential_id, hex(reg, "credential_id_hex"), "{name}");
        assert_eq!(
            cred.public_key,
            hex(reg, "credential_public_key_cose_hex"),
            "{name}"
        );
        assert_eq!(cred.aaguid.to_vec(), hex(reg, "aaguid_hex"), "{name}");
        assert_eq!(cred.algorithm.id(), alg, "{name}");
        let kind = match (fmt, reg["x5c_len"].as_u64().unwrap()) {
            ("none", _) => AttestationType::None,
            ("packed", 0) => AttestationType::SelfAttested,
            _ => AttestationType::Basic,
        };
        assert_eq!(cred.attestation, kind, "{name}");

        let a = assertions
            .iter()
            .find(|a| a["name"] == format!("{name}.assertion"))
            .unwrap_or_else(|| panic!("no assertion for {name}"));
        let id = hex(a, "credential_id_hex");
        let ceremony = Ceremony::recorded_authentication(
            &hex(a, "challenge_hex"),
            NOW + 60,
            UserVerification::Preferred,
            &[&id],
        );
        let response = AssertionResponse {
            credential_id: id,
            client_data_json: hex(a, "client_data_json_hex"),
            authenticator_data: hex(a, "authenticator_data_hex"),
            signature: hex(a, "signature_hex"),
            user_handle: None,
        };
        let stored = || StoredCredential {
            credential_id: &cred.credential_id,
            public_key: &cred.public_key,
            sign_count: cred.sign_count,
            user_handle: b"h",
            backup_eligible: cred.backup_eligible,
        };
        let ok = webauthn::finish_authentication(&rp, &ceremony, &policy, stored(), &response, NOW)
            .unwrap_or_else(|e| panic!("{name} assertion: {e}"));
        assert_eq!(
            ok.user_verified,
            hex(a, "authenticator_data_hex")[32] & 0x04 != 0,
            "{name}"
        );
        // A flipped bit of the signature is refused here too.
        let mut forged = response.clone();
        let last = forged.signature.len() - 1;
        forged.signature[last] ^= 1;
        assert!(
            webauthn::finish_authentication(&rp, &ceremony, &policy, stored(), &forged, NOW)
                .is_err(),
            "{name}: a forged signature"
        );
        verified += 1;
    }
    assert_eq!(
        verified, 7,
        "none, long credential id, topOrigin, packed self, packed x5c with ES256, RS256, EdDSA"
    );
    assert!(
        refused > 0,
        "the unsupported formats and algorithms are in the file"
    );
}
