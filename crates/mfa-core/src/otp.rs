//! HOTP (RFC 4226) and TOTP (RFC 6238) on `totp-rs` primitives.
//!
//! Verification reports *which* counter matched so that replays can be refused
//! and clock drift can be shown; comparisons are constant-time.
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::{Error, UnixTime};

/// The HMAC hash of a one-time-password generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// HMAC-SHA-1, what nearly every authenticator app uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs (`SHA1`, `SHA256`, `SHA512`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }

    /// Parse an otpauth algorithm name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Self::Sha1 => totp_rs::Algorithm::SHA1,
            Self::Sha256 => totp_rs::Algorithm::SHA256,
            Self::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

/// Parameters of a time-based generator (RFC 6238).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totp {
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Code length, 6 to 8.
    pub digits: u8,
    /// Seconds per time step (30 almost everywhere).
    pub period: u32,
}

impl Default for Totp {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        }
    }
}

/// Parameters of a counter-based generator (RFC 4226).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hotp {
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Code length, 6 to 8.
    pub digits: u8,
}

impl Default for Hotp {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Sha1,
            digits: 6,
        }
    }
}

/// Which counter (HOTP) or time step (TOTP) a code matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpMatch {
    /// The matching counter or time step.
    pub counter: u64,
    /// Distance from the expected counter or current step: for TOTP, negative
    /// means the device's clock is behind, positive ahead (in steps).
    pub offset: i64,
}

pub(crate) fn check_digits(digits: u8) -> Result<(), Error> {
    if (6..=8).contains(&digits) {
        Ok(())
    } else {
        Err(Error::input(
            "digits",
            format!("must be 6, 7 or 8, not {digits}"),
        ))
    }
}

/// A generator bound to one secret: built once, used for every candidate counter.
pub(crate) struct Generator {
    inner: totp_rs::Totp,
}

impl Generator {
    pub(crate) fn new(secret: &[u8], algorithm: Algorithm, digits: u8) -> Self {
        let inner = totp_rs::Builder::new()
            .with_algorithm(algorithm.totp_rs())
            .with_digits(digits)
            .with_secret(secret)
            .with_step_duration(1)
            .with_skew(0)
            .build_noncompliant();
        Self { inner }
    }

    /// The code for a counter (HOTP) or time step (TOTP), zero-padded.
    pub(crate) fn code(&self, counter: u64) -> String {
        self.inner.generate(counter).to_string()
    }

    fn matches(&self, counter: u64, presented: &[u8]) -> bool {
        self.code(counter).as_bytes().ct_eq(presented).into()
    }
}

/// Strip spaces and dashes (apps show `123 456`) and check the digit count.
pub fn normalize_code(code: &str, digits: u8) -> Result<String, Error> {
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if cleaned.len() != usize::from(digits) || !cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::MalformedCode {
            expected_digits: digits,
        });
    }
    Ok(cleaned)
}

/// The TOTP time step that contains `now`.
pub(crate) fn time_step(now: UnixTime, period: u32) -> u64 {
    now / u64::from(period.max(1))
}

/// Verify a TOTP code within `±window` steps of `now`, refusing any step that
/// is not newer than `last_step`.
pub(crate) fn verify_totp(
    gen_: &Generator,
    params: &Totp,
    code: &str,
    now: UnixTime,
    window: u8,
    last_step: Option<u64>,
) -> Result<OtpMatch, Error> {
    let code = normalize_code(code, params.digits)?;
    let origin = time_step(now, params.period);
    let first = origin.saturating_sub(u64::from(window));
    let last = origin.saturating_add(u64::from(window));
    let mut best: Option<u64> = None;
    let mut replayed = false;
    for step in first..=last {
        if gen_.matches(step, code.as_bytes()) {
            if last_step.is_some_and(|l| step <= l) {
                replayed = true;
            } else {
                best = Some(step);
            }
        }
    }
    match best {
        Some(step) => Ok(OtpMatch {
            counter: step,
            offset: step as i64 - origin as i64,
        }),
        None if replayed => Err(Error::Replay),
        None => Err(Error::WrongCode),
    }
}

/// How far a registration looks for a wrong clock: ±10 steps (±5 minutes at
/// 30 s), beyond the sign-in window.
pub const CLOCK_DRIFT_SCAN_STEPS: u8 = 10;

