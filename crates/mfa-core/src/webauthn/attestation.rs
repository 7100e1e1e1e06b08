//! The attestation object (WebAuthn §6.5) and its statement formats `none`
//! and `packed` (§8.2): self attestation, or an x5c certificate whose key
//! signed, optionally chained to roots the organisation trusts.
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::der::{self, Decode, Encode};

use super::WebauthnError;
use super::auth_data::AuthenticatorData;
use super::cbor::{self, Value};
use super::cose::{CoseAlgorithm, PublicKey};

/// How the authenticator vouched for its new credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationType {
    /// No attestation (`none`): the authenticator's make is not known.
    None,
    /// The credential signed its own creation (`packed` without a certificate).
    SelfAttested,
    /// An attestation certificate signed (`packed` with x5c), not checked against roots.
    Basic,
    /// An attestation certificate that chains to a configured root.
    Trusted,
}

/// The parts of an attestation object.
pub(crate) struct AttestationObject<'a> {
    pub(crate) fmt: &'a str,
    pub(crate) att_stmt: Value<'a>,
    pub(crate) auth_data: &'a [u8],
}

fn invalid(reason: &'static str) -> WebauthnError {
    WebauthnError::InvalidAttestation { reason }
}

impl<'a> AttestationObject<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, WebauthnError> {
        let v = cbor::decode(bytes)?;
        let fmt = v
            .get_text("fmt")
            .and_then(Value::as_text)
            .ok_or(invalid("fmt is missing"))?;
        let auth_data = v
            .get_text("authData")
            .and_then(Value::as_bytes)
            .ok_or(invalid("authData is missing"))?;
        let att_stmt = v
            .get_text("attStmt")
            .filter(|s| matches!(s, Value::Map(_)))
            .cloned()
            .ok_or(invalid("attStmt is missing"))?;
        Ok(Self {
            fmt,
            att_stmt,
            auth_data,
        })
    }
}

/// Verify the statement over `auth_data || client_data_hash` (§7.1 step 21).
pub(crate) fn verify(
    obj: &AttestationObject<'_>,
    auth: &AuthenticatorData<'_>,
    client_data_hash: &[u8; 32],
    roots: &[Vec<u8>],
    now: u64,
) -> Result<AttestationType, WebauthnError> {
    let credential = auth
        .attested
        .as_ref()
        .ok_or(WebauthnError::NoCredentialData)?;
    match obj.fmt {
        "none" => {
            if !matches!(&obj.att_stmt, Value::Map(m) if m.is_empty()) {
                return Err(invalid("a \"none\" statement must be empty"));
            }
            if !roots.is_empty() {
                return Err(WebauthnError::UntrustedAttestation);
            }
            Ok(AttestationType::None)
        }
        "packed" => {
            let alg = obj
                .att_stmt
                .get_text("alg")
                .and_then(Value::as_int)
                .ok_or(invalid("packed: alg is missing"))?;
            let alg = CoseAlgorithm::from_id(i64::try_from(alg).unwrap_or(i64::MIN))?;
            let sig = obj
                .att_stmt
                .get_text("sig")
                .and_then(Value::as_bytes)
                .ok_or(invalid("packed: sig is missing"))?;
            let mut signed = Vec::with_capacity(auth.raw.len() + 32);
            signed.extend_from_slice(auth.raw);
            signed.extend_from_slice(client_data_hash);
            match obj.att_stmt.get_text("x5c") {
                None => {
                    if alg != credential.public_key.algorithm() {
                        return Err(invalid(
                            "packed self attestation: alg is not the credential's",
                        ));
                    }
                    if !roots.is_empty() {
                        return Err(WebauthnError::UntrustedAttestation);
                    }
                    credential.public_key.verify(&signed, sig)?;
                    Ok(AttestationType::SelfAttested)
                }
                Some(Value::Array(chain)) if !chain.is_empty() => {
                    let ders: Vec<&[u8]> = chain
                        .iter()
                        .map(|c| {
                            c.as_bytes()
                                .ok_or(invalid("packed: x5c holds a non-certificate"))
                        })
                        .collect::<Result<_, _>>()?;
                    let certs: Vec<Certificate> = ders
                        .iter()
                        .map(|d| {
                            Certificate::from_der(d)
                                .map_err(|_| invalid("packed: an x5c certificate is malformed"))
                        })
                        .collect::<Result<_, _>>()?;
                    let leaf = &certs[0];
                    let key = spki_key(leaf)?;
                    if key.algorithm() != alg {
                        return Err(invalid("packed: alg is not the certificate key's"));
                    }
                    key.verify(&signed, sig)?;
                    check_leaf(leaf, &credential.aaguid)?;
                    if roots.is_empty() {
                        return Ok(AttestationType::Basic);
                    }
                    check_chain(&certs, roots, now)?;
                    Ok(AttestationType::Trusted)
                }
                Some(_) => Err(invalid("packed: x5c must be a non-empty array")),
            }
        }
        other => Err(WebauthnError::UnsupportedAttestation {
            fmt: other
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(32)
                .collect(),
        }),
    }
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const OID_OU: &str = "2.5.4.11";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// id-fido-gen-ce-aaguid.
const OID_FIDO_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";

/// The certificate's subject public key (P-256 or RSA).
fn spki_key(cert: &Certificate) -> Result<PublicKey, WebauthnError> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or(invalid("the certificate key is not whole bytes"))?;
    match spki.algorithm.oid.to_string().as_str() {
        OID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
            if curve.map(|c| c.to_string()).as_deref() != Some(OID_P256) {
                return Err(invalid("the certificate's EC key is not on P-256"));
            }
            PublicKey::p256_sec1(bits)
        }
        OID_RSA => {
            let key = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(bits)
                .map_err(|_| invalid("the certificate's RSA key is malformed"))?;
            PublicKey::rsa(key.modulus.as_bytes(), key.public_exponent.as_bytes())
        }
        _ => Err(invalid("the certificate key is neither P-256 nor RSA")),
    }
}

