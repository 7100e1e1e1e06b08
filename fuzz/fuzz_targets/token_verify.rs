//! Token verification on any input (the MFA session cookie or header is
//! outside input): raw text, a valid token with bytes changed, and tokens
//! correctly signed over arbitrary header and claims JSON (which reaches the
//! claim checks behind the signature). Always a typed error or claims.
#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use mfa_core::{
    Engine, Jwks, Keys, MfaState, OtpAuthUri, Policy, Registration, SeededRandom, Standing,
    TokenKind, UserRecord, totp_code,
};

const NOW: u64 = 1_700_000_000;

struct Fixture {
    engine: Engine,
    jwks: Jwks,
    valid: String,
    key: SigningKey,
    kid: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let mut rng = SeededRandom::new(b"token_verify fuzz keys");
    let keys = Keys::generate(&mut rng);
    let file: serde_json::Value = serde_json::from_str(&keys.to_json()).expect("key file is JSON");
    let kid = keys.active_signing_id().to_string();
    let seed = file["signing"][0]["key"].as_str().expect("signing key");
    let seed = BASE64URL_NOPAD
        .decode(seed.as_bytes())
        .expect("key is base64");
    let key = SigningKey::from_bytes(&seed.try_into().expect("32-byte key"));
    let engine = Engine::new(Policy::default(), keys).expect("default policy is valid");
    // A real session: "Set it up now" with an authenticator app.
    let mut rec = UserRecord::new("alice@contoso.com", NOW);
    let mut audit = Vec::new();
    engine.set_mfa_state(&mut rec, MfaState::Enabled, "admin", NOW, &mut audit);
    let Ok(Registration::Authenticator { uri, .. }) =
        engine.begin_authenticator(&mut rec, None, NOW, &mut rng, &mut audit)
    else {
        panic!("authenticator registration starts")
    };
    let secret = OtpAuthUri::parse(uri.expose()).expect("uri").0.secret().to_vec();
    let code = totp_code(&secret, &engine.policy().totp, NOW).expect("code");
    let valid = engine
        .finish_registration(&mut rec, Standing::External, &code, false, NOW, &mut rng, &mut audit)
        .expect("set-up")
        .signed_in
        .expect("signed in")
        .session
        .expose()
        .to_string();
    let jwks = Jwks::parse(&engine.jwks().to_json()).expect("own JWKS parses");
    Fixture {
        engine,
        jwks,
        valid,
        key,
        kid,
    }
});

/// Claims of the expected shape with arbitrary values, signed with the real key.
#[derive(Debug, Arbitrary)]
struct Claims<'a> {
    right_issuer: bool,
    right_audience: bool,
    sub: &'a str,
    iat: u64,
    exp: u64,
    jti: &'a str,
    amr: Vec<&'a str>,
    device: bool,
    dev_epoch: Option<u32>,
}

#[derive(Debug, Arbitrary)]
enum Input<'a> {
    Raw(&'a str),
    Edited(Vec<(u16, u8)>),
    Signed {
        header: &'a str,
        claims: &'a str,
        default_header: bool,
    },
    Claims(Claims<'a>),
}

fn sign(f: &Fixture, header: &str, claims: &str) -> String {
    let mut t = BASE64URL_NOPAD.encode(header.as_bytes());
    t.push('.');
    t.push_str(&BASE64URL_NOPAD.encode(claims.as_bytes()));
    let sig = f.key.sign(t.as_bytes());
    t.push('.');
    t.push_str(&BASE64URL_NOPAD.encode(&sig.to_bytes()));
    t
}

fuzz_target!(|input: (u64, bool, Input<'_>)| {
    let f = &*FIXTURE;
    let (now, device, input) = input;
    let kind = if device {
        TokenKind::Device
    } else {
        TokenKind::Session
    };
    let token = match input {
        Input::Raw(text) => text.to_string(),
        Input::Edited(edits) => {
            let mut bytes = f.valid.clone().into_bytes();
            for (pos, byte) in edits {
                let i = usize::from(pos) % bytes.len();
                bytes[i] = byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Input::Signed {
            header,
            claims,
            default_header,
        } => {
            let header = if default_header {
                format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, f.kid)
            } else {
                header.to_string()
            };
            sign(f, &header, claims)
        }
        Input::Claims(c) => {
            let mut claims = serde_json::json!({
                "iss": if c.right_issuer { "mfa-wasm" } else { "other" },
                "sub": c.sub,
                "aud": if c.right_audience { "mfa-wasm" } else { "other" },
                "iat": c.iat,
                "exp": c.exp,
                "jti": c.jti,
                "amr": c.amr,
                "token_use": if c.device { "device" } else { "session" },
            });
            if let Some(epoch) = c.dev_epoch {
                claims["dev_epoch"] = serde_json::json!(epoch);
            }
            let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, f.kid);
            sign(f, &header, &claims.to_string())
        }
    };
    let by_jwks = f.jwks.verify(&token, "mfa-wasm", "mfa-wasm", kind, now);
    let by_engine = match kind {
        TokenKind::Session => f.engine.verify_session(&token, now),
        // The engine has no verifier of its own for these kinds here: a
        // device-token check stands in (it refuses every other kind).
        TokenKind::Device | TokenKind::Login | TokenKind::PasskeySignIn => {
            f.engine
                .verify_device_token(&UserRecord::new("alice@contoso.com", NOW), &token, now)
        }
    };
    // The sign-in step's reading of the same token: only login and session
    // tokens name a caller, and a session only when it verifies as one.
    if let Ok(caller) = f.engine.sign_in_caller(&token, now) {
        assert!(now < caller.expires_at);
        assert_eq!(caller.mfa, f.engine.verify_session(&token, now).is_ok());
    }
    // The gateway (JWKS) and the engine agree, except that the engine also
    // checks the device epoch against the user's record.
    match (&by_jwks, &by_engine) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Ok(_), Err(mfa_core::Error::TokenRevoked)) => assert_eq!(kind, TokenKind::Device),
        (a, b) => assert_eq!(a.as_ref().err(), b.as_ref().err()),
    }
    if let Ok(claims) = by_jwks {
        assert!(now < claims.exp);
        assert_eq!(claims.token_use, kind);
    }
});
