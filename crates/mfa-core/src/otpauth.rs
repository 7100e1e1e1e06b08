//! `otpauth://` URIs in the Google Authenticator key URI format: build and parse.
use core::fmt::Write as _;

use crate::Error;
use crate::encoding::{base32_decode, base32_encode};
use crate::otp::{Algorithm, check_digits};
use crate::secret::{SecretBytes, SecretString};

/// Longest URI accepted by [`OtpAuthUri::parse`] (QR codes carry far less).
pub const MAX_URI_LEN: usize = 2048;

/// Whether the URI is for a time-based or a counter-based generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpKind {
    /// RFC 6238, with a period in seconds.
    Totp {
        /// Seconds per step.
        period: u32,
    },
    /// RFC 4226, with the initial counter.
    Hotp {
        /// The initial counter.
        counter: u64,
    },
}

/// Something legal but likely to cause trouble in an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
#[non_exhaustive]
pub enum UriWarning {
    /// The secret is shorter than 128 bits (RFC 4226 requires 128, recommends 160).
    ShortSecret {
        /// Its length in bits.
        bits: u32,
    },
    /// The label's issuer prefix and the `issuer` parameter differ.
    IssuerMismatch,
    /// No issuer is given: apps show only the account name.
    MissingIssuer,
    /// A parameter many authenticator apps ignore is set to a non-default value
    /// (algorithm other than SHA1, digits other than 6, period other than 30).
    OftenIgnored {
        /// The parameter's name.
        parameter: String,
    },
    /// A parameter this format does not define was present and ignored.
    UnknownParameter {
        /// The parameter's name.
        parameter: String,
    },
}

/// A parsed or to-be-built otpauth URI. The secret is held zeroized and never
/// shown by `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpAuthUri {
    /// TOTP (with period) or HOTP (with counter).
    pub kind: OtpKind,
    /// The issuer (organisation or service name), if any.
    pub issuer: Option<String>,
    /// The account name (e.g. the user's e-mail address).
    pub account: String,
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Code length.
    pub digits: u8,
    pub(crate) secret: SecretBytes,
}

impl OtpAuthUri {
    /// A URI for `secret` with the given parameters.
    pub fn new(
        kind: OtpKind,
        issuer: Option<String>,
        account: String,
        algorithm: Algorithm,
        digits: u8,
        secret: &[u8],
    ) -> Self {
        Self {
            kind,
            issuer,
            account,
            algorithm,
            digits,
            secret: SecretBytes::new(secret.to_vec()),
        }
    }

    /// The shared secret.
    pub fn secret(&self) -> &[u8] {
        self.secret.expose()
    }

    /// The secret in base32, as shown for manual entry (groups of four).
    pub fn secret_base32(&self) -> SecretString {
        let raw = base32_encode(self.secret.expose());
        let mut out = String::with_capacity(raw.len() + raw.len() / 4);
        for (i, c) in raw.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        SecretString::new(out)
    }

    /// The URI text. It contains the secret: show it only as a QR code or to the user.
    pub fn to_uri(&self) -> SecretString {
        let mut s = String::from("otpauth://");
        s.push_str(match self.kind {
            OtpKind::Totp { .. } => "totp/",
            OtpKind::Hotp { .. } => "hotp/",
        });
        if let Some(issuer) = &self.issuer {
            pct_encode(issuer, &mut s);
            s.push(':');
        }
        pct_encode(&self.account, &mut s);
        s.push_str("?secret=");
        s.push_str(&base32_encode(self.secret.expose()));
        if let Some(issuer) = &self.issuer {
            s.push_str("&issuer=");
            pct_encode(issuer, &mut s);
        }
        let _ = write!(
            s,
            "&algorithm={}&digits={}",
            self.algorithm.as_str(),
            self.digits
        );
        let _ = match self.kind {
            OtpKind::Totp { period } => write!(s, "&period={period}"),
            OtpKind::Hotp { counter } => write!(s, "&counter={counter}"),
        };
        SecretString::new(s)
    }

