//! Embed the mfa-wasm engine component in wasmtime.
//!
//! [`MfaHost`] loads the component (`mfa_component.wasm`, built from
//! `crates/mfa-component`), compiles it once — or loads the precompiled
//! artifact from a cache directory — and serves every engine operation of the
//! contract in `wit/` through a typed Rust API:
//!
//! - a pool of ready instances on wasmtime's pooling allocator, each with the
//!   `engine` resource already built from the policy and keys;
//! - a memory limit per instance and an epoch deadline per call: a runaway or
//!   crashing guest becomes [`Error::Timeout`], [`Error::MemoryLimit`] or
//!   [`Error::Trap`], its instance is discarded, and the host serves on;
//! - `Send + Sync` and cheap to clone: share one `MfaHost` between threads.
//!
//! With the `json` feature, [`json`] holds the JSON forms of the engine's
//! types (the names of its enums, the policy as an administrator writes it,
//! and renderers of methods, app passwords, next steps and audit events), so
//! a host writes none of its own.
//!
//! Records are opaque bytes to the host: pass what you stored (or
//! [`Record::New`] for a user without one), and write back
//! [`Saved::stored`] with compare-and-swap on the revision you read, whatever
//! the operation answered.
//!
//! ```no_run
//! use mfa_host::{MfaHost, Record};
//! # fn main() -> Result<(), mfa_host::Error> {
//! let keys = std::fs::read_to_string("keys.json").expect("key file");
//! let host = MfaHost::builder()
//!     .component_file("target/wasm32-wasip2/release/mfa_component.wasm")
//!     .keys(keys)
//!     .cache_dir(".cache/mfa-host")
//!     .build()?;
//! let stored: Vec<u8> = std::fs::read("alice.record").expect("record");
//! let outcome = host.verify(Record::Stored(&stored), None, "123456", 1_700_000_000)?;
//! if let Some(bytes) = &outcome.saved.stored {
//!     // write `bytes` back with compare-and-swap on the revision read
//! #   let _ = bytes;
//! }
//! match outcome.result {
//!     Ok(verified) => println!("signed in with {:?}", verified.method_type),
//!     Err(refusal) => println!("refused: {refusal}"),
//! }
//! # Ok(()) }
//! ```
#![deny(unsafe_code)]

mod api;
mod api_admin;
mod api_app_passwords;
mod api_gateway;
mod api_passwords;
mod cache;
mod error;
mod held;
#[cfg(feature = "json")]
pub mod json;
mod refusal;
mod runtime;
mod sign_in;
mod types;
pub mod webauthn;

/// Host bindings generated from `wit/`.
#[allow(
    missing_docs,
    reason = "generated from wit/, whose documentation it carries"
)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "mfa:engine/component",
        additional_derives: [PartialEq, Eq],
    });
}

pub use api::{MAX_LIST_ITEMS, MAX_RECORD_BYTES, MAX_TEXT_BYTES, MfaHost, MfaHostBuilder};
pub use api_gateway::{FailureCount, FailureWindow, Presented};
pub use api_passwords::PasswordCheck;
pub use cache::CacheStatus;
pub use error::{EngineError, Error};
pub use held::HeldRecord;
pub use refusal::Refusal;
pub use sign_in::{DeviceToken, Proof, Registered, SignInStarted, SignedIn, Standing};
pub use types::*;

/// A new key file (fresh sealing and signing keys) made by the component from
/// `wasm`, with randomness from the host. Secret: store it with owner-only
/// permissions and pass it to [`MfaHostBuilder::keys`].
pub fn generate_key_file(wasm: &[u8]) -> Result<String, Error> {
    runtime::generate_key_file(wasm)
}

/// Rotate one key of a key file: a fresh key of `kind` becomes active (made by
/// the component from `wasm`), older keys stay to verify tokens and open seeds
/// they made. Returns the new key file (secret) and the new key's id.
pub fn rotate_key(wasm: &[u8], key_file: &str, kind: KeyKind) -> Result<(String, String), Error> {
    runtime::rotate_key(wasm, key_file, kind)
}

/// A key file without the retired signing key `kid`; tokens it signed stop
/// verifying. The active signing key cannot be retired.
pub fn retire_signing_key(wasm: &[u8], key_file: &str, kid: &str) -> Result<String, Error> {
    runtime::retire_signing_key(wasm, key_file, kid)
}
