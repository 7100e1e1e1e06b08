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

#[path = "../../../tests/support/webauthn_l3.rs"]
mod l3;

use l3::{LATER, NOW, hex};
use mfa_core::webauthn::{
    self, AssertionResponse, AttestationType, Ceremony, CeremonyPolicy, RegistrationResponse,
    RelyingParty, StoredCredential, UserVerification,
};
use wasm_bindgen_test::wasm_bindgen_test;

fn rp(framed: bool) -> RelyingParty {
    let mut rp = RelyingParty::new(l3::RP_ID, l3::RP_NAME, &[l3::ORIGIN]).unwrap();
    if framed {
        rp.top_origins = vec![l3::TOP_ORIGIN.into()];
    }
    rp
}

#[wasm_bindgen_test]
fn the_specification_vectors_verify_in_the_browser_build() {
    let all = l3::vectors();
    let policy = CeremonyPolicy::default();
    let (mut verified, mut refused) = (0, 0);
    for reg in all["registrations"].as_array().unwrap() {
        let name = reg["name"].as_str().unwrap();
        let rp = rp(l3::framed(reg));
        let ceremony = Ceremony::recorded_registration(
            &hex(reg, "challenge_hex"),
            LATER,
            UserVerification::Preferred,
        );
        let response = RegistrationResponse {
            credential_id: hex(reg, "credential_id_hex"),
            client_data_json: hex(reg, "client_data_json_hex"),
            attestation_object: hex(reg, "attestation_object_hex"),
            transports: vec![],
        };
        let result = webauthn::finish_registration(&rp, &ceremony, &policy, &[], &response, NOW);
        let cred = match (result, l3::expected_refusal(reg)) {
            (Err(e), Some(want)) => {
                assert_eq!(e.code(), want, "{name}: {e}");
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
        assert_eq!(cred.algorithm.id(), reg["alg"].as_i64().unwrap(), "{name}");
        let kind = match l3::attestation(reg) {
            "none" => AttestationType::None,
            "self_attested" => AttestationType::SelfAttested,
            _ => AttestationType::Basic,
        };
        assert_eq!(cred.attestation, kind, "{name}");

        let a = l3::assertion_of(&all, reg);
        let id = hex(a, "credential_id_hex");
        let ceremony = Ceremony::recorded_authentication(
            &hex(a, "challenge_hex"),
            LATER,
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
        assert_eq!(ok.user_verified, l3::user_verified(a), "{name}");
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
        verified,
        l3::SUPPORTED,
        "the registrations the engine accepts"
    );
    assert!(
        refused > 0,
        "the unsupported formats and algorithms are in the file"
    );
}
