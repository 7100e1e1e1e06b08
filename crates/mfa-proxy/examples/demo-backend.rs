//! Loopback backend for `host-examples/envoy`: the app-password verify
//! endpoint (the server's contract, answered by the real engine) on
//! 127.0.0.1:8080 and an upstream that echoes the headers it received on
//! 127.0.0.1:8081.
//!
//! DEMO ONLY: the signing key and the app password derive from a public seed,
//! so that `envoy.yaml` can carry the matching JWKS and the README can show
//! real output. Never use them anywhere else.
//!
//! `cargo run -p mfa-proxy --example demo-backend` (`--jwks` prints the JWKS and exits).
#![allow(clippy::print_stderr, reason = "a demo program talks to its user")]

#[path = "../tests/support/backend.rs"]
mod backend;

use mfa_core::{Engine, Keys, Policy, SeededRandom, UserRecord};

const USER: &str = "demo@example.com";

fn main() {
    let mut rng = SeededRandom::new(b"mfa-proxy demo: public seed, never for real use");
    let engine = match Engine::new(Policy::default(), Keys::generate(&mut rng)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("demo-backend: {e}");
            std::process::exit(1);
        }
    };
    if std::env::args().any(|a| a == "--jwks") {
        println!("{}", engine.jwks().to_json());
        return;
    }
    let now = backend::unix_now();
    let mut record = UserRecord::new(USER, now);
    let mut audit = Vec::new();
    let made = engine.create_app_password(
        &mut record,
        "Demo mail client",
        &[],
        None,
        now,
        &mut rng,
        &mut audit,
    );
    let scoped = engine.create_app_password(
        &mut record,
        "Demo SMTP relay",
        &["smtp".to_string()],
        None,
        now,
        &mut rng,
        &mut audit,
    );
    let (Ok(mail), Ok(smtp)) = (made, scoped) else {
        eprintln!("demo-backend: cannot create the demo app passwords");
        std::process::exit(1);
    };
    let session = backend::session_token(&engine, record.user_id(), now, &mut backend::OsRandom);
    let verify = backend::VerifyService::start(8080, engine, vec![record]);
    let upstream = backend::echo_upstream(8081);
    let (Ok(_verify), Ok(_upstream)) = (verify, upstream) else {
        eprintln!("demo-backend: ports 8080 and 8081 on 127.0.0.1 must be free");
        std::process::exit(1);
    };
    println!("verify endpoint  http://127.0.0.1:8080/api/v1/app-passwords/verify");
    println!("echo upstream    http://127.0.0.1:8081/");
    println!("user             {USER}");
    println!("app password     {}   (any scope)", mail.password.expose());
    println!("app password     {}   (smtp only)", smtp.password.expose());
    println!("session token    {session}");
    println!("(demo only: keys and passwords derive from a public seed)");
    loop {
        std::thread::park();
    }
}
