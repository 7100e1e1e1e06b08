//! Contact methods: authentication phone (E.164) and authentication e-mail.
use serde::{Deserialize, Serialize};

use crate::Error;

/// Country calling codes of one and two digits (ITU-T E.164 assignments);
/// every other assigned code has three digits.
const SHORT_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// Three-digit codes in ranges that are not assigned to any country.
const UNASSIGNED_THREE: &[u16] = &[
    210, 214, 215, 217, 219, 259, 292, 293, 294, 295, 296, 384, 388, 422, 424, 425, 426, 427, 428,
    429, 671, 684, 693, 694, 695, 696, 697, 698, 699, 801, 802, 803, 804, 805, 806, 807, 809, 830,
    831, 832, 833, 834, 835, 836, 837, 838, 839, 851, 854, 857, 858, 859, 871, 872, 873, 874, 875,
    876, 877, 879, 884, 885, 887, 889, 890, 891, 892, 893, 894, 895, 896, 897, 898, 899, 969, 978,
    990, 997, 999,
];

/// An authentication phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// Country calling code, e.g. 1 or 44.
    pub country_code: u16,
    /// National significant number, digits only.
    pub national: String,
}

impl PhoneNumber {
    /// Validate a number entered as a country code (`+44`, `44`) and a national
    /// number (spaces, dots, dashes and parentheses are ignored; a single
    /// leading trunk `0` is dropped, as people write it at home).
    pub fn parse(country_code: &str, national: &str) -> Result<Self, Error> {
        let cc_digits = country_code.trim().trim_start_matches('+');
        if cc_digits.is_empty()
            || cc_digits.len() > 3
            || !cc_digits.bytes().all(|b| b.is_ascii_digit())
            || cc_digits.starts_with('0')
        {
            return Err(Error::input(
                "country code",
                "must be 1 to 3 digits, like +1 or +44",
            ));
        }
        let cc: u16 = cc_digits
            .parse()
            .map_err(|_| Error::input("country code", "not a number"))?;
        if !is_assigned(cc) {
            return Err(Error::input(
                "country code",
                format!("+{cc} is not an assigned country code"),
            ));
        }
        let mut digits = String::with_capacity(national.len());
        for c in national.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
                _ => {
                    return Err(Error::input(
                        "phone number",
                        "may contain only digits and spaces",
                    ));
                }
            }
        }
        if cc != 39 && digits.starts_with('0') {
            digits.remove(0);
        }
        if digits.len() < 4 {
            return Err(Error::input("phone number", "is too short"));
        }
        if cc_digits.len() + digits.len() > 15 {
            return Err(Error::input(
                "phone number",
                "is longer than the 15 digits E.164 allows",
            ));
        }
        Ok(Self {
            country_code: cc,
            national: digits,
        })
    }

    /// Parse a full E.164 number such as `+14255550123`.
    pub fn parse_e164(s: &str) -> Result<Self, Error> {
        let digits = s.trim().strip_prefix('+').ok_or_else(|| {
            Error::input("phone number", "must start with + and the country code")
        })?;
        for len in 1..=3 {
            if let Some(cc) = digits.get(..len)
                && let Ok(code) = cc.parse::<u16>()
            {
                let fits = if len < 3 {
                    SHORT_CODES.contains(&code)
                } else {
                    is_assigned(code)
                };
                if fits {
                    return Self::parse(cc, &digits[len..]);
                }
            }
        }
        Err(Error::input(
            "country code",
            "is not an assigned country code",
        ))
    }

    /// The number in E.164 form, e.g. `+14255550123`.
    pub fn e164(&self) -> String {
        format!("+{}{}", self.country_code, self.national)
    }

    /// The number with all but the last two digits hidden, for showing on a
    /// sign-in page ("We texted +1 ••••••••23").
    pub fn masked(&self) -> String {
        // Count characters, not bytes: the fields are public and a stored
        // record may carry anything, so never slice inside a character.
        let chars = self.national.chars().count();
        let hidden = chars.saturating_sub(2);
        let shown: String = self.national.chars().skip(hidden).collect();
        format!("+{} {}{}", self.country_code, "•".repeat(hidden), shown)
    }
}

fn is_assigned(cc: u16) -> bool {
    match cc {
        1..=9 => SHORT_CODES.contains(&cc),
        10..=99 => SHORT_CODES.contains(&cc),
        100..=999 => {
            let prefix2 = cc / 10;
            let prefix1 = cc / 100;
            !SHORT_CODES.contains(&prefix2)
                && !SHORT_CODES.contains(&prefix1)
                && !UNASSIGNED_THREE.contains(&cc)
        }
        _ => false,
    }
}

