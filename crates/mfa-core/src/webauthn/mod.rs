//! Passkeys and security keys (WebAuthn Level 3, FIDO2), sans-IO.
//!
//! A ceremony has two halves. `start_registration` / `start_authentication`
//! draw a challenge from the caller's [`RandomSource`](crate::RandomSource) and return the
//! [`Ceremony`] to keep (server side, until it is used once) with the
//! options for `navigator.credentials.create/get` in their JSON form.
//! `finish_registration` / `finish_authentication` check what the browser
//! sent back: `clientDataJSON` (type, challenge, origin, cross-origin),
//! `authenticatorData` (relying party id hash, user presence and
//! verification, backup flags, sign count), the attestation statement
//! (`none`, `packed` self or x5c) and the signature over
//! `authenticatorData || SHA-256(clientDataJSON)`.
//!
//! Nothing here reads a clock or stores anything: the caller passes `now`,
//! keeps the ceremony, and removes it once it was used (success or not).
mod attestation;
mod auth_data;
mod cbor;
mod client_data;
mod cose;
mod error;
mod options;
mod response;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use attestation::AttestationType;
pub use cose::CoseAlgorithm;
pub use error::WebauthnError;
pub use options::{
    Ceremony, CeremonyPolicy, CounterPolicy, CredentialDescriptor, RelyingParty, User,
    UserVerification, start_authentication, start_registration,
};
pub use response::{AssertionResponse, RegistrationResponse};

use attestation::AttestationObject;
use auth_data::AuthenticatorData;

/// A credential a registration created, to store with the user.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id (up to 1023 bytes).
    pub credential_id: Vec<u8>,
    /// The public key as a COSE_Key, as the authenticator sent it.
    pub public_key: Vec<u8>,
    /// The key's algorithm.
    pub algorithm: CoseAlgorithm,
    /// The authenticator model (all zeros when not disclosed).
    pub aaguid: [u8; 16],
    /// The sign count at registration.
    pub sign_count: u32,
    /// Whether the authenticator verified the user (PIN, biometrics).
    pub user_verified: bool,
    /// Whether the credential may be backed up (a synced passkey).
    pub backup_eligible: bool,
    /// Whether the credential is backed up now.
    pub backed_up: bool,
    /// How the authenticator vouched for the credential.
    pub attestation: AttestationType,
    /// Transports the browser reported (`usb`, `internal`, `hybrid`, …).
    pub transports: Vec<String>,
}

impl core::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NewCredential")
            .field("algorithm", &self.algorithm)
            .field("aaguid", &hex(&self.aaguid))
            .field("attestation", &self.attestation)
            .finish_non_exhaustive()
    }
}

/// A stored credential, as an assertion is checked against it.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    /// Its credential id.
    pub credential_id: &'a [u8],
    /// Its COSE_Key.
    pub public_key: &'a [u8],
    /// The sign count after its last use.
    pub sign_count: u32,
    /// The user handle it was created for.
    pub user_handle: &'a [u8],
    /// Its backup eligibility at registration (it never changes).
    pub backup_eligible: bool,
}

/// What a successful assertion tells the caller to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionResult {
    /// The sign count to store.
    pub sign_count: u32,
    /// The count did not go up: the key may have been copied (kept only
    /// when the policy audits rather than refuses).
    pub counter_regressed: bool,
    /// Whether the authenticator verified the user.
    pub user_verified: bool,
    /// Whether the credential is backed up now.
    pub backed_up: bool,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn check_rp_and_flags(
    rp: &RelyingParty,
    auth: &AuthenticatorData<'_>,
    ceremony: &Ceremony,
) -> Result<(), WebauthnError> {
    if !bool::from(auth.rp_id_hash.ct_eq(&rp.id_hash())) {
        return Err(WebauthnError::RpIdMismatch);
    }
    if !auth.user_present() {
        return Err(WebauthnError::UserNotPresent);
    }
    if ceremony.user_verification == UserVerification::Required && !auth.user_verified() {
        return Err(WebauthnError::UserNotVerified);
    }
    Ok(())
}

