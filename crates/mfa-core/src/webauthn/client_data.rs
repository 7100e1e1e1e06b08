//! `clientDataJSON` (WebAuthn §5.8.1): what the browser says it signed for —
//! the ceremony type, the challenge, the page's origin.
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{RelyingParty, WebauthnError};
use crate::encoding::b64url_decode;

/// The longest `clientDataJSON` accepted.
const MAX_LEN: usize = 4096;

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    ty: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

/// Check `json` for the ceremony `ty` with `challenge`, from one of the
/// relying party's origins (WebAuthn §7.1 steps 7–10, §7.2 steps 10–13).
pub(crate) fn check(
    rp: &RelyingParty,
    json: &[u8],
    ty: &'static str,
    challenge: &[u8],
) -> Result<(), WebauthnError> {
    if json.len() > MAX_LEN {
        return Err(malformed("longer than 4096 bytes"));
    }
    let raw: Raw = serde_json::from_slice(json).map_err(|e| malformed(&e.to_string()))?;
    if raw.ty != ty {
        return Err(WebauthnError::WrongCeremonyType { expected: ty });
    }
    let signed =
        b64url_decode(&raw.challenge).ok_or_else(|| malformed("the challenge is not base64url"))?;
    if !bool::from(signed.as_slice().ct_eq(challenge)) {
        return Err(WebauthnError::ChallengeMismatch);
    }
    if !rp.origins.contains(&raw.origin) {
        return Err(WebauthnError::OriginNotAllowed {
            origin: shown(&raw.origin),
        });
    }
    if raw.cross_origin == Some(true) || raw.top_origin.is_some() {
        let top_ok = raw
            .top_origin
            .as_ref()
            .is_some_and(|t| rp.top_origins.iter().any(|o| o == t));
        if !top_ok {
            return Err(WebauthnError::CrossOriginNotAllowed);
        }
    }
    Ok(())
}

/// An origin as it may appear in an error: bounded and printable.
fn shown(origin: &str) -> String {
    let clean: String = origin
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    if clean.is_empty() {
        "(no origin)".into()
    } else {
        clean
    }
}

fn malformed(reason: &str) -> WebauthnError {
    WebauthnError::MalformedResponse {
        field: "clientDataJSON",
        reason: reason.into(),
    }
}
