//! Shared test helpers: build the component, make keys and policies, and build hosts.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use mfa_host::{self as host, MfaHost, Outcome, Policy, Record};

pub const NOW: u64 = 1_700_000_000;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Build `mfa-component` for wasm32-wasip2 (a no-op when it is up to date) and
/// return the path of the `.wasm`. `MFA_COMPONENT_WASM` overrides the path.
fn build(features: &[&str], target_dir: &Path) -> PathBuf {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root()).args([
        "build",
        "-p",
        "mfa-component",
        "--target",
        "wasm32-wasip2",
        "--release",
        "--target-dir",
    ]);
    cmd.arg(target_dir);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd.output().expect("run cargo to build the component");
    assert!(
        out.status.success(),
        "building the component failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = target_dir.join("wasm32-wasip2/release/mfa_component.wasm");
    assert!(wasm.exists(), "cargo did not produce {}", wasm.display());
    wasm
}

/// The shipped component.
pub fn component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| match std::env::var_os("MFA_COMPONENT_WASM") {
        Some(p) => PathBuf::from(p),
        None => build(&[], &target_dir()),
    })
}

/// The component built with the test-only `misbehave` feature, in its own target dir.
pub fn misbehaving_component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build(&["misbehave"], &target_dir().join("misbehave")))
}

/// Keys from a fixed seed, as the key file JSON.
pub fn keys_json(seed: &[u8]) -> String {
    let mut rng = mfa_core::SeededRandom::new(seed);
    mfa_core::Keys::generate(&mut rng).to_json()
}

/// The engine's policy as the WIT record.
pub fn host_policy(p: &mfa_core::Policy) -> Policy {
    use mfa_host::{Algorithm, Argon2Params, MethodType, TotpParams};
    let mt = |m: &mfa_core::MethodType| match m {
        mfa_core::MethodType::AuthenticatorApp => MethodType::AuthenticatorApp,
        mfa_core::MethodType::Text => MethodType::Text,
        mfa_core::MethodType::Call => MethodType::Call,
        mfa_core::MethodType::Email => MethodType::Email,
        mfa_core::MethodType::Passkey => MethodType::Passkey,
    };
    Policy {
        issuer: p.issuer.clone(),
        audience: p.audience.clone(),
        allowed_methods: p.allowed_methods.iter().map(mt).collect(),
        app_passwords_allowed: p.app_passwords_allowed,
        max_app_passwords: p.max_app_passwords,
        remember_device_days: p.remember_device_days,
        session_lifetime_secs: p.session_lifetime_secs,
        totp: TotpParams {
            algorithm: match p.totp.algorithm {
                mfa_core::Algorithm::Sha1 => Algorithm::Sha1,
                mfa_core::Algorithm::Sha256 => Algorithm::Sha256,
                mfa_core::Algorithm::Sha512 => Algorithm::Sha512,
            },
            digits: p.totp.digits,
            period: p.totp.period,
        },
        totp_window: p.totp_window,
        hotp_look_ahead: p.hotp_look_ahead,
        hotp_resync_window: p.hotp_resync_window,
        allow_short_secrets: p.allow_short_secrets,
        code_digits: p.code_digits,
        code_lifetime_secs: p.code_lifetime_secs,
        code_attempts: p.code_attempts,
        registration_lifetime_secs: p.registration_lifetime_secs,
        recovery_code_count: p.recovery_code_count,
        free_failures: p.free_failures,
        backoff_base_secs: p.backoff_base_secs,
        backoff_max_secs: p.backoff_max_secs,
        lockout_threshold: p.lockout_threshold,
        lockout_secs: p.lockout_secs,
        argon2: Argon2Params {
            m_kib: p.argon2.m_kib,
            t: p.argon2.t,
            p: p.argon2.p,
        },
        organisation_domains: p.organisation_domains.clone(),
        send_gap_secs: p.send_gap_secs,
        sends_per_hour: p.sends_per_hour,
        sends_per_day: p.sends_per_day,
        phone_country_codes: p.phone_country_codes.clone(),
        failure_cap: p.failure_cap,
        reauth_window_secs: p.reauth_window_secs,
        passkeys: mfa_host::PasskeyPolicy {
            rp_id: p.passkeys.rp_id.clone(),
            rp_name: p.passkeys.rp_name.clone(),
            origins: p.passkeys.origins.clone(),
            require_user_verification: p.passkeys.require_user_verification,
            allowed_aaguids: p.passkeys.allowed_aaguids.clone(),
            accept_sign_count_regression: p.passkeys.accept_sign_count_regression,
            max_per_user: p.passkeys.max_per_user,
        },
    }
}

/// A test policy: cheap argon2 so that flows run fast.
pub fn test_policy() -> mfa_core::Policy {
    mfa_core::Policy::builder()
        .argon2(mfa_core::Argon2Params::INSECURE_FOR_TESTS)
        .max_app_passwords(3)
        .build()
        .expect("valid test policy")
}

/// The precompiled-component cache the tests share, so that the component is
/// compiled once per run rather than once per host.
pub fn cache_dir() -> PathBuf {
    target_dir().join("mfa-host-test-cache")
}

/// A host over the shipped component with `policy` and keys from `seed`.
pub fn host_with(policy: &mfa_core::Policy, seed: &[u8]) -> MfaHost {
    MfaHost::builder()
        .component_file(component())
        .keys(keys_json(seed))
        .policy(host_policy(policy))
        .cache_dir(cache_dir())
        .max_instances(4)
        .build()
        .expect("host builds")
}

/// A host's record store for one user.
pub struct User {
    pub stored: Option<Vec<u8>>,
}

impl User {
    pub fn record(&self) -> Record<'_> {
        match &self.stored {
            Some(b) => Record::Stored(b),
            None => Record::New {
                user_id: "alice@example.com",
                now: NOW,
            },
        }
    }

    pub fn keep<T>(
        &mut self,
        out: Result<Outcome<T>, host::Error>,
    ) -> Result<T, host::EngineError> {
        let out = out.expect("no host failure");
        if let Some(b) = out.saved.stored {
            let summary = out
                .saved
                .summary
                .expect("a changed record comes with its summary");
            assert_eq!(summary.revision, out.saved.revision);
            self.stored = Some(b);
        }
        out.result
    }
}
