//! Why a WebAuthn ceremony was refused, in words a developer can act on.
use core::fmt;

/// Every way a registration or assertion can fail. Messages name the field
/// at fault and never contain a challenge, signature or key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebauthnError {
    /// The relying party configuration is unusable; `reason` says why.
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A response field is missing or badly formed (JSON, base64url, lengths).
    MalformedResponse {
        /// The field, as the WebAuthn JSON names it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The CBOR of the attestation object or of a COSE key is malformed.
    MalformedCbor {
        /// Byte offset of the item at fault.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// `clientDataJSON.type` is not the ceremony's (`webauthn.create` or `webauthn.get`).
    WrongCeremonyType {
        /// The type this ceremony expects.
        expected: &'static str,
    },
    /// The response was presented to the other half of the ceremonies (a
    /// sign-in's ceremony to finish a registration, or the reverse).
    WrongCeremony {
        /// What the ceremony was started for.
        started_for: &'static str,
    },
    /// The challenge signed is not the one this ceremony issued.
    ChallengeMismatch,
    /// The ceremony's challenge has expired (or was already used); start again.
    CeremonyExpired,
    /// The page's origin is not one of the relying party's origins.
    OriginNotAllowed {
        /// The origin the browser reported.
        origin: String,
    },
    /// The ceremony ran in a cross-origin iframe, which the relying party does not allow.
    CrossOriginNotAllowed,
    /// `authenticatorData` is for another relying party id.
    RpIdMismatch,
    /// The authenticator did not report a user present (UP flag).
    UserNotPresent,
    /// The policy requires user verification (PIN or biometrics) and the authenticator did not do it.
    UserNotVerified,
    /// Backup state is set while backup eligibility is not (BS without BE).
    InvalidBackupFlags,
    /// A registration carries no attested credential data.
    NoCredentialData,
    /// The credential's key uses an algorithm that is not allowed.
    UnsupportedAlgorithm {
        /// The COSE algorithm identifier.
        alg: i64,
    },
    /// The credential's COSE key is malformed or weak; `reason` says how.
    InvalidKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The signature does not verify with the key.
    BadSignature,
    /// The attestation statement format is not supported.
    UnsupportedAttestation {
        /// The `fmt` of the attestation object.
        fmt: String,
    },
    /// The attestation statement does not hold; `reason` says which check failed.
    InvalidAttestation {
        /// The failed check.
        reason: &'static str,
    },
    /// The attestation certificate does not chain to a configured root.
    UntrustedAttestation,
    /// The authenticator model (AAGUID) is not on the organisation's list.
    AuthenticatorNotAllowed,
    /// This credential is already registered (it is on the exclude list).
    CredentialAlreadyRegistered,
    /// The assertion names a credential that is not the one expected.
    UnknownCredential,
    /// The assertion's user handle is not the user's.
    UserHandleMismatch,
    /// This passwordless sign-in's answer was already used once.
    CeremonyUsed,
    /// The account cannot sign in with a passkey alone now (its methods
    /// must be registered again): sign in with the password.
    PasswordRequired,
    /// The sign count went backwards: the authenticator may have been cloned.
    SignCountRegressed {
        /// The count stored from the last use.
        stored: u32,
        /// The count in this assertion.
        received: u32,
    },
}

impl WebauthnError {
    /// The check that failed, `snake_case`, stable for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } => "invalid_config",
            Self::MalformedResponse { .. } => "malformed_response",
            Self::MalformedCbor { .. } => "malformed_cbor",
            Self::WrongCeremonyType { .. } => "wrong_ceremony_type",
            Self::WrongCeremony { .. } => "wrong_ceremony",
            Self::ChallengeMismatch => "challenge_mismatch",
            Self::CeremonyExpired => "ceremony_expired",
            Self::OriginNotAllowed { .. } => "origin_not_allowed",
            Self::CrossOriginNotAllowed => "cross_origin_not_allowed",
            Self::RpIdMismatch => "rp_id_mismatch",
            Self::UserNotPresent => "user_not_present",
            Self::UserNotVerified => "user_not_verified",
            Self::InvalidBackupFlags => "invalid_backup_flags",
            Self::NoCredentialData => "no_credential_data",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::InvalidKey { .. } => "invalid_key",
            Self::BadSignature => "bad_signature",
            Self::UnsupportedAttestation { .. } => "unsupported_attestation",
            Self::InvalidAttestation { .. } => "invalid_attestation",
            Self::UntrustedAttestation => "untrusted_attestation",
            Self::AuthenticatorNotAllowed => "authenticator_not_allowed",
            Self::CredentialAlreadyRegistered => "credential_already_registered",
            Self::UnknownCredential => "unknown_credential",
            Self::UserHandleMismatch => "user_handle_mismatch",
            Self::CeremonyUsed => "ceremony_used",
            Self::PasswordRequired => "password_required",
            Self::SignCountRegressed { .. } => "sign_count_regressed",
        }
    }
}

