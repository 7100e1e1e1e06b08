//! What the browser sends back: `PublicKeyCredential.toJSON()` of a
//! registration (`RegistrationResponseJSON`) or an assertion
//! (`AuthenticationResponseJSON`), WebAuthn §5.1.
use serde::Deserialize;

use super::WebauthnError;
use super::auth_data::MAX_CREDENTIAL_ID_LEN;
use crate::encoding::b64url_decode;

/// The longest response accepted, in bytes of JSON.
const MAX_JSON: usize = 64 * 1024;

/// A registration response.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationResponse {
    /// `rawId`.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`.
    pub attestation_object: Vec<u8>,
    /// `response.transports`.
    pub transports: Vec<String>,
}

/// An assertion response.
#[derive(Clone, PartialEq, Eq)]
pub struct AssertionResponse {
    /// `rawId`.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `response.signature`.
    pub signature: Vec<u8>,
    /// `response.userHandle` (present for discoverable credentials).
    pub user_handle: Option<Vec<u8>>,
}

impl core::fmt::Debug for RegistrationResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RegistrationResponse")
            .field("transports", &self.transports)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for AssertionResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AssertionResponse").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outer<R> {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    ty: String,
    response: R,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAttestation {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    attestation_object: String,
    #[serde(default)]
    transports: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAssertion {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    #[serde(default)]
    user_handle: Option<String>,
}

fn malformed(field: &'static str, reason: impl Into<String>) -> WebauthnError {
    WebauthnError::MalformedResponse {
        field,
        reason: reason.into(),
    }
}

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, WebauthnError> {
    b64url_decode(s).ok_or_else(|| malformed(field, "is not base64url"))
}

fn outer<'a, R: Deserialize<'a>>(json: &'a str) -> Result<(Vec<u8>, R), WebauthnError> {
    if json.len() > MAX_JSON {
        return Err(malformed("credential", "is longer than 64 KiB"));
    }
    let o: Outer<R> =
        serde_json::from_str(json).map_err(|e| malformed("credential", e.to_string()))?;
    if o.ty != "public-key" {
        return Err(malformed("type", "must be \"public-key\""));
    }
    let raw_id = b64("rawId", &o.raw_id)?;
    if raw_id.is_empty() || raw_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(malformed("rawId", "must be 1 to 1023 bytes"));
    }
    if b64("id", &o.id)? != raw_id {
        return Err(malformed("id", "is not rawId"));
    }
    Ok((raw_id, o.response))
}

impl RegistrationResponse {
    /// Parse `RegistrationResponseJSON`.
    pub fn from_json(json: &str) -> Result<Self, WebauthnError> {
        let (credential_id, r) = outer::<RawAttestation>(json)?;
        let transports: Vec<String> = r
            .transports
            .into_iter()
            .filter(|t| t.len() <= 32 && t.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
            .take(8)
            .collect();
        Ok(Self {
            credential_id,
            client_data_json: b64("response.clientDataJSON", &r.client_data_json)?,
            attestation_object: b64("response.attestationObject", &r.attestation_object)?,
            transports,
        })
    }
}

impl AssertionResponse {
    /// Parse `AuthenticationResponseJSON`.
    pub fn from_json(json: &str) -> Result<Self, WebauthnError> {
        let (credential_id, r) = outer::<RawAssertion>(json)?;
        let user_handle = match r.user_handle.as_deref() {
            None | Some("") => None,
            Some(h) => Some(b64("response.userHandle", h)?),
        };
        Ok(Self {
            credential_id,
            client_data_json: b64("response.clientDataJSON", &r.client_data_json)?,
            authenticator_data: b64("response.authenticatorData", &r.authenticator_data)?,
            signature: b64("response.signature", &r.signature)?,
            user_handle,
        })
    }
}