/// Check a registration (WebAuthn §7.1) against the ceremony that started
/// it. `registered` are the user's credential ids (a second registration of
/// one is refused). On success, store the [`NewCredential`].
pub fn finish_registration(
    rp: &RelyingParty,
    ceremony: &Ceremony,
    policy: &CeremonyPolicy,
    registered: &[&[u8]],
    response: &RegistrationResponse,
    now: u64,
) -> Result<NewCredential, WebauthnError> {
    ceremony.check_open(options::Kind::Create, now)?;
    client_data::check(
        rp,
        &response.client_data_json,
        "webauthn.create",
        &ceremony.challenge,
    )?;
    let client_data_hash: [u8; 32] = Sha256::digest(&response.client_data_json).into();
    let obj = AttestationObject::parse(&response.attestation_object)?;
    let auth = AuthenticatorData::parse(obj.auth_data)?;
    check_rp_and_flags(rp, &auth, ceremony)?;
    let cred = auth
        .attested
        .as_ref()
        .ok_or(WebauthnError::NoCredentialData)?;
    if !policy.algorithms.contains(&cred.public_key.algorithm()) {
        return Err(WebauthnError::UnsupportedAlgorithm {
            alg: cred.public_key.algorithm().id(),
        });
    }
    if cred.credential_id != response.credential_id.as_slice() {
        return Err(WebauthnError::MalformedResponse {
            field: "rawId",
            reason: "is not the credential id in authenticatorData".into(),
        });
    }
    if registered.contains(&cred.credential_id) {
        return Err(WebauthnError::CredentialAlreadyRegistered);
    }
    if !policy.allowed_aaguids.is_empty() && !policy.allowed_aaguids.contains(&cred.aaguid) {
        return Err(WebauthnError::AuthenticatorNotAllowed);
    }
    let attestation =
        attestation::verify(&obj, &auth, &client_data_hash, &rp.attestation_roots, now)?;
    Ok(NewCredential {
        credential_id: cred.credential_id.to_vec(),
        public_key: cred.public_key_cose.to_vec(),
        algorithm: cred.public_key.algorithm(),
        aaguid: cred.aaguid,
        sign_count: auth.sign_count,
        user_verified: auth.user_verified(),
        backup_eligible: auth.backup_eligible(),
        backed_up: auth.backed_up(),
        attestation,
        transports: response.transports.clone(),
    })
}

/// Check an assertion (WebAuthn §7.2) by `credential` against the ceremony
/// that started it. The caller found `credential` by the response's
/// credential id (and, for a discoverable credential, its user handle).
pub fn finish_authentication(
    rp: &RelyingParty,
    ceremony: &Ceremony,
    policy: &CeremonyPolicy,
    credential: StoredCredential<'_>,
    response: &AssertionResponse,
    now: u64,
) -> Result<AssertionResult, WebauthnError> {
    ceremony.check_open(options::Kind::Get, now)?;
    if response.credential_id != credential.credential_id
        || !ceremony.allow.is_empty() && !ceremony.allow.contains(&response.credential_id)
    {
        return Err(WebauthnError::UnknownCredential);
    }
    if let Some(handle) = &response.user_handle
        && handle.as_slice() != credential.user_handle
    {
        return Err(WebauthnError::UserHandleMismatch);
    }
    if ceremony.allow.is_empty() && response.user_handle.is_none() {
        return Err(WebauthnError::MalformedResponse {
            field: "userHandle",
            reason: "a sign-in without a user name needs the passkey's user handle".into(),
        });
    }
    client_data::check(
        rp,
        &response.client_data_json,
        "webauthn.get",
        &ceremony.challenge,
    )?;
    let auth = AuthenticatorData::parse(&response.authenticator_data)?;
    if auth.attested.is_some() {
        return Err(WebauthnError::MalformedResponse {
            field: "authenticatorData",
            reason: "an assertion carries no new credential".into(),
        });
    }
    check_rp_and_flags(rp, &auth, ceremony)?;
    if auth.backup_eligible() != credential.backup_eligible {
        return Err(WebauthnError::InvalidBackupFlags);
    }
    let key = cose::parse(credential.public_key)?;
    let mut signed = Vec::with_capacity(auth.raw.len() + 32);
    signed.extend_from_slice(auth.raw);
    signed.extend_from_slice(&Sha256::digest(&response.client_data_json));
    key.verify(&signed, &response.signature)?;
    let (stored, received) = (credential.sign_count, auth.sign_count);
    let regressed = (stored != 0 || received != 0) && received <= stored;
    if regressed && policy.sign_count_regression == CounterPolicy::Refuse {
        return Err(WebauthnError::SignCountRegressed { stored, received });
    }
    Ok(AssertionResult {
        sign_count: if regressed { stored } else { received },
        counter_regressed: regressed,
        user_verified: auth.user_verified(),
        backed_up: auth.backed_up(),
    })
}
