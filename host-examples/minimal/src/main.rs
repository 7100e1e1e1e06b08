//! The smallest embedding of the mfa-wasm component: load it, register a
//! user's authenticator app, and verify a code.
//!
//! ```text
//! cargo build -p mfa-component --target wasm32-wasip2 --release
//! cargo run --release -p mfa-host-minimal -- target/wasm32-wasip2/release/mfa_component.wasm
//! ```
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use mfa_host::{MfaHost, MfaState, Record, TotpParams};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run(wasm_path: &str, keys_path: Option<&str>) -> Result<(), mfa_host::Error> {
    let wasm = std::fs::read(wasm_path).map_err(|e| mfa_host::Error::Load {
        reason: format!("cannot read {wasm_path}: {e}"),
    })?;
    // The key file: yours, or a fresh one for this demo.
    let keys = match keys_path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| mfa_host::Error::Config {
            reason: format!("cannot read {p}: {e}"),
        })?,
        None => mfa_host::generate_key_file(&wasm)?,
    };

    // 1. Load the component once (compiled, or from the cache); share `host` between threads.
    let host = MfaHost::builder()
        .component_bytes(wasm)
        .keys(keys)
        .cache_dir(std::env::temp_dir().join("mfa-host-cache"))
        .build()?;
    println!("component loaded: {:?}", host.cache_status());

    // 2. A user without a stored record: the admin turns MFA on.
    //    Keep `saved.stored` as the user's record (compare-and-swap on its revision).
    let t = now();
    let new = Record::New {
        user_id: "alice@example.com",
        now: t,
    };
    let out = host.set_mfa_state(new, MfaState::Enabled, "admin", t)?;
    let mut record = out.saved.stored.unwrap_or_default();
    println!("MFA enabled: revision {}", out.saved.revision);

    // 3. Register an authenticator app: the user scans the QR code of `uri`.
    let out = host.begin_authenticator(Record::Stored(&record), None, t)?;
    record = out.saved.stored.unwrap_or(record);
    let setup = out.result?;
    println!(
        "registration started for {} (expires at {})",
        setup.account, setup.expires_at
    );

    // The user's app computes the code; here the component plays the app.
    let app_secret = host.parse_otpauth(setup.uri.expose())?.secret;
    let params = TotpParams {
        algorithm: mfa_host::Algorithm::Sha1,
        digits: 6,
        period: 30,
    };
    let code = host.totp_code(app_secret.expose(), params, t)?;

    // 4. The first code proves the registration.
    let out = host.confirm_registration(Record::Stored(&record), code.expose(), t)?;
    record = out.saved.stored.unwrap_or(record);
    let confirmed = out.result?;
    println!(
        "registered method {}; {} recovery codes issued",
        confirmed.method_id,
        confirmed.recovery_codes.map_or(0, |r| r.codes.len())
    );

    // 5. Sign-in half a minute later: verify the code the app shows then.
    let later = t + 30;
    let code = host.totp_code(app_secret.expose(), params, later)?;
    let out = host.verify(Record::Stored(&record), None, code.expose(), later)?;
    // Store the record whatever the answer: a refusal counts towards the lock.
    record = out.saved.stored.unwrap_or(record);
    match out.result {
        Ok(v) => println!("verified: amr {:?}, revision {}", v.amr, out.saved.revision),
        Err(refusal) => println!("refused: {refusal}"),
    }

    // The same code again is refused.
    let out = host.verify(Record::Stored(&record), None, code.expose(), later + 1)?;
    if let Err(refusal) = out.result {
        println!("same code again: refused ({}): {refusal}", refusal.code());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(wasm) = args.first() else {
        eprintln!("usage: mfa-host-minimal COMPONENT.wasm [KEYS.json]");
        return ExitCode::FAILURE;
    };
    match run(wasm, args.get(1).map(String::as_str)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