    /// Parse a URI, returning it with the warnings a person should see.
    pub fn parse(uri: &str) -> Result<(Self, Vec<UriWarning>), Error> {
        let bad = |reason: &str| Error::InvalidUri {
            reason: reason.to_string(),
        };
        if uri.len() > MAX_URI_LEN {
            return Err(bad("longer than 2048 characters"));
        }
        let rest = strip_prefix_ignore_case(uri.trim(), "otpauth://")
            .ok_or_else(|| bad("must start with otpauth://"))?;
        let (kind_str, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad("missing type (totp or hotp)"))?;
        let (label, query) = match rest.split_once('?') {
            Some((l, q)) => (l, q),
            None => return Err(bad("missing parameters (at least secret=)")),
        };
        let label =
            pct_decode(label).ok_or_else(|| bad("label is not valid percent-encoded UTF-8"))?;
        let (label_issuer, account) = match label.split_once(':') {
            Some((i, a)) => (Some(i.trim().to_string()), a.trim().to_string()),
            None => (None, label.trim().to_string()),
        };
        if account.is_empty() {
            return Err(bad("the label has no account name"));
        }
        let mut warnings = Vec::new();
        let mut secret = None;
        let mut issuer = None;
        let mut algorithm = Algorithm::Sha1;
        let mut digits = 6u8;
        let mut period = None;
        let mut counter = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = pct_decode(v)
                .ok_or_else(|| bad("a parameter is not valid percent-encoded UTF-8"))?;
            match k.to_ascii_lowercase().as_str() {
                "secret" => {
                    let bytes =
                        base32_decode(&v).ok_or_else(|| bad("secret is not valid base32"))?;
                    if bytes.is_empty() {
                        return Err(bad("secret is empty"));
                    }
                    secret = Some(SecretBytes::new(bytes));
                }
                "issuer" => issuer = Some(v),
                "algorithm" => {
                    algorithm = Algorithm::parse(&v)
                        .ok_or_else(|| bad("algorithm must be SHA1, SHA256 or SHA512"))?;
                }
                "digits" => {
                    digits = v.parse().map_err(|_| bad("digits must be 6, 7 or 8"))?;
                    check_digits(digits).map_err(|_| bad("digits must be 6, 7 or 8"))?;
                }
                "period" => {
                    let p: u32 = v
                        .parse()
                        .map_err(|_| bad("period must be a whole number of seconds"))?;
                    if p == 0 || p > 3600 {
                        return Err(bad("period must be between 1 and 3600 seconds"));
                    }
                    period = Some(p);
                }
                "counter" => {
                    counter = Some(
                        v.parse()
                            .map_err(|_| bad("counter must be a whole number"))?,
                    );
                }
                other => warnings.push(UriWarning::UnknownParameter {
                    parameter: other.to_string(),
                }),
            }
        }
        let secret = secret.ok_or_else(|| bad("missing secret parameter"))?;
        let kind = match kind_str.to_ascii_lowercase().as_str() {
            "totp" => OtpKind::Totp {
                period: period.unwrap_or(30),
            },
            "hotp" => OtpKind::Hotp {
                counter: counter.ok_or_else(|| bad("hotp requires a counter parameter"))?,
            },
            _ => return Err(bad("type must be totp or hotp")),
        };
        let bits = (secret.expose().len() * 8) as u32;
        if bits < 128 {
            warnings.push(UriWarning::ShortSecret { bits });
        }
        match (&label_issuer, &issuer) {
            (Some(l), Some(p)) if l != p => warnings.push(UriWarning::IssuerMismatch),
            (None, None) => warnings.push(UriWarning::MissingIssuer),
            _ => {}
        }
        if algorithm != Algorithm::Sha1 {
            warnings.push(UriWarning::OftenIgnored {
                parameter: "algorithm".into(),
            });
        }
        if digits != 6 {
            warnings.push(UriWarning::OftenIgnored {
                parameter: "digits".into(),
            });
        }
        if matches!(kind, OtpKind::Totp { period } if period != 30) {
            warnings.push(UriWarning::OftenIgnored {
                parameter: "period".into(),
            });
        }
        let issuer = issuer.or(label_issuer).filter(|i| !i.is_empty());
        Ok((
            Self {
                kind,
                issuer,
                account,
                algorithm,
                digits,
                secret,
            },
            warnings,
        ))
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn pct_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_spaces_and_colon() {
        let uri = OtpAuthUri::new(
            OtpKind::Totp { period: 30 },
            Some("Contoso Ltd".into()),
            "alice@contoso.com".into(),
            Algorithm::Sha1,
            6,
            &[7u8; 20],
        );
        let text = uri.to_uri();
        assert!(
            text.expose()
                .starts_with("otpauth://totp/Contoso%20Ltd:alice@contoso.com?secret=")
        );
        let (back, warnings) = OtpAuthUri::parse(text.expose()).unwrap();
        assert_eq!(back, uri);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn typed_errors_and_warnings() {
        assert!(matches!(
            OtpAuthUri::parse("http://x"),
            Err(Error::InvalidUri { .. })
        ));
        assert!(matches!(
            OtpAuthUri::parse("otpauth://hotp/a?secret=GEZDGNBV"),
            Err(Error::InvalidUri { .. })
        ));
        let (_, w) =
            OtpAuthUri::parse("otpauth://totp/A:b?secret=GEZDGNBV&issuer=B&digits=8&foo=1")
                .unwrap();
        assert!(w.contains(&UriWarning::IssuerMismatch));
        assert!(w.contains(&UriWarning::ShortSecret { bits: 40 }));
        assert!(w.contains(&UriWarning::OftenIgnored {
            parameter: "digits".into()
        }));
        assert!(w.contains(&UriWarning::UnknownParameter {
            parameter: "foo".into()
        }));
    }

    #[test]
    fn debug_hides_the_secret() {
        let (u, _) =
            OtpAuthUri::parse("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=A")
                .unwrap();
        let dbg = format!("{u:?}");
        assert!(!dbg.contains("JBSW") && dbg.contains("redacted"));
    }
}
