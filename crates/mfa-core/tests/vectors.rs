//! The shared vector file `tests/vectors/engine.json` (format in
//! `tests/vectors/README.md`): every host of the engine (component, gateway,
//! browser) replays it and must get the same results as native `mfa-core`.
//!
//! `cargo test -p mfa-core --test vectors` replays the committed file case by
//! case; `cargo test -p mfa-core --test vectors -- --ignored regenerate`
//! writes it again from fixed seeds.

mod common;

use std::path::PathBuf;

use common::{T0, well_formed_app_password};
use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use mfa_core::{
    Algorithm, AppPasswordCredential, Argon2Params, Engine, Error, Jwks, Keys, OtpAuthUri, OtpKind,
    ParsedAppPassword, PhoneNumber, Policy, RandomSource, SeededRandom, TokenKind, Totp,
    UserRecord, check_totp_code, hotp_code, totp_code,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Format version of the file.
const VERSION: u32 = 1;
/// Largest integer a JavaScript number holds exactly: every number in the file
/// stays at or below it so that the browser host can replay the file.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/engine.json")
}

// ----- the file's shape -------------------------------------------------------------

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    version: u32,
    totp: Vec<TotpCase>,
    hotp: Vec<HotpCase>,
    totp_checks: Vec<TotpCheckCase>,
    otpauth: Vec<OtpauthCase>,
    app_password_parse: Vec<AppPasswordParseCase>,
    app_password_verify: Vec<AppPasswordVerifyCase>,
    tokens: Vec<TokenCase>,
    phone: Vec<PhoneCase>,
    email: Vec<EmailCase>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotpCase {
    name: String,
    secret_hex: String,
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    time: u64,
    code: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HotpCase {
    name: String,
    secret_hex: String,
    algorithm: Algorithm,
    digits: u8,
    counter: u64,
    code: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TotpCheckCase {
    name: String,
    secret_hex: String,
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    time: u64,
    window: u8,
    code: String,
    result: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OtpauthCase {
    name: String,
    uri: String,
    result: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppPasswordParseCase {
    name: String,
    input: String,
    result: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppPasswordVerifyCase {
    name: String,
    credential: AppPasswordCredential,
    password: String,
    scope: Option<String>,
    now: u64,
    /// The policy's argon2 parameters (they only decide whether a rehash is due).
    argon2: Argon2Params,
    result: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenCase {
    name: String,
    jwks: Value,
    issuer: String,
    audience: String,
    kind: TokenKind,
    token: String,
    now: u64,
    result: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneCase {
    name: String,
    country_code: String,
    national: String,
    result: Value,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailCase {
    name: String,
    address: String,
    organisation_domains: Vec<String>,
    result: Value,
}

// ----- replay: what every host must compute --------------------------------------------

fn ok(v: Value) -> Value {
    json!({ "ok": v })
}

fn error(e: &Error) -> Value {
    json!({ "error": e.code() })
}

fn unhex(s: &str) -> Vec<u8> {
    HEXLOWER
        .decode(s.as_bytes())
        .expect("secret_hex is lowercase hex")
}

fn totp_params(algorithm: Algorithm, digits: u8, period: u32) -> Totp {
    Totp {
        algorithm,
        digits,
        period,
    }
}

fn replay_totp(c: &TotpCase) -> String {
    totp_code(
        &unhex(&c.secret_hex),
        &totp_params(c.algorithm, c.digits, c.period),
        c.time,
    )
    .expect("totp cases have valid parameters")
}

fn replay_hotp(c: &HotpCase) -> String {
    hotp_code(&unhex(&c.secret_hex), c.algorithm, c.digits, c.counter)
        .expect("hotp cases have valid parameters")
}

fn replay_totp_check(c: &TotpCheckCase) -> Value {
    match check_totp_code(
        &unhex(&c.secret_hex),
        &totp_params(c.algorithm, c.digits, c.period),
        &c.code,
        c.time,
        c.window,
    ) {
        Ok(m) => ok(json!({ "counter": m.counter, "offset": m.offset })),
        Err(e) => error(&e),
    }
}

fn replay_otpauth(c: &OtpauthCase) -> Value {
    match OtpAuthUri::parse(&c.uri) {
        Ok((u, warnings)) => {
            let mut v = json!({
                "issuer": u.issuer,
                "account": u.account,
                "algorithm": u.algorithm,
                "digits": u.digits,
                "secret_hex": HEXLOWER.encode(u.secret()),
                "warnings": warnings,
            });
            match u.kind {
                OtpKind::Totp { period } => {
                    v["kind"] = json!("totp");
                    v["period"] = json!(period);
                }
                OtpKind::Hotp { counter } => {
                    v["kind"] = json!("hotp");
                    v["counter"] = json!(counter);
                }
            }
            ok(v)
        }
        Err(e) => error(&e),
    }
}

fn replay_app_password_parse(c: &AppPasswordParseCase) -> Value {
    match ParsedAppPassword::parse(&c.input) {
        Ok(p) => ok(json!({ "id": p.id })),
        Err(e) => error(&e),
    }
}

fn replay_app_password_verify(c: &AppPasswordVerifyCase) -> Value {
    match c
        .credential
        .verify(&c.password, c.scope.as_deref(), c.now, &c.argon2)
    {
        Ok(m) => ok(json!({ "id": m.id })),
        Err(e) => error(&e),
    }
}

fn replay_token(c: &TokenCase) -> Value {
    let jwks = Jwks::parse(&c.jwks.to_string()).expect("token cases carry a valid JWKS");
    match jwks.verify(&c.token, &c.issuer, &c.audience, c.kind, c.now) {
        Ok(claims) => ok(json!({ "sub": claims.sub, "amr": claims.amr })),
        Err(e) => error(&e),
    }
}

fn replay_phone(c: &PhoneCase) -> Value {
    match PhoneNumber::parse(&c.country_code, &c.national) {
        Ok(p) => ok(json!(p.e164())),
        Err(e) => error(&e),
    }
}

fn replay_email(c: &EmailCase) -> Value {
    match mfa_core::EmailAddress::parse(&c.address, &c.organisation_domains) {
        Ok(a) => ok(json!(a.as_str())),
        Err(e) => error(&e),
    }
}

// ----- generation ---------------------------------------------------------------------

const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

fn next_u64(rng: &mut SeededRandom) -> u64 {
    let mut b = [0u8; 8];
    rng.fill(&mut b);
    u64::from_le_bytes(b)
}

fn random_bytes(rng: &mut SeededRandom, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

fn rfc6238_seed(algorithm: Algorithm) -> &'static [u8] {
    match algorithm {
        Algorithm::Sha1 => b"12345678901234567890",
        Algorithm::Sha256 => b"12345678901234567890123456789012",
        Algorithm::Sha512 => b"1234567890123456789012345678901234567890123456789012345678901234",
    }
}

fn totp_cases() -> Vec<TotpCase> {
    let mut cases = Vec::new();
    let mut push = |name: String, secret: &[u8], alg: Algorithm, digits, period, time| {
        let mut c = TotpCase {
            name,
            secret_hex: HEXLOWER.encode(secret),
            algorithm: alg,
            digits,
            period,
            time,
            code: String::new(),
        };
        c.code = replay_totp(&c);
        cases.push(c);
    };
    for time in [
        59u64,
        1_111_111_109,
        1_111_111_111,
        1_234_567_890,
        2_000_000_000,
        20_000_000_000,
    ] {
        for alg in ALGORITHMS {
            push(
                format!("RFC 6238 Appendix B, {} at {time}", alg.as_str()),
                rfc6238_seed(alg),
                alg,
                8,
                30,
                time,
            );
        }
    }
    let mut rng = SeededRandom::new(b"engine.json totp");
    let lens = [10usize, 16, 20, 32, 64, 1, 5, 128];
    for i in 0..24usize {
        let alg = ALGORITHMS[i % 3];
        let digits = 6 + (i % 3) as u8;
        let period = [30u32, 60, 15, 1, 300][i % 5];
        let len = lens[i % lens.len()];
        let secret = random_bytes(&mut rng, len);
        let time = next_u64(&mut rng) % (1 << 35);
        push(
            format!(
                "random {len}-byte secret, {} {digits} digits {period} s",
                alg.as_str()
            ),
            &secret,
            alg,
            digits,
            period,
            time,
        );
    }
    let secret = random_bytes(&mut rng, 20);
    for (name, time) in [
        ("time 0", 0u64),
        ("last second of a step", 1_700_000_009),
        ("first second of the next step", 1_700_000_010),
        ("largest safe integer time", MAX_SAFE_INTEGER),
    ] {
        push(name.into(), &secret, Algorithm::Sha1, 6, 30, time);
    }
    cases
}

fn hotp_cases() -> Vec<HotpCase> {
    let mut cases = Vec::new();
    let mut push = |name: String, secret: &[u8], alg: Algorithm, digits, counter| {
        let mut c = HotpCase {
            name,
            secret_hex: HEXLOWER.encode(secret),
            algorithm: alg,
            digits,
            counter,
            code: String::new(),
        };
        c.code = replay_hotp(&c);
        cases.push(c);
    };
    for counter in 0..10u64 {
        push(
            format!("RFC 4226 Appendix D, count {counter}"),
            b"12345678901234567890",
            Algorithm::Sha1,
            6,
            counter,
        );
    }
    let mut rng = SeededRandom::new(b"engine.json hotp");
    for i in 0..18usize {
        let alg = ALGORITHMS[i % 3];
        let digits = 6 + ((i / 3) % 3) as u8;
        let len = [16usize, 20, 32, 64, 10, 3][i % 6];
        let secret = random_bytes(&mut rng, len);
        let counter = match i {
            0 => 0,
            1 => u64::from(u32::MAX),
            2 => 1 << 32,
            3 => MAX_SAFE_INTEGER,
            _ => next_u64(&mut rng) % (1 << 40),
        };
        push(
            format!("random {len}-byte secret, {} {digits} digits", alg.as_str()),
            &secret,
            alg,
            digits,
            counter,
        );
    }
    cases
}

fn totp_check_cases() -> Vec<TotpCheckCase> {
    let mut rng = SeededRandom::new(b"engine.json totp checks");
    let mut cases = Vec::new();
    let mut push =
        |name: &str, secret: &[u8], params: Totp, time: u64, window: u8, code: String| {
            let mut c = TotpCheckCase {
                name: name.into(),
                secret_hex: HEXLOWER.encode(secret),
                algorithm: params.algorithm,
                digits: params.digits,
                period: params.period,
                time,
                window,
                code,
                result: Value::Null,
            };
            c.result = replay_totp_check(&c);
            cases.push(c);
        };
    let secret = random_bytes(&mut rng, 20);
    let p = Totp::default();
    let t = 1_700_000_000u64;
    let at = |steps: i64| {
        let when = t.checked_add_signed(steps * 30).unwrap();
        totp_code(&secret, &p, when).unwrap()
    };
    push("current step", &secret, p, t, 1, at(0));
    push("one step behind, window 1", &secret, p, t, 1, at(-1));
    push("one step ahead, window 1", &secret, p, t, 1, at(1));
    push("two steps behind, window 1", &secret, p, t, 1, at(-2));
    push("two steps ahead, window 1", &secret, p, t, 1, at(2));
    push("one step behind, window 0", &secret, p, t, 0, at(-1));
    push("current step, window 0", &secret, p, t, 0, at(0));
    push("two steps behind, window 2", &secret, p, t, 2, at(-2));
    push("three steps ahead, window 2", &secret, p, t, 2, at(3));
    push("ten steps behind, window 10", &secret, p, t, 10, at(-10));
    push("eleven steps ahead, window 10", &secret, p, t, 10, at(11));
    let c = at(0);
    push(
        "code with a space",
        &secret,
        p,
        t,
        1,
        format!("{} {}", &c[..3], &c[3..]),
    );
    push(
        "code with a dash",
        &secret,
        p,
        t,
        1,
        format!("{}-{}", &c[..3], &c[3..]),
    );
    push(
        "code with surrounding spaces",
        &secret,
        p,
        t,
        1,
        format!("  {c} "),
    );
    push("five digits", &secret, p, t, 1, c[..5].to_string());
    push("seven digits", &secret, p, t, 1, format!("{c}0"));
    push("letters", &secret, p, t, 1, "12a456".into());
    push("empty code", &secret, p, t, 1, String::new());
    push("full-width digits", &secret, p, t, 1, "１２３４５６".into());
    let wrong = common::wrong_code(&c, |x| check_totp_code(&secret, &p, x, t, 1).is_ok());
    push("well formed but wrong", &secret, p, t, 1, wrong);
    push(
        "digits 9 is refused",
        &secret,
        totp_params(Algorithm::Sha1, 9, 30),
        t,
        1,
        "123456789".into(),
    );
    push(
        "digits 5 is refused",
        &secret,
        totp_params(Algorithm::Sha1, 5, 30),
        t,
        1,
        "12345".into(),
    );
    push(
        "period 0 is refused",
        &secret,
        totp_params(Algorithm::Sha1, 6, 0),
        t,
        1,
        c.clone(),
    );
    let step0 = totp_code(&secret, &p, 0).unwrap();
    let step1 = totp_code(&secret, &p, 30).unwrap();
    push("time 0, step 0", &secret, p, 0, 1, step0.clone());
    push("time 10, step 1 ahead", &secret, p, 10, 1, step1);
    push("time 40, step 0 behind", &secret, p, 40, 1, step0.clone());
    push("time 70, step 0 two behind", &secret, p, 70, 1, step0);
    // Long parameters: SHA-512, 8 digits, 60 s.
    let secret64 = random_bytes(&mut rng, 64);
    let p512 = totp_params(Algorithm::Sha512, 8, 60);
    for (name, steps) in [
        ("SHA512 8 digits 60 s, one step behind", -1i64),
        ("SHA512 8 digits 60 s, current", 0),
        ("SHA512 8 digits 60 s, one step ahead", 1),
        ("SHA512 8 digits 60 s, two steps ahead", 2),
    ] {
        let code = totp_code(&secret64, &p512, t.checked_add_signed(steps * 60).unwrap()).unwrap();
        push(name, &secret64, p512, t, 1, code);
    }
    let secret32 = random_bytes(&mut rng, 32);
    let p256 = totp_params(Algorithm::Sha256, 7, 30);
    let code = totp_code(&secret32, &p256, t).unwrap();
    push(
        "SHA256 7 digits, current",
        &secret32,
        p256,
        t,
        1,
        code.clone(),
    );
    push(
        "SHA256 7 digits, code checked as SHA1",
        &secret32,
        totp_params(Algorithm::Sha1, 7, 30),
        t,
        1,
        code,
    );
    // The RFC 6238 code for 59 s, checked 30 s later.
    push(
        "RFC 6238 SHA1 code for 59 s, checked at 89 s",
        rfc6238_seed(Algorithm::Sha1),
        totp_params(Algorithm::Sha1, 8, 30),
        89,
        1,
        "94287082".into(),
    );
    cases
}

fn otpauth_cases() -> Vec<OtpauthCase> {
    let secret20 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let long = format!(
        "otpauth://totp/A:b?secret={secret20}&issuer=A&x={}",
        "a".repeat(2048)
    );
    let list: Vec<(&str, String)> = vec![
        (
            "complete TOTP URI",
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30".into(),
        ),
        (
            "minimal URI: defaults, short secret and no issuer",
            "otpauth://totp/alice@example.com?secret=JBSWY3DPEHPK3PXP".into(),
        ),
        (
            "HOTP with a counter",
            format!("otpauth://hotp/Contoso:alice?secret={secret20}&issuer=Contoso&counter=42"),
        ),
        (
            "HOTP without a counter",
            format!("otpauth://hotp/Contoso:alice?secret={secret20}&issuer=Contoso"),
        ),
        (
            "SHA256, 8 digits, 60 s",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&issuer=Contoso&algorithm=SHA256&digits=8&period=60"),
        ),
        (
            "SHA512 in lower case",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&issuer=Contoso&algorithm=sha512"),
        ),
        (
            "issuer in the label differs from the parameter",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&issuer=Fabrikam"),
        ),
        (
            "issuer only in the label",
            format!("otpauth://totp/Contoso:alice?secret={secret20}"),
        ),
        (
            "unknown parameter",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&issuer=Contoso&image=https%3A%2F%2Fexample.com%2Flogo.png"),
        ),
        (
            "scheme and type in upper case",
            format!("OTPAUTH://TOTP/Contoso:alice?SECRET={secret20}&ISSUER=Contoso"),
        ),
        (
            "secret in lower case with padding",
            "otpauth://totp/Contoso:alice?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq====&issuer=Contoso".into(),
        ),
        (
            "secret with percent-encoded spaces",
            "otpauth://totp/Contoso:alice?secret=GEZD%20GNBV%20GY3T%20QOJQ%20GEZD%20GNBV%20GY3T%20QOJQ&issuer=Contoso".into(),
        ),
        (
            "secret with non-zero trailing bits",
            "otpauth://totp/Contoso:alice?secret=GEZDGNB&issuer=Contoso".into(),
        ),
        (
            "secret not base32",
            "otpauth://totp/Contoso:alice?secret=GEZDGNBV1&issuer=Contoso".into(),
        ),
        (
            "empty secret",
            "otpauth://totp/Contoso:alice?secret=&issuer=Contoso".into(),
        ),
        (
            "missing secret",
            "otpauth://totp/Contoso:alice?issuer=Contoso".into(),
        ),
        (
            "digits 5",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&digits=5"),
        ),
        (
            "digits 9",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&digits=9"),
        ),
        (
            "digits not a number",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&digits=six"),
        ),
        (
            "period 0",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&period=0"),
        ),
        (
            "period 3601",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&period=3601"),
        ),
        (
            "period 3600",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&issuer=Contoso&period=3600"),
        ),
        (
            "unknown algorithm",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&algorithm=MD5"),
        ),
        (
            "unknown type",
            format!("otpauth://motp/Contoso:alice?secret={secret20}"),
        ),
        (
            "not an otpauth URI",
            format!("https://example.com/totp/Contoso:alice?secret={secret20}"),
        ),
        ("no type", "otpauth://".into()),
        ("no parameters", "otpauth://totp/Contoso:alice".into()),
        (
            "empty account",
            format!("otpauth://totp/Contoso:?secret={secret20}"),
        ),
        (
            "invalid percent-encoding",
            format!("otpauth://totp/Contoso%zz:alice?secret={secret20}"),
        ),
        (
            "percent-encoding of invalid UTF-8",
            format!("otpauth://totp/Contoso%C3:alice?secret={secret20}"),
        ),
        (
            "UTF-8 label and plus as space",
            format!("otpauth://totp/Caf%C3%A9+Ltd:j%C3%B6rg?secret={secret20}&issuer=Caf%C3%A9%20Ltd"),
        ),
        (
            "spaces around the account",
            format!("otpauth://totp/Contoso:%20alice%20?secret={secret20}&issuer=Contoso"),
        ),
        (
            "counter on a TOTP URI is ignored",
            format!("otpauth://totp/Contoso:alice?secret={secret20}&issuer=Contoso&counter=7"),
        ),
        (
            "negative counter",
            format!("otpauth://hotp/Contoso:alice?secret={secret20}&counter=-1"),
        ),
        ("longer than 2048 characters", long),
    ];
    list.into_iter()
        .map(|(name, uri)| {
            let mut c = OtpauthCase {
                name: name.into(),
                uri,
                result: Value::Null,
            };
            c.result = replay_otpauth(&c);
            c
        })
        .collect()
}

/// Fixtures shared by the app-password cases: two app passwords of one user.
struct AppPasswords {
    plain: mfa_core::NewAppPassword,
    scoped: mfa_core::NewAppPassword,
    scoped_expiry: u64,
    rng: SeededRandom,
}

fn app_passwords() -> AppPasswords {
    let mut rng = SeededRandom::new(b"engine.json app passwords");
    let e = Engine::new(
        Policy::builder()
            .argon2(Argon2Params::INSECURE_FOR_TESTS)
            .build()
            .unwrap(),
        Keys::generate(&mut rng),
    )
    .unwrap();
    let mut rec = UserRecord::new("alice@contoso.com", T0);
    let mut audit = Vec::new();
    let plain = e
        .create_app_password(&mut rec, "Outlook", &[], None, T0, &mut rng, &mut audit)
        .unwrap();
    let scoped_expiry = T0 + 3600;
    let scoped = e
        .create_app_password(
            &mut rec,
            "Printer",
            &["smtp".into(), "route:/api".into()],
            Some(scoped_expiry),
            T0,
            &mut rng,
            &mut audit,
        )
        .unwrap();
    AppPasswords {
        plain,
        scoped,
        scoped_expiry,
        rng,
    }
}

fn replace_at(s: &str, pos: usize, with: char) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| if i == pos { with } else { c })
        .collect()
}

fn swap_at(s: &str, pos: usize) -> String {
    let mut v: Vec<char> = s.chars().collect();
    v.swap(pos, pos + 1);
    v.into_iter().collect()
}

/// A different symbol than `c`.
fn other_symbol(c: char) -> char {
    if c == 'a' { 'b' } else { 'a' }
}

fn app_password_parse_cases(fx: &mut AppPasswords) -> Vec<AppPasswordParseCase> {
    let display = fx.plain.password.expose().to_string();
    let canonical = display.replace('-', "");
    let c: Vec<char> = canonical.chars().collect();
    let mut list: Vec<(String, String)> = vec![
        ("as shown".into(), display.clone()),
        ("without dashes".into(), canonical.clone()),
        ("in capitals".into(), display.to_uppercase()),
        ("spaces instead of dashes".into(), display.replace('-', " ")),
        (
            "tabs and surrounding spaces".into(),
            format!("  {}\t", display.replace('-', "\t")),
        ),
        (
            "dashes in other places".into(),
            format!("{}-{}", &canonical[..3], &canonical[3..]),
        ),
        (
            "second app password".into(),
            fx.scoped.password.expose().to_string(),
        ),
        (
            "well formed by construction".into(),
            well_formed_app_password("zzzz", &mut fx.rng),
        ),
    ];
    for pos in [0usize, 4, 17, 29, 30, 31] {
        list.push((
            format!("one symbol changed at {pos}"),
            replace_at(&canonical, pos, other_symbol(c[pos])),
        ));
    }
    for pos in [0usize, 3, 15, 28, 29, 30] {
        if c[pos] != c[pos + 1] {
            list.push((
                format!("symbols {pos} and {} swapped", pos + 1),
                swap_at(&canonical, pos),
            ));
        }
    }
    for (name, with) in [
        ("letter l", 'l'),
        ("letter o", 'o'),
        ("digit 0", '0'),
        ("digit 1", '1'),
    ] {
        list.push((
            format!("look-alike {name}"),
            replace_at(&canonical, 9, with),
        ));
    }
    list.extend([
        ("31 symbols".into(), canonical[..31].to_string()),
        ("33 symbols".into(), format!("{canonical}a")),
        ("empty".into(), String::new()),
        ("a typical password".into(), "hunter2".into()),
        ("non-ASCII".into(), replace_at(&canonical, 12, 'é')),
        ("other punctuation".into(), display.replace('-', ".")),
        ("far too long".into(), "a".repeat(200)),
    ]);
    list.into_iter()
        .map(|(name, input)| {
            let mut c = AppPasswordParseCase {
                name,
                input,
                result: Value::Null,
            };
            c.result = replay_app_password_parse(&c);
            c
        })
        .collect()
}

fn app_password_verify_cases(fx: &mut AppPasswords) -> Vec<AppPasswordVerifyCase> {
    let plain_pw = fx.plain.password.expose().to_string();
    let scoped_pw = fx.scoped.password.expose().to_string();
    let plain = fx.plain.credential.clone();
    let scoped = fx.scoped.credential.clone();
    let wrong_body = well_formed_app_password(&plain.id, &mut fx.rng);
    let unknown_id = if plain.id == "zzzz" { "yyyy" } else { "zzzz" };
    let unknown = well_formed_app_password(unknown_id, &mut fx.rng);
    let mut typo = plain_pw.clone();
    typo = replace_at(&typo, 6, other_symbol(typo.chars().nth(6).unwrap()));
    let mut not_argon2id = plain.clone();
    not_argon2id.hash = plain.hash.replacen("$argon2id$", "$argon2i$", 1);
    let mut bad_base64 = plain.clone();
    bad_base64.hash = format!("{}!", plain.hash);
    let expiry = fx.scoped_expiry;
    let list: Vec<(&str, AppPasswordCredential, String, Option<&str>, u64)> = vec![
        (
            "right password, no scope",
            plain.clone(),
            plain_pw.clone(),
            None,
            T0 + 10,
        ),
        (
            "right password, any scope allowed",
            plain.clone(),
            plain_pw.clone(),
            Some("imap"),
            T0 + 10,
        ),
        (
            "typed in capitals with spaces",
            plain.clone(),
            plain_pw.replace('-', " ").to_uppercase(),
            None,
            T0 + 10,
        ),
        (
            "well formed, same id, wrong secret",
            plain.clone(),
            wrong_body,
            None,
            T0 + 10,
        ),
        (
            "well formed, other id",
            plain.clone(),
            unknown,
            None,
            T0 + 10,
        ),
        (
            "another app password's password",
            plain.clone(),
            scoped_pw.clone(),
            None,
            T0 + 10,
        ),
        ("one mistyped symbol", plain.clone(), typo, None, T0 + 10),
        (
            "garbage",
            plain.clone(),
            "password123".into(),
            None,
            T0 + 10,
        ),
        (
            "stored hash is argon2i",
            not_argon2id,
            plain_pw.clone(),
            None,
            T0 + 10,
        ),
        (
            "stored hash is not base64",
            bad_base64,
            plain_pw.clone(),
            None,
            T0 + 10,
        ),
        (
            "scoped: allowed scope",
            scoped.clone(),
            scoped_pw.clone(),
            Some("smtp"),
            T0 + 10,
        ),
        (
            "scoped: sub-route",
            scoped.clone(),
            scoped_pw.clone(),
            Some("route:/api/v1"),
            T0 + 10,
        ),
        (
            "scoped: route prefix is not a segment",
            scoped.clone(),
            scoped_pw.clone(),
            Some("route:/apix"),
            T0 + 10,
        ),
        (
            "scoped: other scope",
            scoped.clone(),
            scoped_pw.clone(),
            Some("imap"),
            T0 + 10,
        ),
        (
            "scoped: refused where no scope is named",
            scoped.clone(),
            scoped_pw.clone(),
            None,
            T0 + 10,
        ),
        (
            "scoped: one second before expiry",
            scoped.clone(),
            scoped_pw.clone(),
            Some("smtp"),
            expiry - 1,
        ),
        (
            "scoped: at expiry",
            scoped.clone(),
            scoped_pw.clone(),
            Some("smtp"),
            expiry,
        ),
        (
            "expired and out of scope: expiry first",
            scoped,
            scoped_pw,
            Some("imap"),
            expiry + 1,
        ),
    ];
    list.into_iter()
        .map(|(name, credential, password, scope, now)| {
            let mut c = AppPasswordVerifyCase {
                name: name.into(),
                credential,
                password,
                scope: scope.map(str::to_string),
                now,
                argon2: Argon2Params::INSECURE_FOR_TESTS,
                result: Value::Null,
            };
            c.result = replay_app_password_verify(&c);
            c
        })
        .collect()
}

fn b64url_json(v: &Value) -> String {
    BASE64URL_NOPAD.encode(v.to_string().as_bytes())
}

fn token_cases() -> Vec<TokenCase> {
    let mut rng = SeededRandom::new(b"engine.json tokens");
    let mut keys = Keys::generate(&mut rng);
    let other_keys = Keys::generate(&mut rng);
    let e = Engine::new(Policy::default(), keys.clone()).unwrap();
    let (rec, signed) = common::signed_in(&e, "alice@contoso.com", T0, &mut rng);
    let mut audit = Vec::new();
    let session = signed.session.expose().to_string();
    let device = signed.device.as_ref().unwrap().token.expose().to_string();
    let device_exp = signed.device.as_ref().unwrap().expires_at;
    let verified = signed.verified.clone();
    let session_exp = T0 + u64::from(Policy::default().session_lifetime_secs);
    let jwks = serde_json::to_value(e.jwks()).unwrap();
    let other_jwks = serde_json::to_value(
        Jwks::parse(
            &Engine::new(Policy::default(), other_keys)
                .unwrap()
                .jwks()
                .to_json(),
        )
        .unwrap(),
    )
    .unwrap();
    // The other key published under our key id: the signature must still fail.
    let mut impostor = other_jwks.clone();
    impostor["keys"][0]["kid"] = jwks["keys"][0]["kid"].clone();

    let parts: Vec<&str> = session.split('.').collect();
    let header: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[0].as_bytes()).unwrap()).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
    claims["sub"] = json!("mallory@contoso.com");
    let tampered_claims = format!("{}.{}.{}", parts[0], b64url_json(&claims), parts[2]);
    let mut sig: Vec<char> = parts[2].chars().collect();
    sig[10] = if sig[10] == 'A' { 'B' } else { 'A' };
    let tampered_sig = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        sig.into_iter().collect::<String>()
    );
    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let alg_none = format!("{}.{}.", b64url_json(&none_header), parts[1]);
    let mut hs_header = header.clone();
    hs_header["alg"] = json!("HS256");
    let alg_hs256 = format!("{}.{}.{}", b64url_json(&hs_header), parts[1], parts[2]);

    // Key rotation: a token of the old key verifies while the key is published.
    let old_token = session.clone();
    keys.rotate_signing(&mut rng);
    let rotated = Engine::new(Policy::default(), keys.clone()).unwrap();
    let rotated_jwks = serde_json::to_value(rotated.jwks()).unwrap();
    let new_token = rotated.issue_session(&rec, &verified, &["pwd"], T0, &mut rng, &mut audit);

    let s = TokenKind::Session;
    let d = TokenKind::Device;
    let list: Vec<(&str, &Value, &str, &str, TokenKind, String, u64)> = vec![
        (
            "valid session token",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            T0 + 60,
        ),
        (
            "valid one second before expiry",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            session_exp - 1,
        ),
        (
            "expired",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            session_exp,
        ),
        (
            "issued 60 s in the future (clock skew allowed)",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            T0 - 60,
        ),
        (
            "issued 61 s in the future",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            T0 - 61,
        ),
        (
            "surrounding white space",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            format!(" {session}\n"),
            T0 + 60,
        ),
        (
            "wrong key (unknown key id)",
            &other_jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            T0 + 60,
        ),
        (
            "wrong key under the right key id",
            &impostor,
            "mfa-wasm",
            "mfa-wasm",
            s,
            session.clone(),
            T0 + 60,
        ),
        (
            "tampered claims",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            tampered_claims,
            T0 + 60,
        ),
        (
            "tampered signature",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            tampered_sig,
            T0 + 60,
        ),
        (
            "alg none",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            alg_none,
            T0 + 60,
        ),
        (
            "alg HS256",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            alg_hs256,
            T0 + 60,
        ),
        (
            "other issuer expected",
            &jwks,
            "other",
            "mfa-wasm",
            s,
            session.clone(),
            T0 + 60,
        ),
        (
            "other audience expected",
            &jwks,
            "mfa-wasm",
            "other",
            s,
            session.clone(),
            T0 + 60,
        ),
        (
            "device token where a session token is expected",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            device.clone(),
            T0 + 60,
        ),
        (
            "session token where a device token is expected",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            d,
            session.clone(),
            T0 + 60,
        ),
        (
            "valid device token",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            d,
            device.clone(),
            T0 + 86_400,
        ),
        (
            "expired device token",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            d,
            device,
            device_exp,
        ),
        (
            "old key still published after rotation",
            &rotated_jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            old_token,
            T0 + 60,
        ),
        (
            "new key after rotation",
            &rotated_jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            new_token.clone(),
            T0 + 60,
        ),
        (
            "new key, old JWKS",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            new_token,
            T0 + 60,
        ),
        ("empty", &jwks, "mfa-wasm", "mfa-wasm", s, String::new(), T0),
        (
            "one part",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            "abc".into(),
            T0,
        ),
        (
            "two parts",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            format!("{}.{}", parts[0], parts[1]),
            T0,
        ),
        (
            "header not base64url",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            format!("***.{}.{}", parts[1], parts[2]),
            T0,
        ),
        (
            "signature too short",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            format!("{}.{}.AAAA", parts[0], parts[1]),
            T0,
        ),
        (
            "longer than 4096 characters",
            &jwks,
            "mfa-wasm",
            "mfa-wasm",
            s,
            format!("{session}{}", "A".repeat(4096)),
            T0,
        ),
    ];
    list.into_iter()
        .map(|(name, jwks, issuer, audience, kind, token, now)| {
            let mut c = TokenCase {
                name: name.into(),
                jwks: jwks.clone(),
                issuer: issuer.into(),
                audience: audience.into(),
                kind,
                token,
                now,
                result: Value::Null,
            };
            c.result = replay_token(&c);
            c
        })
        .collect()
}

fn phone_cases() -> Vec<PhoneCase> {
    let list: &[(&str, &str, &str)] = &[
        ("UK mobile with trunk 0", "+44", "07700 900123"),
        ("US with punctuation", "1", "(425) 555-0123"),
        ("Italy keeps the leading 0", "+39", "06 1234 5678"),
        ("Ireland, three-digit code", "+353", "086 123 4567"),
        ("Russia", "+7", "912 345-67-89"),
        ("China", "+86", "138 0013 8000"),
        ("no-break spaces", "+44", "07700\u{a0}900\u{a0}123"),
        ("dots", "+33", "06.12.34.56.78"),
        ("exactly 15 digits", "+1", "23456789012345"),
        ("16 digits", "+1", "234567890123456"),
        ("too short", "+1", "123"),
        ("letters", "+1", "425 555 O123"),
        ("plus inside the number", "+44", "+447700900123"),
        ("country code 0", "+0", "1234567"),
        ("country code with leading 0", "+044", "7700900123"),
        ("unassigned country code 210", "+210", "1234567"),
        ("unassigned country code 999", "+999", "1234567"),
        ("two-digit prefix of a one-digit code", "+12", "1234567"),
        ("unassigned two-digit code", "+35", "1234567"),
        ("four-digit country code", "+1234", "1234567"),
        ("empty country code", "", "4255550123"),
        ("empty number", "+1", ""),
    ];
    list.iter()
        .map(|(name, cc, national)| {
            let mut c = PhoneCase {
                name: (*name).into(),
                country_code: (*cc).into(),
                national: (*national).into(),
                result: Value::Null,
            };
            c.result = replay_phone(&c);
            c
        })
        .collect()
}

fn email_cases() -> Vec<EmailCase> {
    let own = || vec!["contoso.com".to_string(), "@Fabrikam.COM ".to_string()];
    let local65 = format!("{}@example.com", "a".repeat(65));
    let long = format!("a@{}.com", vec!["b".repeat(63); 4].join("."));
    let list: Vec<(&str, String, Vec<String>)> = vec![
        (
            "domain lower-cased, local part kept",
            "Bob@Example.ORG".into(),
            own(),
        ),
        ("surrounding spaces", "  alice@example.com ".into(), own()),
        ("organisation domain", "alice@contoso.com".into(), own()),
        (
            "organisation domain in capitals",
            "alice@CONTOSO.COM".into(),
            own(),
        ),
        (
            "subdomain of the organisation",
            "alice@mail.contoso.com".into(),
            own(),
        ),
        (
            "organisation domain written with @ and spaces",
            "alice@fabrikam.com".into(),
            own(),
        ),
        (
            "similar but other domain",
            "alice@notcontoso.com".into(),
            own(),
        ),
        (
            "no organisation domains",
            "alice@contoso.com".into(),
            vec![],
        ),
        ("plus addressing", "alice+mfa@example.com".into(), own()),
        (
            "UTF-8 local part and domain",
            "jörg@bücher.de".into(),
            own(),
        ),
        ("no @", "alice".into(), own()),
        ("empty local part", "@example.com".into(), own()),
        ("single-label domain", "alice@localhost".into(), own()),
        ("double dot", "a..b@example.com".into(), own()),
        ("leading dot", ".alice@example.com".into(), own()),
        (
            "label starting with a dash",
            "alice@-example.com".into(),
            own(),
        ),
        (
            "numeric top-level domain",
            "alice@example.123".into(),
            own(),
        ),
        ("two @", "alice@home@example.com".into(), own()),
        ("space inside", "alice smith@example.com".into(), own()),
        ("local part of 65 characters", local65, own()),
        ("longer than 254 characters", long, own()),
        ("empty", String::new(), own()),
    ];
    list.into_iter()
        .map(|(name, address, organisation_domains)| {
            let mut c = EmailCase {
                name: name.into(),
                address,
                organisation_domains,
                result: Value::Null,
            };
            c.result = replay_email(&c);
            c
        })
        .collect()
}

fn generate() -> Vectors {
    let mut fx = app_passwords();
    Vectors {
        version: VERSION,
        totp: totp_cases(),
        hotp: hotp_cases(),
        totp_checks: totp_check_cases(),
        otpauth: otpauth_cases(),
        app_password_parse: app_password_parse_cases(&mut fx),
        app_password_verify: app_password_verify_cases(&mut fx),
        tokens: token_cases(),
        phone: phone_cases(),
        email: email_cases(),
    }
}

fn render(v: &Vectors) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("vectors serialise");
    s.push('\n');
    s
}

fn committed() -> (String, Vectors) {
    let text = std::fs::read_to_string(path()).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; write it with `cargo test -p mfa-core --test vectors -- --ignored regenerate`",
            path().display()
        )
    });
    let v = serde_json::from_str(&text).expect("engine.json has the documented shape");
    (text, v)
}

