#![allow(
    dead_code,
    reason = "each test binary uses its own part of the authenticator"
)]
//! A software authenticator: CBOR, COSE keys, authenticator data and the
//! browser's JSON, made from the options the engine issues, for the passkey
//! tests (a real one is Chromium's virtual authenticator, in the browser tests).
use p256::ecdsa::signature::Signer as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn cbor_head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
    }
}

pub fn cbor_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        cbor_head(0, i as u64, out)
    } else {
        cbor_head(1, (-1 - i) as u64, out)
    }
}

pub fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len() as u64, out);
    out.extend_from_slice(b);
}

pub fn cbor_text(t: &str, out: &mut Vec<u8>) {
    cbor_head(3, t.len() as u64, out);
    out.extend_from_slice(t.as_bytes());
}

pub fn b64url(b: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(b)
}

pub enum Key {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256), 2048 bits.
    Rs256(Box<rsa::PrivateKey>),
}

/// A 2048-bit RSA key made for these tests only (PKCS#8 DER): making one
/// each run would take seconds.
const TEST_ONLY_RSA_2048: &[u8] = include_bytes!("test-only-rsa-2048.der");

/// The tests' RSA key.
pub fn rsa_key() -> rsa::PrivateKey {
    use rsa::pkcs8::DecodePrivateKey as _;
    rsa::PrivateKey::from_pkcs8_der(TEST_ONLY_RSA_2048).unwrap()
}

impl Key {
    pub fn cose(&self) -> Vec<u8> {
        let mut k = Vec::new();
        match self {
            Key::P256(sk) => {
                let point = sk.verifying_key().to_sec1_point(false);
                let point = point.as_bytes();
                cbor_head(5, 5, &mut k);
                for (label, v) in [(1, 2), (3, -7), (-1, 1)] {
                    cbor_int(label, &mut k);
                    cbor_int(v, &mut k);
                }
                cbor_int(-2, &mut k);
                cbor_bytes(&point[1..33], &mut k);
                cbor_int(-3, &mut k);
                cbor_bytes(&point[33..], &mut k);
            }
            Key::Ed25519(sk) => {
                cbor_head(5, 4, &mut k);
                for (label, v) in [(1, 1), (3, -8), (-1, 6)] {
                    cbor_int(label, &mut k);
                    cbor_int(v, &mut k);
                }
                cbor_int(-2, &mut k);
                cbor_bytes(sk.verifying_key().as_bytes(), &mut k);
            }
            Key::Rs256(sk) => {
                use rsa::traits::PublicKeyParts as _;
                cbor_head(5, 4, &mut k);
                for (label, v) in [(1, 3), (3, -257)] {
                    cbor_int(label, &mut k);
                    cbor_int(v, &mut k);
                }
                cbor_int(-1, &mut k);
                cbor_bytes(&sk.n_bytes(), &mut k);
                cbor_int(-2, &mut k);
                cbor_bytes(&sk.e_bytes(), &mut k);
            }
        }
        k
    }

    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Key::P256(sk) => {
                let sig: p256::ecdsa::Signature = sk.sign(msg);
                sig.to_der().as_bytes().to_vec()
            }
            Key::Ed25519(sk) => ed25519_dalek::Signer::sign(sk, msg).to_bytes().to_vec(),
            Key::Rs256(sk) => {
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new((**sk).clone());
                signer.sign(msg).to_vec()
            }
        }
    }
}

pub fn client_data(ty: &str, options: &Value, origin: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"type": ty, "challenge": options["challenge"], "origin": origin, "crossOrigin": false}))
        .unwrap()
}

pub fn auth_data(rp_id: &str, flags: u8, count: u32, attested: Option<(&[u8], &Key)>) -> Vec<u8> {
    let mut d = Sha256::digest(rp_id.as_bytes()).to_vec();
    d.push(flags | if attested.is_some() { 0x40 } else { 0 });
    d.extend(count.to_be_bytes());
    if let Some((id, key)) = attested {
        d.extend([0xaa; 16]);
        d.extend((id.len() as u16).to_be_bytes());
        d.extend_from_slice(id);
        d.extend(key.cose());
    }
    d
}

