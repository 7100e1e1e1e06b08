//! `authenticatorData` (WebAuthn §6.1): the relying party id hash, flags,
//! sign count and, at registration, the attested credential.
use super::WebauthnError;
use super::cose::{self, PublicKey};

/// User present.
pub(crate) const UP: u8 = 0x01;
/// User verified.
pub(crate) const UV: u8 = 0x04;
/// Backup eligible.
pub(crate) const BE: u8 = 0x08;
/// Backup state.
pub(crate) const BS: u8 = 0x10;
/// Attested credential data included.
const AT: u8 = 0x40;
/// Extension data included.
const ED: u8 = 0x80;

/// The longest credential id WebAuthn allows.
pub(crate) const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// The credential a registration creates.
#[derive(Debug, Clone)]
pub(crate) struct AttestedCredential<'a> {
    pub(crate) aaguid: [u8; 16],
    pub(crate) credential_id: &'a [u8],
    /// The COSE_Key bytes, as they will be stored.
    pub(crate) public_key_cose: &'a [u8],
    pub(crate) public_key: PublicKey,
}

/// Parsed authenticator data; `raw` is what the signature covers.
#[derive(Debug, Clone)]
pub(crate) struct AuthenticatorData<'a> {
    pub(crate) raw: &'a [u8],
    pub(crate) rp_id_hash: &'a [u8],
    pub(crate) flags: u8,
    pub(crate) sign_count: u32,
    pub(crate) attested: Option<AttestedCredential<'a>>,
}

fn malformed(reason: &str) -> WebauthnError {
    WebauthnError::MalformedResponse {
        field: "authenticatorData",
        reason: reason.into(),
    }
}

impl<'a> AuthenticatorData<'a> {
    /// Parse `raw`; extensions, when flagged, must be one CBOR map filling the rest.
    pub(crate) fn parse(raw: &'a [u8]) -> Result<Self, WebauthnError> {
        if raw.len() < 37 {
            return Err(malformed("shorter than 37 bytes"));
        }
        let flags = raw[32];
        let sign_count = u32::from_be_bytes([raw[33], raw[34], raw[35], raw[36]]);
        let mut rest = &raw[37..];
        let attested = if flags & AT != 0 {
            if rest.len() < 18 {
                return Err(malformed("the attested credential data is cut short"));
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN {
                return Err(malformed("the credential id must be 1 to 1023 bytes"));
            }
            let after_id = 18 + id_len;
            if rest.len() < after_id {
                return Err(malformed("the credential id is cut short"));
            }
            let credential_id = &rest[18..after_id];
            let (public_key, key_len) = cose::parse_prefix(&rest[after_id..])?;
            let public_key_cose = &rest[after_id..after_id + key_len];
            rest = &rest[after_id + key_len..];
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key_cose,
                public_key,
            })
        } else {
            None
        };
        if flags & ED != 0 {
            if rest.is_empty() {
                return Err(malformed("extension data is flagged but missing"));
            }
            super::cbor::decode(rest)?;
        } else if !rest.is_empty() {
            return Err(malformed("unexpected bytes at the end"));
        }
        if flags & BS != 0 && flags & BE == 0 {
            return Err(WebauthnError::InvalidBackupFlags);
        }
        Ok(Self {
            raw,
            rp_id_hash: &raw[..32],
            flags,
            sign_count,
            attested,
        })
    }

    pub(crate) fn user_present(&self) -> bool {
        self.flags & UP != 0
    }

    pub(crate) fn user_verified(&self) -> bool {
        self.flags & UV != 0
    }

    pub(crate) fn backup_eligible(&self) -> bool {
        self.flags & BE != 0
    }

    pub(crate) fn backed_up(&self) -> bool {
        self.flags & BS != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_trailing_data_are_refused() {
        assert!(
            AuthenticatorData::parse(&[0; 36])
                .unwrap_err()
                .to_string()
                .contains("37 bytes")
        );
        let mut trailing = vec![0u8; 38];
        trailing[32] = UP;
        assert!(
            AuthenticatorData::parse(&trailing)
                .unwrap_err()
                .to_string()
                .contains("at the end")
        );
        let mut bs_only = vec![0u8; 37];
        bs_only[32] = UP | BS;
        assert_eq!(
            AuthenticatorData::parse(&bs_only).unwrap_err(),
            WebauthnError::InvalidBackupFlags
        );
        let mut at = vec![0u8; 37 + 18];
        at[32] = UP | AT;
        at[37 + 17] = 0; // id length 0
        assert!(
            AuthenticatorData::parse(&at)
                .unwrap_err()
                .to_string()
                .contains("1 to 1023")
        );
    }
}