// ----- tests ---------------------------------------------------------------------------

#[test]
#[ignore = "writes tests/vectors/engine.json; run on purpose after a deliberate change"]
#[allow(
    clippy::disallowed_methods,
    reason = "the generator writes the vector file; the engine itself does no I/O"
)]
fn regenerate() {
    let v = generate();
    std::fs::create_dir_all(path().parent().unwrap()).unwrap();
    std::fs::write(path(), render(&v)).unwrap();
}

fn check<T>(
    section: &str,
    cases: &[T],
    name: impl Fn(&T) -> &str,
    replay: impl Fn(&T) -> Value,
    want: impl Fn(&T) -> Value,
) {
    assert!(!cases.is_empty(), "{section} has no cases");
    for c in cases {
        assert_eq!(replay(c), want(c), "{section}: {}", name(c));
    }
}

#[test]
fn the_committed_vectors_replay_case_by_case() {
    let (_, v) = committed();
    assert_eq!(v.version, VERSION);
    check(
        "totp",
        &v.totp,
        |c| &c.name,
        |c| json!(replay_totp(c)),
        |c| json!(c.code),
    );
    check(
        "hotp",
        &v.hotp,
        |c| &c.name,
        |c| json!(replay_hotp(c)),
        |c| json!(c.code),
    );
    check(
        "totp_checks",
        &v.totp_checks,
        |c| &c.name,
        replay_totp_check,
        |c| c.result.clone(),
    );
    check(
        "otpauth",
        &v.otpauth,
        |c| &c.name,
        replay_otpauth,
        |c| c.result.clone(),
    );
    check(
        "app_password_parse",
        &v.app_password_parse,
        |c| &c.name,
        replay_app_password_parse,
        |c| c.result.clone(),
    );
    check(
        "app_password_verify",
        &v.app_password_verify,
        |c| &c.name,
        replay_app_password_verify,
        |c| c.result.clone(),
    );
    check(
        "tokens",
        &v.tokens,
        |c| &c.name,
        replay_token,
        |c| c.result.clone(),
    );
    check(
        "phone",
        &v.phone,
        |c| &c.name,
        replay_phone,
        |c| c.result.clone(),
    );
    check(
        "email",
        &v.email,
        |c| &c.name,
        replay_email,
        |c| c.result.clone(),
    );
}

