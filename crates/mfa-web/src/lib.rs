//! Browser bindings of the mfa-wasm engine, for the enrolment widget.
//!
//! Thin: every rule lives in `mfa-core`; this crate translates types (into plain
//! JavaScript objects) and errors (through `into_error`, which keeps the
//! engine's message). Nothing here reads the system clock, which traps in
//! browsers. TOTP codes are not computed here: the widget estimates clock
//! drift with the browser's WebCrypto HMAC from [`otpauth_secret`], which keeps
//! SHA-1/256/512 out of the download.
#![forbid(unsafe_code)]

use mfa_core::{
    EmailAddress, Error, OtpAuthUri, OtpKind, ParsedAppPassword, PhoneNumber, UriWarning,
};
use wasm_bindgen::prelude::*;

/// The one way engine errors cross into JavaScript: a `JsError` whose message
/// is the engine's, prefixed by its stable code (`wrong_code: the code is not correct`).
fn into_error(e: Error) -> JsError {
    JsError::new(&format!("{}: {e}", e.code()))
}

/// A plain JavaScript object with these properties, in this order. (Built
/// directly rather than through a serializer: the browser build carries every
/// byte of code.)
fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, JsError> {
    let o = js_sys::Object::new();
    for (name, value) in fields {
        js_sys::Reflect::set(&o, &JsValue::from_str(name), value)
            .map_err(|_| JsError::new("internal: cannot build the result object"))?;
    }
    Ok(o.into())
}

/// A JavaScript number, or `null`.
fn number_or_null(n: Option<f64>) -> JsValue {
    n.map_or(JsValue::NULL, JsValue::from_f64)
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
    // JavaScript numbers are exact up to 2^53; a larger HOTP counter cannot be shown.
    if counter.is_some_and(|c| c > (1u64 << 53)) {
        return Err(JsError::new(
            "invalid_input: the HOTP counter is too large for this page",
        ));
    }
    let warnings: js_sys::Array = warnings
        .iter()
        .map(|w| JsValue::from_str(&describe(w)))
        .collect();
    object(&[
        ("kind", kind.into()),
        (
            "issuer",
            parsed
                .issuer
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
        ),
        ("account", parsed.account.as_str().into()),
        ("algorithm", parsed.algorithm.as_str().into()),
        ("digits", parsed.digits.into()),
        ("period", number_or_null(period.map(f64::from))),
        ("counter", number_or_null(counter.map(|c| c as f64))),
        // The secret in base32 groups of four, for manual entry.
        ("manualKey", parsed.secret_base32().expose().into()),
        ("warnings", warnings.into()),
    ])
}

/// Render `text` as a QR code in SVG (no network, no canvas). The SVG has a
/// `viewBox` and scales to its container; `label` becomes its accessible name.
#[wasm_bindgen(js_name = qrSvg)]
pub fn qr_svg(text: &str, label: &str) -> Result<String, JsError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| {
            JsError::new(&format!(
                "invalid_input: cannot encode this text as a QR code: {e}"
            ))
        })?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    // One rectangle per horizontal run of dark modules keeps the SVG small.
    let colors = code.to_colors();
    let mut path = String::with_capacity(width * width);
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] != qrcode::Color::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == qrcode::Color::Dark {
                x += 1;
            }
            let run = x - start;
            path.push_str(&format!("M{} {}h{run}v1h-{run}z", start + quiet, y + quiet));
        }
    }
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    Ok(format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" aria-label="{label}" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="var(--mfa-qr-light, #fff)"/><path d="{path}" fill="var(--mfa-qr-dark, #000)"/></svg>"#
    ))
}

/// Normalise a typed code (spaces and dashes removed) and check it has `digits` digits.
#[wasm_bindgen(js_name = normalizeCode)]
pub fn normalize_code(code: &str, digits: u8) -> Result<String, JsError> {
    mfa_core::normalize_code(code, digits).map_err(into_error)
}

/// The shared secret of an `otpauth://` URI as bytes (a `Uint8Array`): the
/// page computes the codes the authenticator app will show from it, to tell
/// the user when their phone's clock is off (the widget does that with the
/// browser's own HMAC, so the engine's hash functions stay out of the page).
/// The same secret is on screen as the manual key during enrolment.
#[wasm_bindgen(js_name = otpauthSecret)]
pub fn otpauth_secret(uri: &str) -> Result<Vec<u8>, JsError> {
    let (parsed, _) = OtpAuthUri::parse(uri).map_err(into_error)?;
    Ok(parsed.secret().to_vec())
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
    object(&[
        // The country calling code with its `+`, as the server takes it.
        ("countryCode", format!("+{}", phone.country_code).into()),
        // The national number, digits only.
        ("national", phone.national.as_str().into()),
        // The number in E.164 form, as it will be registered.
        ("e164", phone.e164().into()),
        // The number as sign-in pages will show it.
        ("masked", phone.masked().into()),
    ])
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