pub fn registration_json(id: &[u8], cdj: &[u8], auth: &[u8]) -> String {
    let mut obj = Vec::new();
    cbor_head(5, 3, &mut obj);
    cbor_text("fmt", &mut obj);
    cbor_text("none", &mut obj);
    cbor_text("attStmt", &mut obj);
    cbor_head(5, 0, &mut obj);
    cbor_text("authData", &mut obj);
    cbor_bytes(auth, &mut obj);
    serde_json::json!({
        "id": b64url(id), "rawId": b64url(id), "type": "public-key",
        "response": {"clientDataJSON": b64url(cdj), "attestationObject": b64url(&obj), "transports": ["internal", "hybrid"]},
        "authenticatorAttachment": "platform", "clientExtensionResults": {},
    })
    .to_string()
}

/// A passkey on a software authenticator: answers the engine's options as a
/// browser would, counting its signatures.
pub struct SoftKey {
    pub key: Key,
    pub id: Vec<u8>,
    pub counter: u32,
    /// Authenticator data flags: UP (0x01), UV (0x04), BE (0x08), BS (0x10).
    pub flags: u8,
    pub origin: String,
    pub rp_id: String,
}

impl SoftKey {
    /// An ES256 key (`seed` picks it) on `origin`, for the relying party `rp_id`.
    pub fn p256(seed: u8, rp_id: &str, origin: &str) -> Self {
        Self {
            key: Key::P256(p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap()),
            id: format!("soft key {seed}").into_bytes(),
            counter: 0,
            flags: 0x05,
            origin: origin.into(),
            rp_id: rp_id.into(),
        }
    }

    /// An EdDSA (Ed25519) key (`seed` picks it), otherwise as [`SoftKey::p256`].
    pub fn ed25519(seed: u8, rp_id: &str, origin: &str) -> Self {
        Self {
            key: Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])),
            id: format!("soft ed25519 key {seed}").into_bytes(),
            counter: 0,
            flags: 0x05,
            origin: origin.into(),
            rp_id: rp_id.into(),
        }
    }

    /// An RS256 key (the tests' one RSA key), otherwise as [`SoftKey::p256`].
    pub fn rs256(rp_id: &str, origin: &str) -> Self {
        Self {
            key: Key::Rs256(Box::new(rsa_key())),
            id: b"soft rs256 key".to_vec(),
            counter: 0,
            flags: 0x05,
            origin: origin.into(),
            rp_id: rp_id.into(),
        }
    }

    /// `RegistrationResponseJSON` for these creation options.
    pub fn create(&self, options_json: &str) -> String {
        let options: Value = serde_json::from_str(options_json).unwrap();
        let cdj = client_data("webauthn.create", &options, &self.origin);
        let ad = auth_data(
            &self.rp_id,
            self.flags,
            self.counter,
            Some((&self.id, &self.key)),
        );
        registration_json(&self.id, &cdj, &ad)
    }

    /// `AuthenticationResponseJSON` for these request options, the counter
    /// going up by one; `user_handle` as a discoverable credential sends it.
    pub fn get(&mut self, options_json: &str, user_handle: Option<&str>) -> String {
        self.counter += 1;
        self.get_with_count(options_json, self.counter, user_handle)
    }

    /// An assertion with the sign count `count` (a cloned key's older count).
    pub fn get_with_count(
        &self,
        options_json: &str,
        count: u32,
        user_handle: Option<&str>,
    ) -> String {
        let options: Value = serde_json::from_str(options_json).unwrap();
        let cdj = client_data("webauthn.get", &options, &self.origin);
        let ad = auth_data(&self.rp_id, self.flags, count, None);
        let mut signed = ad.clone();
        signed.extend(Sha256::digest(&cdj));
        let mut response = serde_json::json!({
            "clientDataJSON": b64url(&cdj), "authenticatorData": b64url(&ad),
            "signature": b64url(&self.key.sign(&signed)),
        });
        if let Some(h) = user_handle {
            response["userHandle"] = Value::from(h);
        }
        serde_json::json!({
            "id": b64url(&self.id), "rawId": b64url(&self.id), "type": "public-key",
            "response": response, "clientExtensionResults": {},
        })
        .to_string()
    }
}
