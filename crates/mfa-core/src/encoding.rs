//! Text encodings shared by the engine.
use data_encoding::{BASE32_NOPAD, BASE64_NOPAD, BASE64URL_NOPAD};

/// The 32 symbols of app passwords and recovery codes: lowercase letters and
/// digits without the look-alikes `l`, `o`, `0` and `1`.
pub(crate) const FRIENDLY: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// Value of a friendly symbol (case-insensitive), or `None`.
pub(crate) fn friendly_value(c: u8) -> Option<u8> {
    let c = c.to_ascii_lowercase();
    FRIENDLY.iter().position(|&s| s == c).map(|p| p as u8)
}

/// Keep the symbols of what a person typed: drop spaces and dashes, fold case.
/// `None` when anything else is present.
pub(crate) fn friendly_symbols(input: &str, max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max);
    for c in input.bytes() {
        match c {
            b' ' | b'-' | b'\t' => {}
            _ => {
                if out.len() == max {
                    return None;
                }
                out.push(friendly_value(c)?);
            }
        }
    }
    Some(out)
}

/// Render symbol values in groups of `group` separated by `sep`.
pub(crate) fn friendly_render(values: &[u8], group: usize, sep: char) -> String {
    let mut s = String::with_capacity(values.len() + values.len() / group);
    for (i, v) in values.iter().enumerate() {
        if i > 0 && i % group == 0 {
            s.push(sep);
        }
        s.push(FRIENDLY[*v as usize] as char);
    }
    s
}

/// Random friendly symbols.
pub(crate) fn friendly_random(rng: &mut dyn crate::RandomSource, n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rng.fill(&mut bytes);
    // 256 is a multiple of 32: taking the low five bits is unbiased.
    bytes.iter_mut().for_each(|b| *b &= 0x1f);
    bytes
}

/// RFC 4648 base32 without padding (otpauth secrets), upper case.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

/// Decode base32 as authenticator apps write it: any case, spaces and dashes ignored, padding optional.
pub(crate) fn base32_decode(input: &str) -> Option<Vec<u8>> {
    let cleaned: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let trimmed = cleaned.trim_end_matches('=');
    BASE32_NOPAD.decode(trimmed.as_bytes()).ok()
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    BASE64URL_NOPAD.decode(s.as_bytes()).ok()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    BASE64_NOPAD.encode(bytes)
}

pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    BASE64_NOPAD.decode(s.as_bytes()).ok()
}

/// Serde helper: bytes as unpadded base64url text.
pub(crate) mod serde_b64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64url(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::b64url_decode(&s).ok_or_else(|| serde::de::Error::custom("invalid base64url"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_accepts_what_apps_show() {
        assert_eq!(
            base32_decode("jbsw y3dp-ehpk 3pxp").unwrap(),
            b"Hello!\xde\xad\xbe\xef"
        );
        assert_eq!(base32_decode("GEZDGNBV===="), Some(b"12345".to_vec()));
        assert_eq!(base32_decode("GEZD!NBV"), None);
    }

    #[test]
    fn friendly_symbols_are_distinct_and_fold_case() {
        let mut seen = std::collections::HashSet::new();
        assert!(FRIENDLY.iter().all(|c| seen.insert(*c)));
        assert_eq!(
            friendly_symbols("AB-cd 23", 8),
            Some(vec![0, 1, 2, 3, 24, 25])
        );
        assert_eq!(friendly_symbols("abl", 8), None);
        assert_eq!(friendly_symbols("aaaa", 3), None);
    }
}
