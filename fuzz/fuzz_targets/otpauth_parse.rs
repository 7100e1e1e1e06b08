//! `OtpAuthUri::parse` on any text (a scanned QR code is outside input): it
//! returns a typed error or a URI, never panics; and a URI it accepts, written
//! out again, reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mfa_core::{Error, MAX_URI_LEN, OtpAuthUri};

fuzz_target!(|text: &str| {
    let (uri, _warnings) = match OtpAuthUri::parse(text) {
        Ok(parsed) => parsed,
        Err(Error::InvalidUri { reason }) => {
            assert!(!reason.is_empty());
            return;
        }
        Err(other) => panic!("unexpected error kind: {other:?}"),
    };
    assert!((6..=8).contains(&uri.digits));
    assert!(!uri.secret().is_empty());
    assert!(!uri.account.is_empty());
    // The key URI format forbids a colon in the issuer and the account (it
    // separates them in the label); the round trip holds for every other URI.
    if uri.account.contains(':') || uri.issuer.as_deref().is_some_and(|i| i.contains(':')) {
        return;
    }
    let written = uri.to_uri();
    if written.expose().len() > MAX_URI_LEN {
        // Percent-encoding can make the written URI longer than the input.
        return;
    }
    let (again, _) =
        OtpAuthUri::parse(written.expose()).expect("a URI the engine writes parses again");
    assert_eq!(again, uri);
});