impl From<WebauthnError> for crate::Error {
    fn from(e: WebauthnError) -> Self {
        Self::Passkey {
            kind: e.code(),
            reason: e.to_string(),
        }
    }
}

impl fmt::Display for WebauthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig { reason } => write!(f, "passkey settings are invalid: {reason}"),
            Self::MalformedResponse { field, reason } => {
                write!(f, "the passkey response's {field} is malformed: {reason}")
            }
            Self::MalformedCbor { offset, what } => write!(f, "{what} (CBOR at byte {offset})"),
            Self::WrongCeremonyType { expected } => {
                write!(f, "clientDataJSON.type must be \"{expected}\"")
            }
            Self::WrongCeremony { started_for } => {
                write!(
                    f,
                    "this passkey request was started for {started_for}; start again"
                )
            }
            Self::ChallengeMismatch => {
                f.write_str("the passkey signed a different challenge than the one issued")
            }
            Self::CeremonyExpired => {
                f.write_str("the passkey request has expired or was already used; start again")
            }
            Self::OriginNotAllowed { origin } => write!(
                f,
                "the page at {origin} is not one of this site's origins for passkeys"
            ),
            Self::CrossOriginNotAllowed => {
                f.write_str("passkeys cannot be used from a frame of another site here")
            }
            Self::RpIdMismatch => f.write_str("the passkey is for another site (relying party id)"),
            Self::UserNotPresent => {
                f.write_str("the authenticator did not confirm a person was present")
            }
            Self::UserNotVerified => f.write_str(
                "this organisation requires the passkey to verify you (PIN, fingerprint or face)",
            ),
            Self::InvalidBackupFlags => {
                f.write_str("the authenticator reports a backup of a key that cannot be backed up")
            }
            Self::NoCredentialData => f.write_str("the registration carries no credential"),
            Self::UnsupportedAlgorithm { alg } => write!(
                f,
                "COSE algorithm {alg} is not supported (use ES256, EdDSA or RS256)"
            ),
            Self::InvalidKey { reason } => {
                write!(f, "the credential's public key is invalid: {reason}")
            }
            Self::BadSignature => f.write_str("the passkey's signature does not verify"),
            Self::UnsupportedAttestation { fmt } => write!(
                f,
                "attestation format \"{fmt}\" is not supported (use \"none\" or \"packed\")"
            ),
            Self::InvalidAttestation { reason } => {
                write!(f, "the attestation is invalid: {reason}")
            }
            Self::UntrustedAttestation => {
                f.write_str("the authenticator's certificate is not from a trusted maker")
            }
            Self::AuthenticatorNotAllowed => {
                f.write_str("this organisation does not allow this kind of security key")
            }
            Self::CredentialAlreadyRegistered => {
                f.write_str("this passkey is already registered for the account")
            }
            Self::UnknownCredential => {
                f.write_str("this passkey is not registered for the account")
            }
            Self::UserHandleMismatch => f.write_str("the passkey belongs to another account"),
            Self::CeremonyUsed => {
                f.write_str("this passkey sign-in was already used; start the sign-in again")
            }
            Self::PasswordRequired => f.write_str(
                "this account must sign in with its password now, then set up its methods again",
            ),
            Self::SignCountRegressed { stored, received } => write!(
                f,
                "the security key's use counter went back ({received} after {stored}): it may have been copied"
            ),
        }
    }
}

impl std::error::Error for WebauthnError {}
