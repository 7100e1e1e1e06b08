//! Browser bindings of the mfa-wasm engine, for the enrolment widget.
//!
//! Thin: every rule lives in `mfa-core`; this crate translates types (through
//! `serde-wasm-bindgen`) and errors (through `into_error`, which keeps the
//! engine's message). Nothing here reads a clock or checks a code: the
//! engine behind the server does (a wrong phone clock at registration is its
//! `clock_drift` refusal).
#![forbid(unsafe_code)]

use mfa_core::{
    EmailAddress, Error, OtpAuthUri, OtpKind, ParsedAppPassword, PhoneNumber, UriWarning,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The page's heap: talc, which grows the wasm memory as needed, in place of
/// the standard library's dlmalloc (several kilobytes smaller in the download).
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The one way engine errors cross into JavaScript: a `JsError` whose message
/// is the engine's, prefixed by its stable code (`wrong_code: the code is not correct`).
fn into_error(e: Error) -> JsError {
    JsError::new(&format!("{}: {e}", e.code()))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("internal: cannot convert result: {e}")))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UriView {
    kind: &'static str,
    issuer: Option<String>,
    account: String,
    algorithm: &'static str,
    digits: u8,
    period: Option<u32>,
    counter: Option<u64>,
    /// The secret in base32 groups of four, for manual entry.
    manual_key: String,
    warnings: Vec<String>,
}

fn describe(w: &UriWarning) -> String {
    match w {
        UriWarning::ShortSecret { bits } => {
            format!("The key has only {bits} bits; at least 128 are needed.")
        }
        UriWarning::IssuerMismatch => {
            "The issuer in the label and the issuer parameter differ.".into()
        }
        UriWarning::MissingIssuer => "No issuer: your app will show only the account name.".into(),
        UriWarning::OftenIgnored { parameter } => {
            format!(
                "Some authenticator apps ignore the {parameter} setting and will show wrong codes."
            )
        }
        UriWarning::UnknownParameter { parameter } => {
            format!("Unknown setting {parameter} ignored.")
        }
        // A kind of warning newer than this widget: say something true.
        _ => "Some settings of this key may not work in every authenticator app.".into(),
    }
}

/// Parse an `otpauth://` URI into `{kind, issuer, account, algorithm, digits,
/// period, counter, manualKey, warnings}`.
#[wasm_bindgen(js_name = parseOtpauth)]
pub fn parse_otpauth(uri: &str) -> Result<JsValue, JsError> {
    let (parsed, warnings) = OtpAuthUri::parse(uri).map_err(into_error)?;
    let (kind, period, counter) = match parsed.kind {
        OtpKind::Totp { period } => ("totp", Some(period), None),
        OtpKind::Hotp { counter } => ("hotp", None, Some(counter)),
    };
    // JavaScript numbers are exact below 2^53 (Number.MAX_SAFE_INTEGER is
    // 2^53 - 1); a larger HOTP counter cannot be shown.
    if counter.is_some_and(|c| c >= (1u64 << 53)) {
        return Err(JsError::new(
            "invalid_input: the HOTP counter is too large for this page",
        ));
    }
    to_js(&UriView {
        kind,
        issuer: parsed.issuer.clone(),
        account: parsed.account.clone(),
        algorithm: parsed.algorithm.as_str(),
        digits: parsed.digits,
        period,
        counter,
        manual_key: parsed.secret_base32().expose().to_string(),
        warnings: warnings.iter().map(describe).collect(),
    })
}

