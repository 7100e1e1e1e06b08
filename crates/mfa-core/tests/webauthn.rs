//! Passkeys: the WebAuthn Level 3 specification's test vectors
//! (`tests/vectors/webauthn-l3.json`, copied from w3c/webauthn index.bs,
//! "Test Vectors") verify in the engine, and every attack a relying party
//! must refuse is refused with its own typed error: another challenge, a
//! page of another site, a frame of another site, another relying party id,
//! a forged signature, an expired ceremony, a copied key's sign count, a
//! second registration of one key, an authenticator model not on the list,
//! an untrusted attestation certificate, missing user verification.
#![cfg(feature = "webauthn")]

mod common;

use common::authenticator::{Key, auth_data, b64url, client_data, registration_json};

use mfa_core::SeededRandom;
use mfa_core::webauthn::{
    self, AssertionResponse, AttestationType, Ceremony, CeremonyPolicy, CoseAlgorithm,
    CounterPolicy, CredentialDescriptor, NewCredential, RegistrationResponse, RelyingParty,
    StoredCredential, User, UserVerification, WebauthnError,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[path = "../../../tests/support/webauthn_l3.rs"]
mod l3;

use l3::{LATER, NOW, hex, vectors};

fn example_org() -> RelyingParty {
    RelyingParty::new(l3::RP_ID, l3::RP_NAME, &[l3::ORIGIN]).unwrap()
}

fn registration(v: &Value) -> (Ceremony, RegistrationResponse) {
    let ceremony = Ceremony::recorded_registration(
        &hex(v, "challenge_hex"),
        LATER,
        UserVerification::Preferred,
    );
    let response = RegistrationResponse {
        credential_id: hex(v, "credential_id_hex"),
        client_data_json: hex(v, "client_data_json_hex"),
        attestation_object: hex(v, "attestation_object_hex"),
        transports: vec![],
    };
    (ceremony, response)
}

fn assertion(v: &Value, uv: UserVerification) -> (Ceremony, AssertionResponse) {
    let id = hex(v, "credential_id_hex");
    let ceremony = Ceremony::recorded_authentication(&hex(v, "challenge_hex"), LATER, uv, &[&id]);
    let response = AssertionResponse {
        credential_id: id,
        client_data_json: hex(v, "client_data_json_hex"),
        authenticator_data: hex(v, "authenticator_data_hex"),
        signature: hex(v, "signature_hex"),
        user_handle: None,
    };
    (ceremony, response)
}

fn stored<'a>(c: &'a NewCredential, handle: &'a [u8]) -> StoredCredential<'a> {
    StoredCredential {
        credential_id: &c.credential_id,
        public_key: &c.public_key,
        sign_count: c.sign_count,
        user_handle: handle,
        backup_eligible: c.backup_eligible,
    }
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

/// Register the named vector with `rp` and `policy` (attestation roots from `roots`).
fn register(name: &str, rp: &RelyingParty) -> Result<NewCredential, WebauthnError> {
    let all = vectors();
    let (c, r) = registration(find(&all["registrations"], name));
    webauthn::finish_registration(rp, &c, &CeremonyPolicy::default(), &[], &r, NOW)
}

#[test]
fn the_specification_vectors_verify() {
    let all = vectors();
    let rp = example_org();
    let mut top = example_org();
    top.top_origins = vec![l3::TOP_ORIGIN.into()];
    let mut verified = 0;
    for reg in all["registrations"].as_array().unwrap() {
        let name = reg["name"].as_str().unwrap();
        let rp = if l3::framed(reg) { &top } else { &rp };
        let (c, r) = registration(reg);
        let result =
            webauthn::finish_registration(rp, &c, &CeremonyPolicy::default(), &[], &r, NOW);
        match (result, l3::expected_refusal(reg)) {
            (Ok(cred), None) => {
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
                // Its assertion verifies with the stored key.
                let a = l3::assertion_of(&all, reg);
                let (ac, ar) = assertion(a, UserVerification::Preferred);
                let ok = webauthn::finish_authentication(
                    rp,
                    &ac,
                    &CeremonyPolicy::default(),
                    stored(&cred, b"h"),
                    &ar,
                    NOW,
                )
                .unwrap_or_else(|e| panic!("{name} assertion: {e}"));
                assert_eq!(ok.user_verified, l3::user_verified(a), "{name}");
                assert!(!ok.counter_regressed, "{name}: both counts are 0");
                verified += 1;
            }
            (Err(e), Some(want)) => assert_eq!(e.code(), want, "{name}: {e}"),
            (got, want) => panic!("{name}: got {got:?}, expected {want:?}"),
        }
    }
    assert_eq!(
        verified,
        l3::SUPPORTED,
        "the registrations the engine accepts"
    );
}

#[test]
fn packed_certificates_chain_to_the_configured_root() {
    let all = vectors();
    let mut rp = example_org();
    rp.attestation_roots = vec![hex(&all, "attestation_ca_cert_hex")];
    for name in ["packed-es256", "packed-rs256", "packed-eddsa"] {
        assert_eq!(
            register(name, &rp).unwrap().attestation,
            AttestationType::Trusted,
            "{name}"
        );
    }
    // With a root configured, keys without a certificate are refused.
    assert_eq!(
        register("none-es256", &rp).unwrap_err(),
        WebauthnError::UntrustedAttestation
    );
    assert_eq!(
        register("packed-self-es256", &rp).unwrap_err(),
        WebauthnError::UntrustedAttestation
    );
    // A root of another maker: the chain does not hold.
    let mut other = example_org();
    other.attestation_roots = vec![leaf_certificate(&all, "packed-es256")];
    assert_eq!(
        register("packed-rs256", &other).unwrap_err(),
        WebauthnError::UntrustedAttestation
    );
    // The certificates are valid only from 2024: a clock before that is refused.
    let (_, r) = registration(find(&all["registrations"], "packed-es256"));
    let early = 1_600_000_000; // 2020
    let c = Ceremony::recorded_registration(
        &hex(find(&all["registrations"], "packed-es256"), "challenge_hex"),
        early + 1,
        UserVerification::Preferred,
    );
    assert_eq!(c.expires_at(), early + 1);
    let err = webauthn::finish_registration(&rp, &c, &CeremonyPolicy::default(), &[], &r, early)
        .unwrap_err();
    assert!(
        matches!(
            err,
            WebauthnError::InvalidAttestation { .. } | WebauthnError::UntrustedAttestation
        ),
        "{err}"
    );
}

/// x5c[0] of a registration vector, read out of its attestation object.
fn leaf_certificate(all: &Value, name: &str) -> Vec<u8> {
    let obj = hex(find(&all["registrations"], name), "attestation_object_hex");
    // The certificate is the only DER SEQUENCE (30 82 …) in the object.
    let at = obj.windows(2).position(|w| w == [0x30, 0x82]).unwrap();
    let len = usize::from(u16::from_be_bytes([obj[at + 2], obj[at + 3]]));
    obj[at..at + 4 + len].to_vec()
}

#[test]
fn attacks_on_a_registration_are_refused() {
    let all = vectors();
    let reg = find(&all["registrations"], "packed-self-es256");
    let rp = example_org();
    let policy = CeremonyPolicy::default();
    let finish =
        |rp: &RelyingParty,
         c: &Ceremony,
         r: &RegistrationResponse,
         policy: &CeremonyPolicy,
         registered: &[&[u8]],
         now| { webauthn::finish_registration(rp, c, policy, registered, r, now) };
    let (c, r) = registration(reg);
    assert!(finish(&rp, &c, &r, &policy, &[], NOW).is_ok());

    // A replayed response to another ceremony (another challenge).
    let other = Ceremony::recorded_registration(&[7; 32], LATER, UserVerification::Preferred);
    assert_eq!(
        finish(&rp, &other, &r, &policy, &[], NOW).unwrap_err(),
        WebauthnError::ChallengeMismatch
    );
    // Too late.
    assert_eq!(
        finish(&rp, &c, &r, &policy, &[], LATER + 1).unwrap_err(),
        WebauthnError::CeremonyExpired
    );
    // A look-alike site's page (its origin is not ours).
    let lookalike =
        RelyingParty::new("example.org", "Example", &["https://login.example.org"]).unwrap();
    assert_eq!(
        finish(&lookalike, &c, &r, &policy, &[], NOW).unwrap_err(),
        WebauthnError::OriginNotAllowed {
            origin: "https://example.org".into()
        }
    );
    // A key made for another relying party id.
    let mut other_rp = example_org();
    other_rp.id = "example.net".into();
    assert_eq!(
        finish(&other_rp, &c, &r, &policy, &[], NOW).unwrap_err(),
        WebauthnError::RpIdMismatch
    );
    // A forged statement: one bit of the signed authenticator data flipped.
    let mut forged = r.clone();
    let at = forged.attestation_object.len() - 1;
    forged.attestation_object[at] ^= 1;
    let err = finish(&rp, &c, &forged, &policy, &[], NOW).unwrap_err();
    assert!(
        matches!(
            err,
            WebauthnError::BadSignature | WebauthnError::InvalidKey { .. }
        ),
        "{err}"
    );
    // The credential id in rawId is not the one in the authenticator data.
    let mut swapped = r.clone();
    swapped.credential_id[0] ^= 1;
    assert!(matches!(
        finish(&rp, &c, &swapped, &policy, &[], NOW).unwrap_err(),
        WebauthnError::MalformedResponse { field: "rawId", .. }
    ));
    // The same key registered twice.
    assert_eq!(
        finish(&rp, &c, &r, &policy, &[&r.credential_id], NOW).unwrap_err(),
        WebauthnError::CredentialAlreadyRegistered
    );
    // Only the company's security keys.
    let only = CeremonyPolicy {
        allowed_aaguids: vec![[0x11; 16]],
        ..CeremonyPolicy::default()
    };
    assert_eq!(
        finish(&rp, &c, &r, &only, &[], NOW).unwrap_err(),
        WebauthnError::AuthenticatorNotAllowed
    );
    let aaguid: [u8; 16] = hex(reg, "aaguid_hex").try_into().unwrap();
    let listed = CeremonyPolicy {
        allowed_aaguids: vec![aaguid],
        ..CeremonyPolicy::default()
    };
    assert!(finish(&rp, &c, &r, &listed, &[], NOW).is_ok());
    // An algorithm the organisation turned off.
    let no_es256 = CeremonyPolicy {
        algorithms: vec![CoseAlgorithm::EdDsa],
        ..CeremonyPolicy::default()
    };
    assert_eq!(
        finish(&rp, &c, &r, &no_es256, &[], NOW).unwrap_err(),
        WebauthnError::UnsupportedAlgorithm { alg: -7 }
    );
    // An assertion's client data presented at registration.
    let a = find(&all["assertions"], "packed-self-es256.assertion");
    let mut get = r.clone();
    get.client_data_json = hex(a, "client_data_json_hex");
    let c_get = Ceremony::recorded_registration(
        &hex(a, "challenge_hex"),
        LATER,
        UserVerification::Preferred,
    );
    assert_eq!(
        finish(&rp, &c_get, &get, &policy, &[], NOW).unwrap_err(),
        WebauthnError::WrongCeremonyType {
            expected: "webauthn.create"
        }
    );
}

#[test]
fn attacks_on_an_assertion_are_refused() {
    let all = vectors();
    let rp = example_org();
    let cred = register("packed-es256", &rp).unwrap();
    let a = find(&all["assertions"], "packed-es256.assertion");
    let policy = CeremonyPolicy::default();
    let (c, r) = assertion(a, UserVerification::Preferred);
    let handle = b"user handle";
    let check = |c: &Ceremony, s: StoredCredential<'_>, r: &AssertionResponse, now: u64| {
        webauthn::finish_authentication(&rp, c, &policy, s, r, now)
    };
    let refuse =
        |c: &Ceremony, r: &AssertionResponse| check(c, stored(&cred, handle), r, NOW).unwrap_err();
    assert!(check(&c, stored(&cred, handle), &r, NOW).is_ok());

    // A forged signature.
    let mut forged = r.clone();
    let last = forged.signature.len() - 1;
    forged.signature[last] ^= 1;
    assert_eq!(refuse(&c, &forged), WebauthnError::BadSignature);
    // Tampered flags (UV claimed or dropped after the fact) break the signature.
    let mut flagged = r.clone();
    flagged.authenticator_data[32] ^= 0x04;
    assert_eq!(refuse(&c, &flagged), WebauthnError::BadSignature);
    // A stale ceremony.
    assert_eq!(
        check(&c, stored(&cred, handle), &r, LATER + 1).unwrap_err(),
        WebauthnError::CeremonyExpired
    );
    // Another user's passkey (a user handle that is not the user's).
    let mut theirs = r.clone();
    theirs.user_handle = Some(b"someone else".to_vec());
    assert_eq!(refuse(&c, &theirs), WebauthnError::UserHandleMismatch);
    // A credential not offered in this ceremony.
    let offered_other = Ceremony::recorded_authentication(
        &hex(a, "challenge_hex"),
        LATER,
        UserVerification::Preferred,
        &[b"another key"],
    );
    assert_eq!(refuse(&offered_other, &r), WebauthnError::UnknownCredential);
    // A discoverable sign-in needs the user handle.
    let discoverable = Ceremony::recorded_authentication(
        &hex(a, "challenge_hex"),
        LATER,
        UserVerification::Preferred,
        &[],
    );
    assert!(matches!(
        refuse(&discoverable, &r),
        WebauthnError::MalformedResponse {
            field: "userHandle",
            ..
        }
    ));
    // A registration ceremony's challenge is not a sign-in's.
    let create = Ceremony::recorded_registration(
        &hex(a, "challenge_hex"),
        LATER,
        UserVerification::Preferred,
    );
    assert!(matches!(
        refuse(&create, &r),
        WebauthnError::WrongCeremony {
            started_for: "registering a passkey"
        }
    ));
    // Backup eligibility never changes for a credential.
    let mut flipped = stored(&cred, handle);
    flipped.backup_eligible = !flipped.backup_eligible;
    assert_eq!(
        check(&c, flipped, &r, NOW).unwrap_err(),
        WebauthnError::InvalidBackupFlags
    );
}

#[test]
fn user_verification_is_enforced_when_required() {
    let all = vectors();
    let rp = example_org();
    // packed-rs256's assertion has UP but not UV (flags 0x19).
    let cred = register("packed-rs256", &rp).unwrap();
    let a = find(&all["assertions"], "packed-rs256.assertion");
    let (c, r) = assertion(a, UserVerification::Required);
    assert_eq!(
        webauthn::finish_authentication(
            &rp,
            &c,
            &CeremonyPolicy::default(),
            stored(&cred, b"h"),
            &r,
            NOW
        )
        .unwrap_err(),
        WebauthnError::UserNotVerified
    );
    // packed-es256's has UV (0x0d).
    let cred = register("packed-es256", &rp).unwrap();
    let (c, r) = assertion(
        find(&all["assertions"], "packed-es256.assertion"),
        UserVerification::Required,
    );
    assert!(
        webauthn::finish_authentication(
            &rp,
            &c,
            &CeremonyPolicy::default(),
            stored(&cred, b"h"),
            &r,
            NOW
        )
        .unwrap()
        .user_verified
    );
}

#[test]
fn a_sign_count_that_goes_back_is_refused_or_audited() {
    let all = vectors();
    let rp = example_org();
    let cred = register("none-es256", &rp).unwrap();
    let (c, r) = assertion(
        find(&all["assertions"], "none-es256.assertion"),
        UserVerification::Preferred,
    );
    let mut seen = stored(&cred, b"h");
    seen.sign_count = 5; // the key said 5 last time; this assertion says 0
    assert_eq!(
        webauthn::finish_authentication(&rp, &c, &CeremonyPolicy::default(), seen, &r, NOW)
            .unwrap_err(),
        WebauthnError::SignCountRegressed {
            stored: 5,
            received: 0
        }
    );
    let audit = CeremonyPolicy {
        sign_count_regression: CounterPolicy::Audit,
        ..CeremonyPolicy::default()
    };
    let ok = webauthn::finish_authentication(&rp, &c, &audit, seen, &r, NOW).unwrap();
    assert!(ok.counter_regressed);
    assert_eq!(ok.sign_count, 5, "the stored count is kept");
}

#[test]
fn a_whole_ceremony_from_the_engines_options_with_p256_and_ed25519_keys() {
    let rp = RelyingParty::new("localhost", "Contoso", &["http://localhost:8080"]).unwrap();
    let policy = CeremonyPolicy {
        user_verification: UserVerification::Required,
        ..CeremonyPolicy::default()
    };
    let mut rng = SeededRandom::new(b"webauthn ceremony");
    let handle = [9u8; 32];
    let user = User {
        handle: &handle,
        name: "alice@example.com",
        display_name: "Alice",
    };
    for (name, key) in [
        (
            "p256",
            Key::P256(p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap()),
        ),
        (
            "ed25519",
            Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[0x24; 32])),
        ),
    ] {
        let existing = CredentialDescriptor {
            id: b"an older key".to_vec(),
            transports: vec!["usb".into()],
        };
        let (ceremony, options) =
            webauthn::start_registration(&rp, &policy, user, &[existing], NOW, &mut rng).unwrap();
        assert_eq!(options["rp"]["id"], "localhost");
        assert_eq!(options["user"]["id"], b64url(&handle));
        assert_eq!(
            options["excludeCredentials"][0]["id"],
            b64url(b"an older key")
        );
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert_eq!(
            options["authenticatorSelection"]["residentKey"],
            "preferred"
        );
        assert_eq!(options["attestation"], "none");
        let algs: Vec<i64> = options["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["alg"].as_i64().unwrap())
            .collect();
        assert_eq!(algs, [-7, -8, -257]);
        assert_eq!(
            data_encoding::BASE64URL_NOPAD
                .decode(options["challenge"].as_str().unwrap().as_bytes())
                .unwrap()
                .len(),
            32
        );
        assert!(
            !format!("{ceremony:?}").contains(options["challenge"].as_str().unwrap()),
            "Debug hides the challenge"
        );

        let id = format!("{name} credential").into_bytes();
        let cdj = client_data("webauthn.create", &options, "http://localhost:8080");
        // A key that did not verify the user: refused under `required`.
        let no_uv = registration_json(
            &id,
            &cdj,
            &auth_data("localhost", 0x01, 0, Some((&id, &key))),
        );
        let resp = RegistrationResponse::from_json(&no_uv).unwrap();
        assert_eq!(
            webauthn::finish_registration(&rp, &ceremony, &policy, &[], &resp, NOW).unwrap_err(),
            WebauthnError::UserNotVerified
        );
        let json = registration_json(
            &id,
            &cdj,
            &auth_data("localhost", 0x05 | 0x08 | 0x10, 0, Some((&id, &key))),
        );
        let resp = RegistrationResponse::from_json(&json).unwrap();
        let cred = webauthn::finish_registration(&rp, &ceremony, &policy, &[], &resp, NOW).unwrap();
        assert_eq!(cred.transports, ["internal", "hybrid"]);
        assert!(cred.user_verified && cred.backup_eligible && cred.backed_up);
        assert_eq!(cred.aaguid, [0xaa; 16]);
        assert!(
            !format!("{cred:?}").contains("credential"),
            "Debug shows no key or id: {cred:?}"
        );

        // Sign in without a user name: the passkey names the user by its handle.
        let (ceremony, options) = webauthn::start_authentication(&rp, &policy, &[], NOW, &mut rng);
        assert_eq!(options["rpId"], "localhost");
        assert_eq!(options["allowCredentials"], serde_json::json!([]));
        let mut count = 0;
        for _ in 0..2 {
            count += 1;
            let cdj = client_data("webauthn.get", &options, "http://localhost:8080");
            let ad = auth_data("localhost", 0x05 | 0x08 | 0x10, count, None);
            let mut signed = ad.clone();
            signed.extend(Sha256::digest(&cdj));
            let json = serde_json::json!({
                "id": b64url(&id), "rawId": b64url(&id), "type": "public-key",
                "response": {"clientDataJSON": b64url(&cdj), "authenticatorData": b64url(&ad),
                             "signature": b64url(&key.sign(&signed)), "userHandle": b64url(&handle)},
                "clientExtensionResults": {},
            })
            .to_string();
            let resp = AssertionResponse::from_json(&json).unwrap();
            let mut s = stored(&cred, &handle);
            s.sign_count = count - 1;
            let ok =
                webauthn::finish_authentication(&rp, &ceremony, &policy, s, &resp, NOW).unwrap();
            assert_eq!(ok.sign_count, count);
            assert!(ok.user_verified && !ok.counter_regressed);
        }
        // The page of another port on the same host is another origin.
        let cdj = client_data("webauthn.get", &options, "http://localhost:9090");
        let json = serde_json::json!({
            "id": b64url(&id), "rawId": b64url(&id), "type": "public-key",
            "response": {"clientDataJSON": b64url(&cdj), "authenticatorData": b64url(&auth_data("localhost", 0x05 | 0x08, 9, None)),
                         "signature": b64url(b"x"), "userHandle": b64url(&handle)},
        })
        .to_string();
        let resp = AssertionResponse::from_json(&json).unwrap();
        assert_eq!(
            webauthn::finish_authentication(
                &rp,
                &ceremony,
                &policy,
                stored(&cred, &handle),
                &resp,
                NOW
            )
            .unwrap_err(),
            WebauthnError::OriginNotAllowed {
                origin: "http://localhost:9090".into()
            }
        );
    }
}

