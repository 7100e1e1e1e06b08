//! The subset of CBOR (RFC 8949) that WebAuthn uses: definite-length
//! integers, byte and text strings, arrays, maps, booleans and null. Tags,
//! floats and indefinite lengths never occur in attestation objects or COSE
//! keys (CTAP2's canonical encoding forbids them) and are refused.
use super::WebauthnError;

/// How deeply arrays and maps may nest (an attestation object needs 4).
const MAX_DEPTH: usize = 16;

/// One decoded CBOR item; strings borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// An integer, from −2⁶⁴ to 2⁶⁴ − 1.
    Int(i128),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Value<'a>>),
    Map(Vec<(Value<'a>, Value<'a>)>),
    Bool(bool),
    Null,
}

impl<'a> Value<'a> {
    /// The value under `key` in a map (`None` when absent or not a map).
    pub(crate) fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under the text key `key`.
    pub(crate) fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }

    /// The value under the integer key `key` (COSE labels).
    pub(crate) fn get_int(&self, key: i128) -> Option<&Value<'a>> {
        self.get(&Value::Int(key))
    }

    pub(crate) fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn as_text(&self) -> Option<&'a str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Decode one item at the start of `input`; returns it and the bytes it took.
pub(crate) fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), WebauthnError> {
    let mut d = Decoder { input, pos: 0 };
    let v = d.item(0)?;
    Ok((v, d.pos))
}

/// Decode `input`, which must hold exactly one item.
pub(crate) fn decode(input: &[u8]) -> Result<Value<'_>, WebauthnError> {
    let (v, used) = decode_prefix(input)?;
    if used != input.len() {
        return Err(cbor_error(used, "unexpected bytes after the CBOR item"));
    }
    Ok(v)
}

fn cbor_error(offset: usize, what: &'static str) -> WebauthnError {
    WebauthnError::MalformedCbor { offset, what }
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WebauthnError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.input.len())
            .ok_or_else(|| cbor_error(self.pos, "the CBOR item is cut short"))?;
        let s = &self.input[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// The argument of an item head: `info` < 24 is the value itself.
    fn argument(&mut self, info: u8) -> Result<u64, WebauthnError> {
        let at = self.pos;
        let v = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().unwrap_or([0; 2]),
            )),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().unwrap_or([0; 4]),
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().unwrap_or([0; 8])),
            31 => return Err(cbor_error(at, "indefinite lengths are not allowed")),
            _ => return Err(cbor_error(at, "reserved CBOR length encoding")),
        };
        Ok(v)
    }

    /// A length that fits in what is left of the input (each element takes at least a byte).
    fn length(&mut self, info: u8) -> Result<usize, WebauthnError> {
        let at = self.pos;
        let n = self.argument(info)?;
        let left = (self.input.len() - self.pos) as u64;
        if n > left {
            return Err(cbor_error(
                at,
                "a CBOR length runs past the end of the input",
            ));
        }
        Ok(n as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, WebauthnError> {
        if depth > MAX_DEPTH {
            return Err(cbor_error(self.pos, "CBOR nested too deeply"));
        }
        let at = self.pos;
        let head = self.take(1)?[0];
        let (major, info) = (head >> 5, head & 0x1f);
        match major {
            0 => Ok(Value::Int(i128::from(self.argument(info)?))),
            1 => Ok(Value::Int(-1 - i128::from(self.argument(info)?))),
            2 => {
                let n = self.length(info)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.length(info)?;
                let bytes = self.take(n)?;
                core::str::from_utf8(bytes)
                    .map(Value::Text)
                    .map_err(|_| cbor_error(at, "a CBOR text string is not UTF-8"))
            }
            4 => {
                let n = self.length(info)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(info)?;
                let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key_at = self.pos;
                    let k = self.item(depth + 1)?;
                    if !matches!(k, Value::Int(_) | Value::Text(_)) {
                        return Err(cbor_error(key_at, "CBOR map keys must be integers or text"));
                    }
                    if entries.iter().any(|(e, _)| *e == k) {
                        return Err(cbor_error(key_at, "a CBOR map has the same key twice"));
                    }
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            6 => Err(cbor_error(at, "CBOR tags are not used in WebAuthn")),
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                25..=27 => Err(cbor_error(at, "CBOR floats are not used in WebAuthn")),
                _ => Err(cbor_error(at, "unsupported CBOR simple value")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc_8949_examples() {
        assert_eq!(decode(&[0x00]).unwrap(), Value::Int(0));
        assert_eq!(decode(&[0x18, 0x64]).unwrap(), Value::Int(100));
        assert_eq!(decode(&[0x39, 0x03, 0xe7]).unwrap(), Value::Int(-1000));
        assert_eq!(
            decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Int(-18_446_744_073_709_551_616)
        );
        assert_eq!(
            decode(&[0x44, 1, 2, 3, 4]).unwrap(),
            Value::Bytes(&[1, 2, 3, 4])
        );
        assert_eq!(decode(&[0x62, 0xc3, 0xbc]).unwrap(), Value::Text("ü"));
        assert_eq!(
            decode(&[0xa2, 0x01, 0x02, 0x03, 0x04]).unwrap().get_int(3),
            Some(&Value::Int(4))
        );
        assert_eq!(decode(&[0xf5]).unwrap(), Value::Bool(true));
        assert_eq!(decode(&[0xf6]).unwrap(), Value::Null);
    }

    #[test]
    fn refuses_what_webauthn_never_sends() {
        for (bytes, what) in [
            (&[0x5f, 0x41, 0x00, 0xff][..], "indefinite"),
            (&[0xc1, 0x00][..], "tags"),
            (&[0xf9, 0x3c, 0x00][..], "floats"),
            (&[0xa2, 0x01, 0x02, 0x01, 0x03][..], "same key twice"),
            (&[0xa1, 0x41, 0x00, 0x01][..], "map keys"),
            (&[0x62, 0xff, 0xfe][..], "UTF-8"),
            (&[0x44, 1, 2][..], "past the end"),
            (&[0x19, 0x01][..], "cut short"),
            (
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
                "past the end",
            ),
            (&[0x01, 0x02][..], "after the CBOR item"),
            (&[0x1c][..], "reserved"),
        ] {
            let err = decode(bytes).unwrap_err().to_string();
            assert!(err.contains(what), "{bytes:02x?}: {err}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let deep = vec![0x81u8; 10_000];
        assert!(decode(&deep).unwrap_err().to_string().contains("deeply"));
    }
}
