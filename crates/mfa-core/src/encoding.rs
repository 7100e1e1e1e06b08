//! Text encodings shared by the engine.
//!
//! The RFC 4648 codecs are written out here rather than taken from a general
//! encoding crate: the engine needs three fixed alphabets, and the browser
//! build carries every byte of code. Decoding is strict: only the alphabet's
//! symbols, no padding, no impossible lengths, and the unused bits of the last
//! symbol must be zero, so that every byte string has exactly one text form.

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

/// RFC 4648 base32 alphabet.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// RFC 4648 base64url alphabet (section 5).
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encode `bytes` with `alphabet` (2^`bits` symbols), most significant bits
/// first, without padding.
fn encode(bytes: &[u8], alphabet: &[u8], bits: u32) -> String {
    let mask = (1u32 << bits) - 1;
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(bits as usize));
    let (mut acc, mut held) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        held += 8;
        while held >= bits {
            held -= bits;
            out.push(char::from(alphabet[((acc >> held) & mask) as usize]));
        }
        acc &= (1 << held) - 1;
    }
    if held > 0 {
        out.push(char::from(
            alphabet[((acc << (bits - held)) & mask) as usize],
        ));
    }
    out
}

/// Decode unpadded text of `bits`-bit symbols (values from `value`). `None`
/// for a symbol outside the alphabet, a length no byte string encodes to, or
/// non-zero unused bits in the last symbol.
fn decode(text: &[u8], value: fn(u8) -> Option<u8>, bits: u32) -> Option<Vec<u8>> {
    // A final symbol that carries no whole byte is a length no encoder writes.
    if (text.len() * bits as usize) % 8 >= bits as usize {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * bits as usize / 8);
    let (mut acc, mut held) = (0u32, 0u32);
    for &c in text {
        acc = (acc << bits) | u32::from(value(c)?);
        held += bits;
        if held >= 8 {
            held -= 8;
            out.push((acc >> held) as u8);
            acc &= (1 << held) - 1;
        }
    }
    (acc == 0).then_some(out)
}

fn base32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Value of a base64 symbol; `s62` and `s63` are the alphabet's last two.
fn base64_value(c: u8, s62: u8, s63: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        _ if c == s62 => Some(62),
        _ if c == s63 => Some(63),
        _ => None,
    }
}

/// RFC 4648 base32 without padding (otpauth secrets), upper case.
pub(crate) fn base32_encode(bytes: &[u8]) -> String {
    encode(bytes, BASE32, 5)
}

/// Decode base32 as authenticator apps write it: any case, spaces and dashes ignored, padding optional.
pub(crate) fn base32_decode(input: &str) -> Option<Vec<u8>> {
    let cleaned: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let trimmed = cleaned.trim_end_matches('=');
    decode(trimmed.as_bytes(), base32_value, 5)
}

/// Unpadded base64url (RFC 4648 section 5).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    encode(bytes, BASE64URL, 6)
}

/// Strict unpadded base64url.
pub(crate) fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    decode(s.as_bytes(), |c| base64_value(c, b'-', b'_'), 6)
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
    fn rfc4648_test_vectors() {
        // RFC 4648 section 10, padding removed.
        let cases: [(&str, &str, &str); 7] = [
            ("", "", ""),
            ("f", "MY", "Zg"),
            ("fo", "MZXQ", "Zm8"),
            ("foo", "MZXW6", "Zm9v"),
            ("foob", "MZXW6YQ", "Zm9vYg"),
            ("fooba", "MZXW6YTB", "Zm9vYmE"),
            ("foobar", "MZXW6YTBOI", "Zm9vYmFy"),
        ];
        for (plain, b32, b64text) in cases {
            assert_eq!(base32_encode(plain.as_bytes()), b32);
            assert_eq!(base32_decode(b32).as_deref(), Some(plain.as_bytes()));
            assert_eq!(b64url(plain.as_bytes()), b64text);
            assert_eq!(b64url_decode(b64text).as_deref(), Some(plain.as_bytes()));
        }
        // base64url only: the standard alphabet's last two symbols are refused.
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("+/8"), None);
    }

    #[test]
    fn decoding_is_strict() {
        // Lengths no encoder writes.
        for bad in ["M", "MZX", "MZXW6Y", "MZXW6YTBO"] {
            assert_eq!(base32_decode(bad), None, "{bad}");
        }
        assert_eq!(b64url_decode("Z"), None);
        assert_eq!(b64url_decode("Zm9vY"), None);
        // Non-zero unused bits in the last symbol ("MZ" is the only form of "f").
        assert_eq!(base32_decode("M3"), None);
        assert_eq!(b64url_decode("Zh"), None);
        // Padding and foreign symbols are refused by the base64 codecs.
        assert_eq!(b64url_decode("Zg=="), None);
        assert_eq!(b64url_decode("Zm 9v"), None);
        assert_eq!(b64url_decode("Zm9\u{e9}"), None);
        // base32 takes padding only at the end, and no other symbol.
        assert_eq!(base32_decode("MY======"), Some(b"f".to_vec()));
        assert_eq!(base32_decode("MY=MZXQ"), None);
        assert_eq!(base32_decode("MZXW1"), None);
        assert_eq!(base32_decode("mzxw6\u{e9}"), None);
    }

    mod properties {
        use super::super::*;
        use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
                prop_assert_eq!(base32_decode(&base32_encode(&bytes)), Some(bytes.clone()));
                prop_assert_eq!(b64url_decode(&b64url(&bytes)), Some(bytes.clone()));
                // Lower case, groups and padding as authenticator apps show them.
                let shown = base32_encode(&bytes).to_ascii_lowercase();
                let grouped: Vec<String> = shown
                    .as_bytes()
                    .chunks(4)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect();
                let padded = format!("{}===", grouped.join(" "));
                prop_assert_eq!(base32_decode(&padded), Some(bytes));
            }

            /// Same text and the same accept/refuse decisions as the RFC 4648
            /// codecs of `data-encoding` that these replaced.
            #[test]
            fn same_as_data_encoding(bytes in proptest::collection::vec(any::<u8>(), 0..80),
                                     text in "[A-Za-z0-9+/=_ \\-]{0,24}") {
                prop_assert_eq!(base32_encode(&bytes), BASE32_NOPAD.encode(&bytes));
                prop_assert_eq!(b64url(&bytes), BASE64URL_NOPAD.encode(&bytes));
                prop_assert_eq!(b64url_decode(&text), BASE64URL_NOPAD.decode(text.as_bytes()).ok());
                let cleaned: String = text
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '-'))
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                prop_assert_eq!(
                    base32_decode(&text),
                    BASE32_NOPAD.decode(cleaned.trim_end_matches('=').as_bytes()).ok()
                );
            }

            /// Near-valid base32 (mostly alphabet symbols) exercises the
            /// length and trailing-bit checks more often than random text.
            #[test]
            fn base32_same_as_data_encoding(text in "[A-Z2-7]{0,17}[A-Z2-9=]{0,2}") {
                prop_assert_eq!(
                    base32_decode(&text),
                    BASE32_NOPAD.decode(text.trim_end_matches('=').as_bytes()).ok()
                );
            }
        }
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