#[test]
fn malformed_responses_get_typed_errors() {
    for (json, field) in [
        ("{", "credential"),
        (
            r#"{"id":"AA","rawId":"AA","type":"password","response":{"clientDataJSON":"","attestationObject":""}}"#,
            "type",
        ),
        (
            r#"{"id":"AB","rawId":"AA","type":"public-key","response":{"clientDataJSON":"","attestationObject":""}}"#,
            "id",
        ),
        (
            r#"{"id":"AA","rawId":"A!","type":"public-key","response":{"clientDataJSON":"","attestationObject":""}}"#,
            "rawId",
        ),
        (
            r#"{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"%%","attestationObject":""}}"#,
            "response.clientDataJSON",
        ),
    ] {
        match RegistrationResponse::from_json(json).unwrap_err() {
            WebauthnError::MalformedResponse { field: f, .. } => assert_eq!(f, field, "{json}"),
            other => panic!("{json}: {other}"),
        }
    }
    // Garbage attestation objects and client data are refused, never a panic.
    let rp = example_org();
    let c = Ceremony::recorded_registration(&[1; 32], LATER, UserVerification::Preferred);
    let cdj = serde_json::to_vec(&serde_json::json!({"type": "webauthn.create", "challenge": b64url(&[1; 32]), "origin": "https://example.org"})).unwrap();
    for obj in [
        vec![],
        vec![0xa0],
        vec![0xa1, 0x63, b'f', b'm', b't', 0x00],
        vec![0xff; 40],
    ] {
        let r = RegistrationResponse {
            credential_id: vec![1],
            client_data_json: cdj.clone(),
            attestation_object: obj,
            transports: vec![],
        };
        let err = webauthn::finish_registration(&rp, &c, &CeremonyPolicy::default(), &[], &r, NOW)
            .unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}
