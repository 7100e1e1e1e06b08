//! Known-answer tests from the specifications, through the public API.
//!
//! - RFC 4226 (HOTP), Appendix D "HOTP Algorithm: Test Values".
//! - RFC 6238 (TOTP), Appendix B "Test Vectors", with the per-algorithm seeds of
//!   the reference implementation in Appendix A (20, 32 and 64 bytes).

use mfa_core::{
    Algorithm, Error, Hotp, OtpMatch, Totp, check_hotp_code, check_totp_code, hotp_code, totp_code,
};

/// RFC 4226 Appendix D: the secret is the ASCII string "12345678901234567890".
const RFC4226_SECRET: &[u8] = b"12345678901234567890";

/// RFC 4226 Appendix D: count, the 31-bit dynamically truncated value
/// ("Truncated" table, decimal column) and the 6-digit HOTP value.
const RFC4226_APPENDIX_D: [(u64, u32, &str); 10] = [
    (0, 1_284_755_224, "755224"),
    (1, 1_094_287_082, "287082"),
    (2, 137_359_152, "359152"),
    (3, 1_726_969_429, "969429"),
    (4, 1_640_338_314, "338314"),
    (5, 868_254_676, "254676"),
    (6, 1_918_287_922, "287922"),
    (7, 82_162_583, "162583"),
    (8, 673_399_871, "399871"),
    (9, 645_520_489, "520489"),
];

#[test]
fn rfc4226_appendix_d_hotp_values() {
    for (count, _, hotp) in RFC4226_APPENDIX_D {
        assert_eq!(
            hotp_code(RFC4226_SECRET, Algorithm::Sha1, 6, count).unwrap(),
            hotp,
            "RFC 4226 Appendix D, count {count}"
        );
    }
}

#[test]
fn rfc4226_appendix_d_truncated_values_give_7_and_8_digit_codes() {
    // RFC 4226 §5.3: HOTP = Snum mod 10^Digit. The Appendix D "Truncated" table
    // lists Snum, so the 7- and 8-digit codes follow from it.
    for (count, snum, _) in RFC4226_APPENDIX_D {
        for digits in [7u8, 8] {
            let modulus = 10u32.pow(u32::from(digits));
            let want = format!("{:0width$}", snum % modulus, width = usize::from(digits));
            assert_eq!(
                hotp_code(RFC4226_SECRET, Algorithm::Sha1, digits, count).unwrap(),
                want,
                "RFC 4226 Appendix D, count {count}, {digits} digits"
            );
        }
    }
}

#[test]
fn rfc4226_appendix_d_codes_verify_at_their_counter_and_by_look_ahead() {
    let params = Hotp {
        algorithm: Algorithm::Sha1,
        digits: 6,
    };
    for (count, _, hotp) in RFC4226_APPENDIX_D {
        assert_eq!(
            check_hotp_code(RFC4226_SECRET, &params, hotp, count, 0),
            Ok(OtpMatch {
                counter: count,
                offset: 0
            }),
            "count {count}"
        );
        // From counter 0 with a look-ahead of 9 every value of the table is found at its own count.
        assert_eq!(
            check_hotp_code(RFC4226_SECRET, &params, hotp, 0, 9),
            Ok(OtpMatch {
                counter: count,
                offset: count as i64
            }),
            "count {count} by look-ahead"
        );
    }
    // The value for count 9 is not accepted when the look-ahead stops at count 8.
    assert_eq!(
        check_hotp_code(RFC4226_SECRET, &params, "520489", 0, 8),
        Err(Error::WrongCode)
    );
    // A code already behind the expected counter is not accepted.
    assert_eq!(
        check_hotp_code(RFC4226_SECRET, &params, "755224", 1, 10),
        Err(Error::WrongCode)
    );
}

/// RFC 6238 Appendix A: `seed` (SHA1, 20 bytes), `seed32` (SHA256) and `seed64` (SHA512).
fn rfc6238_seed(algorithm: Algorithm) -> &'static [u8] {
    match algorithm {
        Algorithm::Sha1 => b"12345678901234567890",
        Algorithm::Sha256 => b"12345678901234567890123456789012",
        Algorithm::Sha512 => b"1234567890123456789012345678901234567890123456789012345678901234",
    }
}