/// A wrong authenticator code at registration that matches a step within
/// [`CLOCK_DRIFT_SCAN_STEPS`] of `now` becomes [`Error::ClockDrift`] (the
/// phone's clock is off, and the person can fix it); any other error is kept.
/// Only for registration: the person has just been given the secret, so the
/// offset tells them nothing they could not work out. It counts as a wrong code.
pub(crate) fn explain_drift(
    gen_: &Generator,
    params: &Totp,
    code: &str,
    now: UnixTime,
    err: Error,
) -> Error {
    if err != Error::WrongCode {
        return err;
    }
    match verify_totp(gen_, params, code, now, CLOCK_DRIFT_SCAN_STEPS, None) {
        Ok(m) => Error::ClockDrift {
            offset_secs: m.offset.saturating_mul(i64::from(params.period)),
        },
        Err(_) => err,
    }
}

/// Verify a HOTP code at `counter` or up to `look_ahead` counters after it.
pub(crate) fn verify_hotp(
    gen_: &Generator,
    params: &Hotp,
    code: &str,
    counter: u64,
    look_ahead: u32,
) -> Result<OtpMatch, Error> {
    let code = normalize_code(code, params.digits)?;
    for c in counter..=counter.saturating_add(u64::from(look_ahead)) {
        if gen_.matches(c, code.as_bytes()) {
            return Ok(OtpMatch {
                counter: c,
                offset: (c - counter) as i64,
            });
        }
    }
    Err(Error::WrongCode)
}

/// Resynchronise a HOTP token from two consecutive codes found within
/// `window` counters after `counter`. Returns the counter of the second code.
pub(crate) fn resync_hotp(
    gen_: &Generator,
    params: &Hotp,
    first: &str,
    second: &str,
    counter: u64,
    window: u32,
) -> Result<OtpMatch, Error> {
    let first = normalize_code(first, params.digits)?;
    let second = normalize_code(second, params.digits)?;
    let end = counter.saturating_add(u64::from(window));
    for c in counter..end {
        if gen_.matches(c, first.as_bytes()) && gen_.matches(c + 1, second.as_bytes()) {
            return Ok(OtpMatch {
                counter: c + 1,
                offset: (c + 1 - counter) as i64,
            });
        }
    }
    Err(Error::WrongCode)
}

/// The HOTP code for `counter` (RFC 4226 §5.3).
pub fn hotp_code(
    secret: &[u8],
    algorithm: Algorithm,
    digits: u8,
    counter: u64,
) -> Result<String, Error> {
    check_digits(digits)?;
    Ok(Generator::new(secret, algorithm, digits).code(counter))
}

/// The TOTP code at time `now` (RFC 6238 §4).
pub fn totp_code(secret: &[u8], params: &Totp, now: UnixTime) -> Result<String, Error> {
    check_digits(params.digits)?;
    if params.period == 0 {
        return Err(Error::input("period", "must be at least 1 second"));
    }
    Ok(Generator::new(secret, params.algorithm, params.digits).code(time_step(now, params.period)))
}

/// Check a TOTP code against a secret without a record (for tools and for
/// estimating clock drift during enrolment): `±window` steps around `now`.
pub fn check_totp_code(
    secret: &[u8],
    params: &Totp,
    code: &str,
    now: UnixTime,
    window: u8,
) -> Result<OtpMatch, Error> {
    check_digits(params.digits)?;
    if params.period == 0 {
        return Err(Error::input("period", "must be at least 1 second"));
    }
    let g = Generator::new(secret, params.algorithm, params.digits);
    verify_totp(&g, params, code, now, window, None)
}

/// Check a HOTP code against a secret without a record: `counter` and up to `look_ahead` after it.
pub fn check_hotp_code(
    secret: &[u8],
    params: &Hotp,
    code: &str,
    counter: u64,
    look_ahead: u32,
) -> Result<OtpMatch, Error> {
    check_digits(params.digits)?;
    let g = Generator::new(secret, params.algorithm, params.digits);
    verify_hotp(&g, params, code, counter, look_ahead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4226_appendix_d_first_codes() {
        let g = Generator::new(b"12345678901234567890", Algorithm::Sha1, 6);
        assert_eq!(g.code(0), "755224");
        assert_eq!(g.code(9), "520489");
    }

    #[test]
    fn totp_refuses_replay_and_reports_offset() {
        let g = Generator::new(b"12345678901234567890", Algorithm::Sha1, 6);
        let p = Totp::default();
        let now = 1_111_111_109;
        let code = g.code(time_step(now, 30) - 1);
        let m = verify_totp(&g, &p, &code, now, 1, None).unwrap();
        assert_eq!(m.offset, -1);
        assert_eq!(
            verify_totp(&g, &p, &code, now, 1, Some(m.counter)),
            Err(Error::Replay)
        );
        assert_eq!(
            verify_totp(&g, &p, "12345", now, 1, None),
            Err(Error::MalformedCode { expected_digits: 6 })
        );
    }
}
