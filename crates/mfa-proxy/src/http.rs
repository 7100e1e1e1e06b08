//! Small HTTP helpers: Basic credentials, cookies, query encoding, JSON error bodies.

/// Longest `Authorization` header value looked at (a Basic app password needs far less).
const MAX_AUTHORIZATION_LEN: usize = 1024;

/// What an `Authorization: Basic …` header carried.
pub(crate) enum Basic {
    /// User and password, split at the first `:`.
    Credentials { user: String, password: String },
    /// A Basic header that is not valid base64 of `user:password` in UTF-8.
    Garbled,
}

/// Read `Authorization: Basic …`. `None`: the header uses another scheme.
pub(crate) fn basic(authorization: &str) -> Option<Basic> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    if authorization.len() > MAX_AUTHORIZATION_LEN {
        return Some(Basic::Garbled);
    }
    let rest = rest.trim();
    let decoded = data_encoding::BASE64
        .decode(rest.as_bytes())
        .or_else(|_| data_encoding::BASE64_NOPAD.decode(rest.as_bytes()));
    let Ok(decoded) = decoded else {
        return Some(Basic::Garbled);
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return Some(Basic::Garbled);
    };
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() => Some(Basic::Credentials {
            user: user.to_string(),
            password: password.to_string(),
        }),
        _ => Some(Basic::Garbled),
    }
}

/// `Authorization: Bearer <token>` → the token.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name` in a `Cookie` header.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// The `Cookie` header without cookie `name`; `None` when nothing is left.
pub(crate) fn cookie_without(header: &str, name: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split_once('=').map_or(*pair, |(k, _)| k.trim()) != name)
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Percent-encode for a query parameter value (RFC 3986 unreserved kept).
pub(crate) fn query_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{"error":{"code":…,"message":…}}`.
pub(crate) fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
}

/// The address part of `ip:port` or `[v6]:port` (Envoy's `source.address`).
pub(crate) fn address_without_port(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(ip, _)| ip);
    }
    match address.rsplit_once(':') {
        // One colon: IPv4 with a port. More than one: a bare IPv6 address.
        Some((ip, port)) if !ip.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => ip,
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        data_encoding::BASE64.encode(s.as_bytes())
    }

    #[test]
    fn basic_credentials_are_split_at_the_first_colon() {
        let h = format!("Basic {}", b64("alice@example.com:ab:cd"));
        match basic(&h) {
            Some(Basic::Credentials { user, password }) => {
                assert_eq!(user, "alice@example.com");
                assert_eq!(password, "ab:cd");
            }
            _ => panic!("expected credentials"),
        }
        assert!(matches!(
            basic(&format!("basic {}", b64("bob:x"))),
            Some(Basic::Credentials { .. })
        ));
        assert!(matches!(basic("Basic !!!"), Some(Basic::Garbled)));
        assert!(matches!(
            basic(&format!("Basic {}", b64("no-colon"))),
            Some(Basic::Garbled)
        ));
        assert!(matches!(
            basic(&format!("Basic {}", b64(":pw"))),
            Some(Basic::Garbled)
        ));
        assert!(basic("Bearer abc").is_none());
        let long = format!("Basic {}", "A".repeat(2000));
        assert!(matches!(basic(&long), Some(Basic::Garbled)));
    }

    #[test]
    fn bearer_and_cookies() {
        assert_eq!(bearer("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer("Basic abc"), None);
        let c = "a=1; mfa_session=tok; b=2";
        assert_eq!(cookie(c, "mfa_session"), Some("tok"));
        assert_eq!(cookie(c, "mfa"), None);
        assert_eq!(
            cookie_without(c, "mfa_session").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(cookie_without("mfa_session=tok", "mfa_session"), None);
    }

    #[test]
    fn query_and_addresses() {
        assert_eq!(query_encode("/mail/inbox?a=1&b"), "/mail/inbox%3Fa%3D1%26b");
        assert_eq!(address_without_port("127.0.0.1:5432"), "127.0.0.1");
        assert_eq!(address_without_port("[::1]:80"), "::1");
        assert_eq!(address_without_port("::1"), "::1");
        assert_eq!(address_without_port("10.0.0.1"), "10.0.0.1");
    }
}