/// A domain in the ASCII form it is checked and compared in (UTS-46
/// `ToASCII`: mapped, lowercased, punycode for non-ASCII labels).
#[cfg(feature = "uts46")]
fn domain_to_ascii(domain: &str) -> Result<String, Error> {
    idna::domain_to_ascii(domain)
        .map_err(|_| Error::input("email", "the domain after @ is not valid"))
}

/// The domain as people read it (punycode labels decoded), from its ASCII form.
#[cfg(feature = "uts46")]
fn domain_to_unicode(ascii: &str) -> String {
    match idna::domain_to_unicode(ascii) {
        (unicode, Ok(())) => unicode,
        (_, Err(_)) => ascii.to_string(),
    }
}

#[cfg(not(feature = "uts46"))]
fn domain_to_unicode(domain: &str) -> String {
    domain.to_string()
}

/// Without the Unicode tables (the browser build) only ASCII is folded; a
/// domain with other characters is passed on as typed for the server,
/// which has the tables, to decide.
#[cfg(not(feature = "uts46"))]
fn domain_to_ascii(domain: &str) -> Result<String, Error> {
    Ok(domain.to_ascii_lowercase())
}

/// An authentication e-mail address, used for codes and recovery. It must not be
/// an address at one of the organisation's own domains: if the work account is
/// lost, so is that mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Check the syntax (a practical subset of RFC 5321) and refuse the
    /// organisation's own domains (and their subdomains).
    pub fn parse(address: &str, organisation_domains: &[String]) -> Result<Self, Error> {
        let a = address.trim();
        if a.len() > 254 {
            return Err(Error::input("email", "is longer than 254 characters"));
        }
        let (local, domain) = a
            .rsplit_once('@')
            .ok_or_else(|| Error::input("email", "must look like name@example.com"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(Error::input(
                "email",
                "the part before @ must be 1 to 64 characters",
            ));
        }
        let local_ok = local.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b) || b >= 0x80
                })
        });
        if !local_ok {
            return Err(Error::input(
                "email",
                "the part before @ contains characters that are not allowed",
            ));
        }
        // UTS-46 first (security item 10): full-width letters, ideographic
        // full stops and other look-alikes become the ASCII domain they
        // show, so the organisation's own domains cannot be slipped past.
        let domain = domain_to_ascii(domain)?;
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
            })
            && !labels
                .last()
                .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
        if !domain_ok {
            return Err(Error::input("email", "the domain after @ is not valid"));
        }
        for own in organisation_domains {
            let own = domain_to_ascii(own.trim().trim_start_matches('@'))?;
            if !own.is_empty() && (domain == own || domain.ends_with(&format!(".{own}"))) {
                return Err(Error::input(
                    "email",
                    "use a personal address, not one at your organisation's own domain",
                ));
            }
        }
        Ok(Self(format!("{local}@{}", domain_to_unicode(&domain))))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with the local part hidden but its first letter ("a•••@example.com").
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        let p = PhoneNumber::parse("+44", "07700 900123").unwrap();
        assert_eq!(p.e164(), "+447700900123");
        assert_eq!(
            PhoneNumber::parse_e164("+14255550123")
                .unwrap()
                .country_code,
            1
        );
        assert_eq!(
            PhoneNumber::parse_e164("+353861234567")
                .unwrap()
                .country_code,
            353
        );
        assert!(PhoneNumber::parse("+0", "1234567").is_err());
        assert!(PhoneNumber::parse("+210", "1234567").is_err());
        assert!(PhoneNumber::parse("+1", "12a4567").is_err());
        assert!(PhoneNumber::parse("+1", "1234567890123456").is_err());
        assert_eq!(
            PhoneNumber::parse("1", "425 555 0123").unwrap().masked(),
            "+1 ••••••••23"
        );
        // Built by hand (the fields are public) or read from a damaged record.
        let odd = PhoneNumber {
            country_code: 44,
            national: "12€".into(),
        };
        assert_eq!(odd.masked(), "+44 •2€");
    }

    #[test]
    fn emails_and_own_domains() {
        let own = vec!["contoso.com".to_string()];
        assert_eq!(
            EmailAddress::parse("Bob@Example.ORG", &own)
                .unwrap()
                .as_str(),
            "Bob@example.org"
        );
        assert!(EmailAddress::parse("bob@contoso.com", &own).is_err());
        assert!(EmailAddress::parse("bob@mail.contoso.com", &own).is_err());
        assert!(EmailAddress::parse("bob@notcontoso.com", &own).is_ok());
        for bad in [
            "bob",
            "@x.com",
            "bob@localhost",
            "a..b@x.com",
            "bob@-x.com",
            "bob@x.123",
        ] {
            assert!(EmailAddress::parse(bad, &own).is_err(), "{bad}");
        }
    }
}
