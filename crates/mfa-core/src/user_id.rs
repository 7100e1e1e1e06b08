//! The canonical form of a user id: the one rule every host applies before a
//! user id reaches a record, a throttle key or a cache slot, so that `Alice`
//! and ` alice ` are one user at the server, in the component and at the
//! gateway.
use std::fmt;

use crate::Error;

/// Longest user id, in characters (an e-mail address's limit).
pub const MAX_USER_ID_CHARS: usize = 254;

/// A user id in canonical form: trimmed and lower-cased; 1 to 254
/// characters without spaces, control characters or `:` (which Basic
/// authentication cannot carry in a user name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Bring `raw` to the canonical form, or say why it cannot be a user id.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let u = raw.trim().to_lowercase();
        if u.is_empty() || u.chars().count() > MAX_USER_ID_CHARS {
            return Err(Error::input(
                "user",
                "the user name must be 1 to 254 characters",
            ));
        }
        if u.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == ':')
        {
            return Err(Error::input(
                "user",
                "the user name must not contain spaces, control characters or ':'",
            ));
        }
        Ok(Self(u))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_surrounding_space_make_no_new_user() {
        let a = UserId::parse("Alice@Contoso.com").unwrap();
        assert_eq!(a, UserId::parse(" alice@contoso.com \t").unwrap());
        assert_eq!(a.as_str(), "alice@contoso.com");
        assert_eq!(UserId::parse("ÄLICE").unwrap().as_str(), "älice");
    }

    #[test]
    fn what_cannot_be_a_user_is_refused_with_a_reason() {
        for bad in ["", "   ", "al ice", "a:b", "a\u{0}b", "a\u{2028}b"] {
            let e = UserId::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{bad:?}");
        }
        assert!(UserId::parse(&"x".repeat(254)).is_ok());
        assert!(UserId::parse(&"x".repeat(255)).is_err());
    }
}