/// Render `text` as a QR code in SVG (no network, no canvas), error
/// correction level M. The SVG has a `viewBox` and scales to its container;
/// `label` becomes its accessible name.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str, label: &str) -> Result<String, JsError> {
    use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};
    let code = QrCode::encode_segments_advanced(
        &QrSegment::make_segments(text),
        QrCodeEcc::Medium,
        Version::MIN,
        Version::MAX,
        None,
        false,
    )
    .map_err(|_| JsError::new("invalid_input: this text is too long for a QR code"))?;
    let width = code.size();
    let quiet = 4;
    let size = (width + 2 * quiet).to_string();
    // One rectangle per horizontal run of dark modules keeps the SVG small.
    let mut path = String::with_capacity((width * width) as usize);
    for y in 0..width {
        let mut x = 0;
        while x < width {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && code.get_module(x, y) {
                x += 1;
            }
            let run = (x - start).to_string();
            for part in [
                "M",
                &(start + quiet).to_string(),
                " ",
                &(y + quiet).to_string(),
                "h",
                &run,
                "v1h-",
                &run,
                "z",
            ] {
                path.push_str(part);
            }
        }
    }
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    Ok([
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#,
        &size,
        " ",
        &size,
        r#"" role="img" aria-label=""#,
        &label,
        r#"" shape-rendering="crispEdges"><rect width=""#,
        &size,
        r#"" height=""#,
        &size,
        r#"" fill="var(--mfa-qr-light, #fff)"/><path d=""#,
        &path,
        r#"" fill="var(--mfa-qr-dark, #000)"/></svg>"#,
    ]
    .concat())
}

/// Normalise a typed code (spaces and dashes removed) and check it has `digits` digits.
#[wasm_bindgen(js_name = normalizeCode)]
pub fn normalize_code(code: &str, digits: u8) -> Result<String, JsError> {
    mfa_core::normalize_code(code, digits).map_err(into_error)
}

/// Check that text looks like an app password of this system (format and
/// checksum, no hashing); returns its public id.
#[wasm_bindgen(js_name = appPasswordId)]
pub fn app_password_id(presented: &str) -> Result<String, JsError> {
    ParsedAppPassword::parse(presented)
        .map(|p| p.id)
        .map_err(into_error)
}

/// Format an app password for reading aloud or typing: eight groups of four
/// separated by `separator` (a space or a dash).
#[wasm_bindgen(js_name = formatAppPassword)]
pub fn format_app_password(presented: &str, separator: &str) -> Result<String, JsError> {
    let parsed = ParsedAppPassword::parse(presented).map_err(into_error)?;
    let canonical = parsed.canonical().expose();
    let groups: Vec<&str> = (0..canonical.len())
        .step_by(4)
        .map(|i| &canonical[i..i + 4])
        .collect();
    Ok(groups.join(separator))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhoneView {
    /// The country calling code with its `+`, as the server takes it.
    country_code: String,
    /// The national number, digits only.
    national: String,
    /// The number in E.164 form, as it will be registered.
    e164: String,
    /// The number as sign-in pages will show it.
    masked: String,
}

/// Check an authentication phone number as typed before it is sent to the
/// server: a country code such as `+44` and a national number (spaces, dashes
/// and a leading trunk `0` are fine), or a whole international number starting
/// with `+` in `number` (then `country_code` is ignored). Returns
/// `{countryCode, national, e164, masked}`.
#[wasm_bindgen(js_name = checkPhone)]
pub fn check_phone(country_code: &str, number: &str) -> Result<JsValue, JsError> {
    let phone = if number.trim_start().starts_with('+') {
        let compact: String = number
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}'))
            .collect();
        PhoneNumber::parse_e164(&compact)
    } else {
        PhoneNumber::parse(country_code, number)
    }
    .map_err(into_error)?;
    to_js(&PhoneView {
        country_code: format!("+{}", phone.country_code),
        national: phone.national.clone(),
        e164: phone.e164(),
        masked: phone.masked(),
    })
}

/// Check the syntax of an authentication e-mail address before it is sent to
/// the server; returns the address as it will be registered. (Whether the
/// organisation refuses its own domains is decided by the server's policy.)
#[wasm_bindgen(js_name = checkEmail)]
pub fn check_email(address: &str) -> Result<String, JsError> {
    EmailAddress::parse(address, &[])
        .map(|a| a.as_str().to_string())
        .map_err(into_error)
}

/// The engine version, for diagnostics.
#[wasm_bindgen(js_name = engineVersion)]
pub fn engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