/// The packed format's certificate requirements (§8.2.1).
fn check_leaf(leaf: &Certificate, aaguid: &[u8; 16]) -> Result<(), WebauthnError> {
    let tbs = leaf.tbs_certificate();
    if tbs.version() != x509_cert::Version::V3 {
        return Err(invalid(
            "the attestation certificate must be X.509 version 3",
        ));
    }
    let ou = tbs
        .subject()
        .iter()
        .find(|atv| atv.oid.to_string() == OID_OU);
    let ou_text = ou.and_then(|atv| {
        atv.value
            .decode_as::<der::asn1::Utf8StringRef<'_>>()
            .map(|s| s.as_str().to_string())
            .or_else(|_| {
                atv.value
                    .decode_as::<der::asn1::PrintableStringRef<'_>>()
                    .map(|s| s.as_str().to_string())
            })
            .ok()
    });
    if ou_text.as_deref() != Some("Authenticator Attestation") {
        return Err(invalid(
            "the certificate's subject OU must be \"Authenticator Attestation\"",
        ));
    }
    for ext in tbs.extensions().into_iter().flatten() {
        match ext.extn_id.to_string().as_str() {
            OID_FIDO_AAGUID => {
                let inner = der::asn1::OctetString::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| invalid("the certificate's AAGUID extension is malformed"))?;
                if ext.critical {
                    return Err(invalid("the AAGUID extension must not be critical"));
                }
                if inner.as_bytes() != aaguid {
                    return Err(invalid(
                        "the certificate's AAGUID is not the authenticator's",
                    ));
                }
            }
            OID_BASIC_CONSTRAINTS => {
                let bc =
                    x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                        .map_err(|_| {
                            invalid("the certificate's basic constraints are malformed")
                        })?;
                if bc.ca {
                    return Err(invalid("the attestation certificate must not be a CA"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Each certificate is signed by the next, the last by a root; all valid at `now`.
fn check_chain(certs: &[Certificate], roots: &[Vec<u8>], now: u64) -> Result<(), WebauthnError> {
    let roots: Vec<Certificate> = roots
        .iter()
        .map(|r| {
            Certificate::from_der(r).map_err(|_| WebauthnError::InvalidConfig {
                reason: "an attestation root is not a DER certificate".into(),
            })
        })
        .collect::<Result<_, _>>()?;
    for cert in certs {
        valid_at(cert, now)?;
    }
    for pair in certs.windows(2) {
        signed_by(&pair[0], &pair[1])?;
    }
    let last = &certs[certs.len() - 1];
    let trusted = roots.iter().any(|root| {
        last.tbs_certificate().issuer() == root.tbs_certificate().subject()
            && valid_at(root, now).is_ok()
            && signed_by(last, root).is_ok()
    });
    if trusted {
        Ok(())
    } else {
        Err(WebauthnError::UntrustedAttestation)
    }
}

fn valid_at(cert: &Certificate, now: u64) -> Result<(), WebauthnError> {
    let v = cert.tbs_certificate().validity();
    let from = v.not_before.to_unix_duration().as_secs();
    let to = v.not_after.to_unix_duration().as_secs();
    if now < from || now > to {
        return Err(invalid("an attestation certificate is not valid now"));
    }
    Ok(())
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> Result<(), WebauthnError> {
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|_| invalid("a certificate cannot be re-encoded"))?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or(invalid("a certificate signature is not whole bytes"))?;
    let key = spki_key(issuer)?;
    let expected = match key.algorithm() {
        CoseAlgorithm::Es256 => OID_ECDSA_SHA256,
        CoseAlgorithm::Rs256 => OID_RSA_SHA256,
        CoseAlgorithm::EdDsa => return Err(invalid("unsupported certificate signature")),
    };
    if cert.signature_algorithm().oid.to_string() != expected {
        return Err(invalid("unsupported certificate signature algorithm"));
    }
    key.verify(&tbs, sig)
        .map_err(|_| WebauthnError::UntrustedAttestation)
}
