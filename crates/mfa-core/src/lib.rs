//! The mfa-wasm engine: multi-factor authentication rules, written once.
//!
//! `mfa-core` is **sans-IO**. It never reads a clock, draws randomness, logs,
//! or touches storage or the network. Every operation takes the current time
//! (`now`, seconds since the Unix epoch) and, where it creates secrets, a
//! [`RandomSource`] from the caller; it reads and updates a plain
//! [`UserRecord`] and appends the [`AuditEvent`]s it produced to a list the
//! caller owns. This is what lets the same engine run unchanged inside a
//! gateway filter, a WebAssembly component and a browser.
//!
//! # Persisting records
//! A [`UserRecord`] carries a `revision`. Every operation that changes the
//! record increments it exactly once; the host writes the record back with
//! compare-and-swap on the revision it read, so that two concurrent uses of
//! one code give exactly one success.
//!
//! ```
//! use mfa_core::{Engine, Keys, Policy, UserRecord, SeededRandom};
//! let mut rng = SeededRandom::new(b"doc example");
//! let engine = Engine::new(Policy::default(), Keys::generate(&mut rng)).unwrap();
//! let mut record = UserRecord::new("alice@example.com", 1_700_000_000);
//! let mut audit = Vec::new();
//! let next = engine.enrollment_check(&record, 1_700_000_000);
//! assert_eq!(next, mfa_core::NextStep::Continue);
//! engine.set_mfa_state(&mut record, mfa_core::MfaState::Enabled, "admin", 1_700_000_000, &mut audit);
//! assert!(matches!(engine.enrollment_check(&record, 1_700_000_000), mfa_core::NextStep::Register { .. }));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app_password;
mod audit;
mod challenge;
mod contact;
mod encoding;
mod engine;
mod error;
pub mod gateway;
mod hash;
mod keys;
mod one_time_pass;
mod otp;
mod otpauth;
mod policy;
mod primary_password;
mod rand;
mod record;
mod recovery;
mod revocation;
mod secret;
mod send_budget;
mod throttle;
mod token;
mod user_id;
#[cfg(feature = "webauthn")]
pub mod webauthn;

pub use app_password::{
    APP_PASSWORD_LEN, AppPasswordCredential, AppPasswordMatch, NewAppPassword, ParsedAppPassword,
};
pub use audit::{AuditEvent, AuditKind, FailureReason};
pub use challenge::Delivery;
pub use contact::{EmailAddress, PhoneNumber};
pub use engine::{
    Action, Confirmed, DeviceToken, Engine, FirstFactor, LOGIN_LIFETIME_SECS, LoginStep,
    MAX_HOTP_COUNTER, MAX_METHODS, MAX_PASSKEY_NAME_CHARS, MAX_RECENT_PASSKEY_SIGN_INS, NextStep,
    PasskeyDiscovery, PasskeyOptions, Proof, Registered, Registration, SignInCaller, SignInStep,
    SignedIn, Standing, Verified,
};
pub use error::Error;
pub use hash::{
    Argon2Params, PasswordHashCheck, argon2id_for_benchmarks, portable_argon2id_for_benchmarks,
};
pub use keys::{KEY_FILE_VERSION, Keys};
pub use one_time_pass::{
    MAX_ONE_TIME_PASS_SECS, MIN_ONE_TIME_PASS_SECS, ONE_TIME_PASS_SYMBOLS, OneTimePass,
};
pub use otp::{
    Algorithm, CLOCK_DRIFT_SCAN_STEPS, Hotp, OtpMatch, Totp, check_hotp_code, check_totp_code,
    hotp_code, normalize_code, totp_code,
};
pub use otpauth::{MAX_URI_LEN, OtpAuthUri, OtpKind, UriWarning};
pub use policy::{MAX_PASSKEYS_PER_USER, MethodType, PasskeyPolicy, Policy, PolicyBuilder};
pub use primary_password::{
    MAX_PASSWORD_BYTES, MIN_NEW_PASSWORD_BYTES, PasswordCheck, check_password, hash_new_password,
};
pub use rand::{RandomSource, SeededRandom};
pub use record::{
    AppPasswordInfo, Method, MethodId, MethodKind, MfaState, PhoneChannel, RECORD_SCHEMA,
    UserRecord,
};
pub use recovery::RecoveryCodes;
pub use revocation::{MAX_REVOCATIONS_BYTES, RevocationCheck, Revocations};
pub use secret::SecretString;
pub use send_budget::{SendGuard, SendGuardLimits};
pub use throttle::Factor;
pub use token::{Jwk, Jwks, SessionClaims, TokenKind};
pub use user_id::{MAX_USER_ID_CHARS, UserId};

/// Seconds since the Unix epoch, as every operation of the engine takes it.
pub type UnixTime = u64;
