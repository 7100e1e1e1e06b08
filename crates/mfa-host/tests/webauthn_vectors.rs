//! The WebAuthn Level 3 specification's test vectors
//! (`tests/vectors/webauthn-l3.json`) replayed through the component, as a
//! host sends what a browser sent (`RegistrationResponseJSON`,
//! `AuthenticationResponseJSON`): every registration the engine supports
//! verifies with the credential, key, AAGUID, algorithm and attestation type
//! the vector states, as natively (`crates/mfa-core/tests/webauthn.rs`) and in
//! the browser build (`crates/mfa-web/tests/webauthn_vectors.rs`); its
//! assertion verifies with the stored key and is refused with a flipped
//! signature bit, another challenge or an older sign count; the formats and
//! algorithms the engine does not take are refused with their own check.

mod common;

#[path = "../../../tests/support/webauthn_l3.rs"]
mod l3;

use common::{host_with, test_policy};
use data_encoding::BASE64URL_NOPAD;
use l3::{LATER, NOW, hex};
use mfa_host::Refusal;
use mfa_host::webauthn::{AttestationType, RecordedCeremony, RelyingParty, StoredCredential};
use serde_json::{Value, json};

fn b64(v: &Value, key: &str) -> String {
    BASE64URL_NOPAD.encode(&hex(v, key))
}

fn rp(framed: bool) -> RelyingParty {
    RelyingParty {
        id: l3::RP_ID.into(),
        name: l3::RP_NAME.into(),
        origins: vec![l3::ORIGIN.into()],
        top_origins: if framed {
            vec![l3::TOP_ORIGIN.into()]
        } else {
            vec![]
        },
    }
}

fn ceremony(v: &Value, allow: Vec<Vec<u8>>) -> RecordedCeremony {
    RecordedCeremony {
        challenge: hex(v, "challenge_hex"),
        expires_at: LATER,
        user_verification_required: false,
        allow,
    }
}

fn refusal(e: mfa_host::Error) -> String {
    match e {
        mfa_host::Error::Engine(e) => match e.reason() {
            Refusal::PasskeyRefused { check } => check.clone(),
            other => panic!("not a passkey refusal: {other:?}"),
        },
        other => panic!("a host failure: {other}"),
    }
}

#[test]
fn the_specification_vectors_verify_through_the_component() {
    let h = host_with(&test_policy(), b"webauthn vectors");
    let all = l3::vectors();
    let (mut verified, mut refused) = (0, 0);
    for reg in all["registrations"].as_array().unwrap() {
        let name = reg["name"].as_str().unwrap();
        let rp = rp(l3::framed(reg));
        let response = json!({
            "id": b64(reg, "credential_id_hex"), "rawId": b64(reg, "credential_id_hex"),
            "type": "public-key", "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(reg, "client_data_json_hex"),
                "attestationObject": b64(reg, "attestation_object_hex"),
            },
        })
        .to_string();
        let result = h.verify_passkey_registration(&rp, &ceremony(reg, vec![]), &response, NOW);
        let cred = match (result, l3::expected_refusal(reg)) {
            (Err(e), Some(want)) => {
                assert_eq!(refusal(e), want, "{name}");
                refused += 1;
                continue;
            }
            (Ok(cred), None) => cred,
            (Ok(_), Some(want)) => panic!("{name}: accepted, expected {want}"),
            (Err(e), None) => panic!("{name}: refused: {e}"),
        };
        assert_eq!(cred.credential_id, hex(reg, "credential_id_hex"), "{name}");
        assert_eq!(
            cred.public_key,
            hex(reg, "credential_public_key_cose_hex"),
            "{name}"
        );
        assert_eq!(cred.aaguid, hex(reg, "aaguid_hex"), "{name}");
        assert_eq!(cred.algorithm, reg["alg"].as_i64().unwrap(), "{name}");
        let kind = match l3::attestation(reg) {
            "none" => AttestationType::None,
            "self_attested" => AttestationType::SelfAttested,
            _ => AttestationType::Basic,
        };
        assert_eq!(cred.attestation, kind, "{name}");

        let a = l3::assertion_of(&all, reg);
        let id = hex(a, "credential_id_hex");
        let stored = StoredCredential {
            credential_id: cred.credential_id.clone(),
            public_key: cred.public_key.clone(),
            sign_count: cred.sign_count,
            user_handle: b"h".to_vec(),
            backup_eligible: cred.backup_eligible,
        };
        let answer = |signature: &str| {
            json!({
                "id": BASE64URL_NOPAD.encode(&id), "rawId": BASE64URL_NOPAD.encode(&id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(a, "client_data_json_hex"),
                    "authenticatorData": b64(a, "authenticator_data_hex"),
                    "signature": signature,
                },
            })
            .to_string()
        };
        let signature = hex(a, "signature_hex");
        let recorded = ceremony(a, vec![id.clone()]);
        let ok = h
            .verify_passkey_assertion(
                &rp,
                &recorded,
                &stored,
                &answer(&BASE64URL_NOPAD.encode(&signature)),
                NOW,
            )
            .unwrap_or_else(|e| panic!("{name} assertion: {e}"));
        assert_eq!(ok.user_verified, l3::user_verified(a), "{name}");
        // A flipped signature bit, another challenge, a stored count ahead.
        let mut forged = signature.clone();
        *forged.last_mut().unwrap() ^= 1;
        let r = h.verify_passkey_assertion(
            &rp,
            &recorded,
            &stored,
            &answer(&BASE64URL_NOPAD.encode(&forged)),
            NOW,
        );
        assert_eq!(refusal(r.unwrap_err()), "bad_signature", "{name}");
        let mut other = recorded.clone();
        other.challenge[0] ^= 1;
        let r = h.verify_passkey_assertion(
            &rp,
            &other,
            &stored,
            &answer(&BASE64URL_NOPAD.encode(&signature)),
            NOW,
        );
        assert_eq!(refusal(r.unwrap_err()), "challenge_mismatch", "{name}");
        let ahead = StoredCredential {
            sign_count: 1_000,
            ..stored.clone()
        };
        let r = h.verify_passkey_assertion(
            &rp,
            &recorded,
            &ahead,
            &answer(&BASE64URL_NOPAD.encode(&signature)),
            NOW,
        );
        assert_eq!(refusal(r.unwrap_err()), "sign_count_regressed", "{name}");
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