#[test]
fn the_committed_vectors_are_what_the_generator_writes() {
    let (text, v) = committed();
    let fresh = generate();
    assert!(
        v == fresh && text == render(&fresh),
        "tests/vectors/engine.json is out of date: after a deliberate change run \
         `cargo test -p mfa-core --test vectors -- --ignored regenerate` and review the diff"
    );
}

#[test]
fn the_vectors_cover_both_outcomes_and_every_error_a_host_must_map() {
    let (text, v) = committed();
    let outcomes = |results: Vec<&Value>| {
        let oks = results.iter().filter(|r| r.get("ok").is_some()).count();
        let errors: std::collections::BTreeSet<String> = results
            .iter()
            .filter_map(|r| r.get("error").and_then(Value::as_str).map(str::to_string))
            .collect();
        (oks, errors)
    };
    let sections: Vec<(&str, Vec<&Value>, &[&str])> = vec![
        (
            "totp_checks",
            v.totp_checks.iter().map(|c| &c.result).collect(),
            &["wrong_code", "malformed_code", "invalid_input"],
        ),
        (
            "otpauth",
            v.otpauth.iter().map(|c| &c.result).collect(),
            &["invalid_uri"],
        ),
        (
            "app_password_parse",
            v.app_password_parse.iter().map(|c| &c.result).collect(),
            &["malformed_app_password"],
        ),
        (
            "app_password_verify",
            v.app_password_verify.iter().map(|c| &c.result).collect(),
            &[
                "malformed_app_password",
                "unknown_app_password",
                "wrong_app_password",
                "app_password_expired",
                "out_of_scope",
                "invalid_hash",
            ],
        ),
        (
            "tokens",
            v.tokens.iter().map(|c| &c.result).collect(),
            &[
                "malformed_token",
                "bad_signature",
                "token_expired",
                "wrong_token_kind",
            ],
        ),
        (
            "phone",
            v.phone.iter().map(|c| &c.result).collect(),
            &["invalid_input"],
        ),
        (
            "email",
            v.email.iter().map(|c| &c.result).collect(),
            &["invalid_input"],
        ),
    ];
    for (section, results, expected_errors) in sections {
        let (oks, errors) = outcomes(results);
        assert!(oks > 0, "{section} has no successful case");
        let expected: std::collections::BTreeSet<String> =
            expected_errors.iter().map(|s| s.to_string()).collect();
        assert_eq!(errors, expected, "{section}: errors covered");
    }
    // Every number fits a JavaScript number exactly.
    fn max_number(v: &Value) -> u64 {
        match v {
            Value::Number(n) => n
                .as_u64()
                .unwrap_or_else(|| n.as_i64().map_or(u64::MAX, i64::unsigned_abs)),
            Value::Array(a) => a.iter().map(max_number).max().unwrap_or(0),
            Value::Object(o) => o.values().map(max_number).max().unwrap_or(0),
            _ => 0,
        }
    }
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(max_number(&doc) <= MAX_SAFE_INTEGER);
}