/// RFC 6238 Appendix B: time (seconds), T (hex in the RFC) and the 8-digit TOTP per mode.
const RFC6238_APPENDIX_B: [(u64, u64, &str, Algorithm); 18] = [
    (59, 0x1, "94287082", Algorithm::Sha1),
    (59, 0x1, "46119246", Algorithm::Sha256),
    (59, 0x1, "90693936", Algorithm::Sha512),
    (1_111_111_109, 0x023523EC, "07081804", Algorithm::Sha1),
    (1_111_111_109, 0x023523EC, "68084774", Algorithm::Sha256),
    (1_111_111_109, 0x023523EC, "25091201", Algorithm::Sha512),
    (1_111_111_111, 0x023523ED, "14050471", Algorithm::Sha1),
    (1_111_111_111, 0x023523ED, "67062674", Algorithm::Sha256),
    (1_111_111_111, 0x023523ED, "99943326", Algorithm::Sha512),
    (1_234_567_890, 0x0273EF07, "89005924", Algorithm::Sha1),
    (1_234_567_890, 0x0273EF07, "91819424", Algorithm::Sha256),
    (1_234_567_890, 0x0273EF07, "93441116", Algorithm::Sha512),
    (2_000_000_000, 0x03F940AA, "69279037", Algorithm::Sha1),
    (2_000_000_000, 0x03F940AA, "90698825", Algorithm::Sha256),
    (2_000_000_000, 0x03F940AA, "38618901", Algorithm::Sha512),
    (20_000_000_000, 0x27BC86AA, "65353130", Algorithm::Sha1),
    (20_000_000_000, 0x27BC86AA, "77737706", Algorithm::Sha256),
    (20_000_000_000, 0x27BC86AA, "47863826", Algorithm::Sha512),
];

fn rfc6238_params(algorithm: Algorithm) -> Totp {
    Totp {
        algorithm,
        digits: 8,
        period: 30,
    }
}

#[test]
fn rfc6238_appendix_b_totp_values() {
    for (time, _, want, algorithm) in RFC6238_APPENDIX_B {
        assert_eq!(
            totp_code(rfc6238_seed(algorithm), &rfc6238_params(algorithm), time).unwrap(),
            want,
            "RFC 6238 Appendix B, {} at {time}",
            algorithm.as_str()
        );
    }
}

#[test]
fn rfc6238_appendix_b_codes_verify_at_their_time_step() {
    for (time, step, code, algorithm) in RFC6238_APPENDIX_B {
        let seed = rfc6238_seed(algorithm);
        let params = rfc6238_params(algorithm);
        assert_eq!(
            check_totp_code(seed, &params, code, time, 0),
            Ok(OtpMatch {
                counter: step,
                offset: 0
            }),
            "{} at {time}",
            algorithm.as_str()
        );
        // One step later the code is the previous step's: accepted with a window
        // of 1 and reported as a clock one step behind, refused without a window.
        let later = time + 30;
        assert_eq!(
            check_totp_code(seed, &params, code, later, 1),
            Ok(OtpMatch {
                counter: step,
                offset: -1
            }),
            "{} at {later}",
            algorithm.as_str()
        );
        assert_eq!(
            check_totp_code(seed, &params, code, later, 0),
            Err(Error::WrongCode),
            "{} at {later} without a window",
            algorithm.as_str()
        );
    }
}

#[test]
fn rfc6238_totp_is_hotp_of_the_time_step() {
    // RFC 6238 §4.2: TOTP = HOTP(K, T) with T = floor((time - T0) / X).
    for (time, step, want, algorithm) in RFC6238_APPENDIX_B {
        assert_eq!(
            hotp_code(rfc6238_seed(algorithm), algorithm, 8, step).unwrap(),
            want,
            "{} step {step:#x} (time {time})",
            algorithm.as_str()
        );
    }
}

#[test]
fn rfc6238_boundaries_of_a_time_step() {
    // Times 1111111109 and 1111111111 (Appendix B) lie either side of the
    // boundary at 1111111110 = 30 * 0x23523ED.
    let seed = rfc6238_seed(Algorithm::Sha1);
    let params = rfc6238_params(Algorithm::Sha1);
    assert_eq!(totp_code(seed, &params, 1_111_111_110).unwrap(), "14050471");
    assert_eq!(totp_code(seed, &params, 1_111_111_080).unwrap(), "07081804");
}
