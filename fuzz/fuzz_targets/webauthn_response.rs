//! Passkey responses from any bytes: the browser's JSON
//! (`RegistrationResponse::from_json`, `AssertionResponse::from_json`), any
//! attestation object (CBOR, COSE key, authenticator data, `packed`
//! certificates) through `finish_registration`, and any authenticator data,
//! COSE key and signature through `finish_authentication`: a typed error
//! with a message, or a result consistent with its input, never a panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_core::webauthn::{
    self, AssertionResponse, Ceremony, CeremonyPolicy, RegistrationResponse, RelyingParty,
    StoredCredential, UserVerification,
};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    json: &'a str,
    attestation_object: &'a [u8],
    authenticator_data: &'a [u8],
    public_key: &'a [u8],
    signature: &'a [u8],
    sign_count: u32,
    backup_eligible: bool,
    required_uv: bool,
}

const CHALLENGE: [u8; 32] = [7; 32];
const NOW: u64 = 1_780_000_000;

fn client_data(ty: &str) -> Vec<u8> {
    let challenge = data_encoding::BASE64URL_NOPAD.encode(&CHALLENGE);
    format!(r#"{{"type":"{ty}","challenge":"{challenge}","origin":"https://example.org"}}"#).into_bytes()
}

fuzz_target!(|input: Input<'_>| {
    for e in [
        RegistrationResponse::from_json(input.json).err(),
        AssertionResponse::from_json(input.json).err(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!e.to_string().is_empty());
    }
    let rp = RelyingParty::new("example.org", "Example", &["https://example.org"]).expect("valid");
    let policy = CeremonyPolicy::default();
    let uv = if input.required_uv { UserVerification::Required } else { UserVerification::Preferred };

    let create = Ceremony::recorded_registration(&CHALLENGE, NOW + 60, uv);
    let id = input.public_key.get(..16).unwrap_or(&[1]).to_vec();
    let reg = RegistrationResponse {
        credential_id: id.clone(),
        client_data_json: client_data("webauthn.create"),
        attestation_object: input.attestation_object.to_vec(),
        transports: vec![],
    };
    match webauthn::finish_registration(&rp, &create, &policy, &[], &reg, NOW) {
        Ok(cred) => {
            assert_eq!(cred.credential_id, id);
            assert!(!input.required_uv || cred.user_verified);
            assert!(cred.backup_eligible || !cred.backed_up);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }

    let get = Ceremony::recorded_authentication(&CHALLENGE, NOW + 60, uv, &[&id]);
    let assertion = AssertionResponse {
        credential_id: id.clone(),
        client_data_json: client_data("webauthn.get"),
        authenticator_data: input.authenticator_data.to_vec(),
        signature: input.signature.to_vec(),
        user_handle: None,
    };
    let stored = StoredCredential {
        credential_id: &id,
        public_key: input.public_key,
        sign_count: input.sign_count,
        user_handle: b"user",
        backup_eligible: input.backup_eligible,
    };
    match webauthn::finish_authentication(&rp, &get, &policy, stored, &assertion, NOW) {
        Ok(r) => assert!(r.sign_count > input.sign_count || (r.sign_count == 0 && input.sign_count == 0)),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
