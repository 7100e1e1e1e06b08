//! The browser bindings, run under `wasm-bindgen-test-runner` (Node).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const URI: &str = "otpauth://totp/Contoso:alice%40contoso.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso";

fn field(v: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(name)).expect("object")
}

fn message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    js_sys::Error::from(v).message().into()
}

#[wasm_bindgen_test]
fn parses_otpauth_with_manual_key_and_warnings() {
    let v = mfa_web::parse_otpauth(URI).unwrap();
    assert_eq!(field(&v, "kind").as_string().unwrap(), "totp");
    assert_eq!(
        field(&v, "account").as_string().unwrap(),
        "alice@contoso.com"
    );
    assert_eq!(
        field(&v, "manualKey").as_string().unwrap(),
        "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
    );
    let short = mfa_web::parse_otpauth("otpauth://totp/A:b?secret=GEZDGNBV&issuer=A").unwrap();
    let warnings = js_sys::Array::from(&field(&short, "warnings"));
    assert_eq!(warnings.length(), 1);
    let err = message(mfa_web::parse_otpauth("https://example.com").unwrap_err());
    assert!(err.starts_with("invalid_uri: "), "{err}");
}

#[wasm_bindgen_test]
fn qr_svg_is_an_accessible_scalable_image() {
    let svg = mfa_web::qr_svg(URI, "QR code for <Contoso>").unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("viewBox=\"0 0 "));
    assert!(svg.contains("aria-label=\"QR code for &lt;Contoso>\""));
    assert!(svg.matches('M').count() > 100, "modules are drawn");
}

/// The modules the SVG path draws, as a grid with its quiet zone: `(side, dark)`.
fn drawn_modules(svg: &str) -> (usize, Vec<bool>) {
    let side: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let path = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut drawn = vec![false; side * side];
    for run in path.split('M').filter(|r| !r.is_empty()) {
        // "x yhNv1h-Nz"
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let n: usize = rest.split_once('v').unwrap().0.parse().unwrap();
        assert!(n > 0 && x + n <= side - 4 && x >= 4 && y >= 4 && y < side - 4);
        for i in 0..n {
            assert!(!drawn[y * side + x + i], "no module is drawn twice");
            drawn[y * side + x + i] = true;
        }
    }
    (side, drawn)
}

#[wasm_bindgen_test]
fn qr_svg_scans_back_to_the_uri() {
    let svg = mfa_web::qr_svg(URI, "QR").unwrap();
    let (side, dark) = drawn_modules(&svg);
    // Rendered at 4 pixels a module and read by an independent decoder, as a phone would.
    let scale = 4;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(side * scale, side * scale, |x, y| {
            if dark[(y / scale) * side + x / scale] {
                0
            } else {
                255
            }
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code is found");
    let (meta, content) = grids[0].decode().unwrap();
    assert_eq!(content, URI);
    assert_eq!(meta.ecc_level, 0, "error correction level M");
    // The same symbol size as another encoder picks for this text at level M.
    let other =
        qrcode::QrCode::with_error_correction_level(URI.as_bytes(), qrcode::EcLevel::M).unwrap();
    assert_eq!(side, other.width() + 8);
}

#[wasm_bindgen_test]
fn qr_svg_refuses_text_beyond_the_largest_code() {
    let err = message(mfa_web::qr_svg(&"x".repeat(3000), "QR").unwrap_err());
    assert_eq!(err, "invalid_input: this text is too long for a QR code");
}

#[wasm_bindgen_test]
fn codes_are_normalised_and_checked() {
    assert_eq!(mfa_web::normalize_code(" 123 456 ", 6).unwrap(), "123456");
    let err = message(mfa_web::normalize_code("12a456", 6).unwrap_err());
    assert_eq!(err, "malformed_code: the code must be 6 digits");
}

#[wasm_bindgen_test]
fn hotp_counters_beyond_javascript_numbers_are_refused_clearly() {
    let uri = "otpauth://hotp/Contoso:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso&counter=9007199254740992";
    let err = message(mfa_web::parse_otpauth(uri).unwrap_err());
    assert_eq!(
        err,
        "invalid_input: the HOTP counter is too large for this page"
    );
    let ok = "otpauth://hotp/Contoso:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Contoso&counter=9007199254740991";
    let v = mfa_web::parse_otpauth(ok).unwrap();
    assert_eq!(
        field(&v, "counter").as_f64().unwrap(),
        9_007_199_254_740_991.0
    );
}

/// A well-formed app password built from its documented format: 30 symbols
/// of the friendly alphabet and a checksum (weighted sum modulo 1021).
fn app_password() -> String {
    const FRIENDLY: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let body: Vec<u8> = (0..30u8).map(|i| (i * 7 + 3) % 32).collect();
    let sum = body.iter().enumerate().fold(0u32, |acc, (i, v)| {
        (acc + (i as u32 + 1) * u32::from(*v)) % 1021
    });
    body.iter()
        .copied()
        .chain([(sum / 32) as u8, (sum % 32) as u8])
        .map(|v| FRIENDLY[v as usize] as char)
        .collect()
}

#[wasm_bindgen_test]
fn app_passwords_are_checked_and_formatted() {
    let err = message(mfa_web::app_password_id("hunter2").unwrap_err());
    assert!(err.starts_with("malformed_app_password: "));
    let pw = app_password();
    let grouped = mfa_web::format_app_password(&pw, " ").unwrap();
    assert_eq!(grouped.len(), 32 + 7);
    assert_eq!(grouped.replace(' ', ""), pw);
    // Dashes, spaces and capitals as a person may type them are read the same.
    let typed =
        mfa_web::format_app_password(&grouped.to_uppercase().replace(' ', "-"), "").unwrap();
    assert_eq!(typed, pw);
    assert_eq!(mfa_web::app_password_id(&grouped).unwrap(), &pw[..4]);
    // One mistyped symbol is caught by the checksum.
    let swapped = format!(
        "{}{}",
        if pw.starts_with('a') { 'b' } else { 'a' },
        &pw[1..]
    );
    assert!(mfa_web::format_app_password(&swapped, " ").is_err());
}

#[wasm_bindgen_test]
fn phone_numbers_are_checked_before_sending() {
    let v = mfa_web::check_phone("+44", "07700 900123").unwrap();
    assert_eq!(field(&v, "e164").as_string().unwrap(), "+447700900123");
    assert_eq!(field(&v, "masked").as_string().unwrap(), "+44 ••••••••23");
    // A whole international number wins over the country chosen in the list.
    let whole = mfa_web::check_phone("+1", "+44 (0)7700-900123").unwrap();
    assert_eq!(field(&whole, "countryCode").as_string().unwrap(), "+44");
    assert_eq!(field(&whole, "national").as_string().unwrap(), "7700900123");
    let err = message(mfa_web::check_phone("+0", "123").unwrap_err());
    assert!(
        err.starts_with("invalid_input: invalid country code"),
        "{err}"
    );
}

#[wasm_bindgen_test]
fn email_addresses_are_checked_before_sending() {
    assert_eq!(
        mfa_web::check_email(" alice@example.net ").unwrap(),
        "alice@example.net"
    );
    let err = message(mfa_web::check_email("alice.example.net").unwrap_err());
    assert_eq!(
        err,
        "invalid_input: invalid email: must look like name@example.com"
    );
}
