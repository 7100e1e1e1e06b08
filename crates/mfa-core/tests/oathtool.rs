//! Cross-check against an independent implementation: `oathtool` from OATH
//! Toolkit (Debian package `oathtool`).
//!
//! Without `oathtool` these tests fail with instructions; set
//! `MFA_SKIP_OATHTOOL=1` to skip them explicitly.

use std::process::Command;

use mfa_core::{
    Algorithm, Hotp, OtpMatch, RandomSource, SeededRandom, Totp, check_hotp_code, check_totp_code,
    hotp_code, totp_code,
};

/// Codes compared per oathtool call (`-w` prints this many minus one extra).
const CODES_PER_CALL: u64 = 5;

/// Whether to run: `false` only when the skip is asked for explicitly.
fn oathtool_available() -> bool {
    match Command::new("oathtool").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        result => {
            if std::env::var("MFA_SKIP_OATHTOOL").as_deref() == Ok("1") {
                eprintln!("oathtool cross-check skipped (MFA_SKIP_OATHTOOL=1)");
                return false;
            }
            panic!(
                "oathtool is needed for this cross-check but could not be run ({}). \
                 Install it (Debian/Ubuntu: `apt-get install oathtool`) or set \
                 MFA_SKIP_OATHTOOL=1 to skip the cross-check explicitly.",
                match result {
                    Ok(out) => format!("exit status {}", out.status),
                    Err(e) => e.to_string(),
                }
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Run oathtool and return the codes it printed, one per line.
fn oathtool(args: &[String]) -> Vec<String> {
    let out = Command::new("oathtool")
        .args(args)
        .output()
        .expect("oathtool runs");
    assert!(
        out.status.success(),
        "oathtool {} failed: {}",
        // The last argument is the secret: keep it out of the message.
        args[..args.len() - 1].join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("oathtool prints ASCII")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn oathtool_mode(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Sha1 => "sha1",
        Algorithm::Sha256 => "sha256",
        Algorithm::Sha512 => "sha512",
    }
}

fn next_u64(rng: &mut SeededRandom) -> u64 {
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    u64::from_le_bytes(b)
}

/// A secret of 10 to 64 bytes (oathtool takes any length; authenticators use 10 to 64).
fn random_secret(rng: &mut SeededRandom) -> Vec<u8> {
    let len = 10 + (next_u64(rng) % 55) as usize;
    let mut secret = vec![0u8; len];
    rng.fill(&mut secret);
    secret
}

const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

#[test]
fn totp_matches_oathtool() {
    if !oathtool_available() {
        return;
    }
    let mut rng = SeededRandom::new(b"oathtool totp cross-check");
    let fixed_times = [0u64, 59, 1_111_111_109, 1_700_000_000, 4_102_444_800];
    let mut compared = 0;
    for (i, algorithm) in ALGORITHMS.iter().copied().cycle().take(36).enumerate() {
        let secret = random_secret(&mut rng);
        let digits = 6 + (i % 3) as u8;
        let period = if (i / 3) % 2 == 0 { 30 } else { 60 };
        let params = Totp {
            algorithm,
            digits,
            period,
        };
        let time = if i < fixed_times.len() {
            fixed_times[i]
        } else {
            // Any time up to the year 2200.
            next_u64(&mut rng) % 7_258_118_400
        };
        let codes = oathtool(&[
            format!("--totp={}", oathtool_mode(algorithm)),
            "-d".into(),
            digits.to_string(),
            "-s".into(),
            period.to_string(),
            "-N".into(),
            format!("@{time}"),
            "-w".into(),
            (CODES_PER_CALL - 1).to_string(),
            hex(&secret),
        ]);
        assert_eq!(codes.len() as u64, CODES_PER_CALL);
        for (k, theirs) in codes.iter().enumerate() {
            let at = time + k as u64 * u64::from(period);
            let ours = totp_code(&secret, &params, at).unwrap();
            assert_eq!(
                &ours,
                theirs,
                "{} {digits} digits, {period} s, time {at}, secret of {} bytes",
                algorithm.as_str(),
                secret.len()
            );
            assert_eq!(
                check_totp_code(&secret, &params, theirs, at, 0),
                Ok(OtpMatch {
                    counter: at / u64::from(period),
                    offset: 0
                })
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 36 * CODES_PER_CALL);
}

#[test]
fn hotp_sha1_matches_oathtool() {
    if !oathtool_available() {
        return;
    }
    let mut rng = SeededRandom::new(b"oathtool hotp cross-check");
    for i in 0..24u64 {
        let secret = random_secret(&mut rng);
        let digits = 6 + (i % 3) as u8;
        let counter = match i {
            0 => 0,
            1 => u64::from(u32::MAX),
            _ => next_u64(&mut rng) % (1 << 40),
        };
        let codes = oathtool(&[
            "--hotp".into(),
            "-c".into(),
            counter.to_string(),
            "-d".into(),
            digits.to_string(),
            "-w".into(),
            (CODES_PER_CALL - 1).to_string(),
            hex(&secret),
        ]);
        assert_eq!(codes.len() as u64, CODES_PER_CALL);
        let params = Hotp {
            algorithm: Algorithm::Sha1,
            digits,
        };
        for (k, theirs) in codes.iter().enumerate() {
            let c = counter + k as u64;
            assert_eq!(
                &hotp_code(&secret, Algorithm::Sha1, digits, c).unwrap(),
                theirs,
                "HOTP counter {c}, {digits} digits"
            );
            // Found by look-ahead from the first counter of the window.
            assert_eq!(
                check_hotp_code(&secret, &params, theirs, counter, CODES_PER_CALL as u32),
                Ok(OtpMatch {
                    counter: c,
                    offset: k as i64
                })
            );
        }
    }
}

#[test]
fn hotp_sha256_and_sha512_match_oathtool() {
    // oathtool's HOTP mode is SHA-1 only; a TOTP with a 1-second step at time T
    // is HOTP with counter T (RFC 6238 §4.2), which covers the other hashes.
    if !oathtool_available() {
        return;
    }
    let mut rng = SeededRandom::new(b"oathtool hotp sha2 cross-check");
    for i in 0..24u64 {
        let algorithm = if i % 2 == 0 {
            Algorithm::Sha256
        } else {
            Algorithm::Sha512
        };
        let secret = random_secret(&mut rng);
        let digits = 6 + (i % 3) as u8;
        let counter = next_u64(&mut rng) % (1 << 33);
        let codes = oathtool(&[
            format!("--totp={}", oathtool_mode(algorithm)),
            "-s".into(),
            "1".into(),
            "-N".into(),
            format!("@{counter}"),
            "-d".into(),
            digits.to_string(),
            "-w".into(),
            (CODES_PER_CALL - 1).to_string(),
            hex(&secret),
        ]);
        assert_eq!(codes.len() as u64, CODES_PER_CALL);
        for (k, theirs) in codes.iter().enumerate() {
            let c = counter + k as u64;
            assert_eq!(
                &hotp_code(&secret, algorithm, digits, c).unwrap(),
                theirs,
                "{} HOTP counter {c}, {digits} digits",
                algorithm.as_str()
            );
        }
    }
}
