//! The one place where the server calls the engine.
//!
//! The engine runs inside the WebAssembly component (`mfa_component.wasm`),
//! embedded through [`mfa_host`]. Every rule of MFA lives there; the server
//! loads a user's stored record (opaque bytes), hands it to one of the
//! operations below together with the arguments and the current time, and
//! stores what comes back (the updated bytes, with compare-and-swap on the
//! revision, and the audit events). Handlers never reach the engine any other
//! way.
//!
//! Operations never mutate the caller's record; they return a [`Step`]: the
//! new bytes, their summary (read in the same component call), the audit
//! events and the answer. One user action is one operation.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

pub use mfa_host::{
    Action, AppPasswordCredential, AppPasswordInfo, AppPasswordMatch, AuditEvent,
    AuthenticatorSetup, Confirmed, Delivery, EngineError, FirstFactor, Method, NewAppPassword,
    NextStep, Proof, RecoveryCodes, Registered, Secret, SignInCaller, SignInStarted, SignedIn,
    Standing, Verified,
};
use mfa_host::{MfaHost, RecordSummary};

/// The command that builds the component.
pub const BUILD_COMPONENT: &str = "cargo build -p mfa-component --target wasm32-wasip2 --release";

/// Method id as the engine numbers them.
pub type MethodId = u32;

/// The engine's enums and the JSON forms of its types (`mfa_host::json`).
pub use mfa_host::json::{
    Argon2Settings, PolicySettings, TotpSettings, app_password_json, audit_event_name, audit_json,
    jwks_value, method_json, next_json,
};
pub use mfa_host::{Factor, MethodType, MfaState, PhoneChannel};

/// The policy the engine enforces (the WIT record).
pub type Policy = mfa_host::Policy;

// ----- records ---------------------------------------------------------------

/// A user's engine record as the server holds it (`mfa_host::HeldRecord`).
pub type UserRecord = mfa_host::HeldRecord;

/// The outcome of one operation (or a chain of them) on a held record.
pub type Step<T> = mfa_host::Outcome<T>;

/// The stored bytes as text (records are JSON); empty for a user without one.
pub fn stored_text(rec: &UserRecord) -> String {
    rec.stored()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// A failure of the runtime itself (not a refusal by the engine), as an engine error.
fn host_failure(e: mfa_host::Error) -> EngineError {
    match e {
        mfa_host::Error::Engine(e) => e,
        mfa_host::Error::InputTooLarge { what, max } => EngineError::InvalidInput {
            field: what.to_string(),
            reason: format!("must be at most {max} bytes or items"),
        },
        other => {
            tracing::error!(error = %other, "the engine component failed");
            EngineError::Other {
                code: ENGINE_FAILURE.into(),
                message: "the MFA engine failed; try again".into(),
            }
        }
    }
}

/// The code of [`EngineError::Other`] for a failure of the engine's runtime.
pub const ENGINE_FAILURE: &str = "engine_failure";

/// What a registration started: an authenticator app to scan, or a code sent.
#[derive(Debug)]
pub enum Registration {
    /// Show the QR code and manual key.
    Authenticator(AuthenticatorSetup),
    /// A code was made for delivery.
    CodeSent {
        /// What to deliver.
        delivery: Delivery,
    },
}

// ----- the engine ------------------------------------------------------------

/// Where the component is and how to run it.
#[derive(Debug, Clone)]
pub struct ComponentSettings {
    /// The `.wasm` file.
    pub wasm: PathBuf,
    /// Cache directory for the compiled component.
    pub cache_dir: PathBuf,
    /// Most concurrent engine calls (0: the host's default).
    pub max_instances: u32,
}

/// Read the component file, or say how to build it.
pub fn read_component(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the engine component {}: {e}; build it with `{BUILD_COMPONENT}` or set engine.component (or MFA_COMPONENT_WASM) to its path",
            path.display()
        )
    })
}

/// The engine component, configured with a policy and keys.
#[derive(Clone)]
pub struct EngineHandle {
    host: MfaHost,
    policy: Arc<Policy>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// Load the component and create its engine with this policy (`None`: the
    /// engine's default) and the key file's JSON.
    pub fn new(
        settings: &ComponentSettings,
        wasm: &[u8],
        policy: Option<Policy>,
        keys_json: &str,
    ) -> Result<Self, mfa_host::Error> {
        let mut b = MfaHost::builder()
            .component_bytes(wasm.to_vec())
            .keys(keys_json)
            .cache_dir(&settings.cache_dir);
        if settings.max_instances > 0 {
            b = b.max_instances(settings.max_instances);
        }
        if let Some(p) = policy {
            b = b.policy(p);
        }
        let host = b.build()?;
        let policy = Arc::new(host.policy().clone());
        Ok(Self { host, policy })
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The public token signing keys (JWKS document).
    pub fn jwks(&self) -> Value {
        match self.host.jwks() {
            Ok(keys) => jwks_value(&keys),
            Err(e) => {
                tracing::error!(error = %e, "the engine component failed to list its keys");
                json!({"keys": []})
            }
        }
    }

    // ----- records -------------------------------------------------------

    /// A record for a user who has none stored yet.
    pub fn new_record(&self, user_id: &str, now: u64) -> Result<UserRecord, EngineError> {
        self.host
            .hold(user_id, None, now, now)
            .map_err(host_failure)
    }

    /// Read a stored record (empty text: the user has none yet).
    pub fn record_from_stored(
        &self,
        user_id: &str,
        stored: &str,
        now: u64,
    ) -> Result<UserRecord, EngineError> {
        let bytes = (!stored.is_empty()).then(|| Arc::from(stored.as_bytes()));
        self.host
            .hold(user_id, bytes, now, now)
            .map_err(host_failure)
    }

    /// The record after a step (the same record when it did not change).
    pub fn record_after(
        &self,
        before: &UserRecord,
        stored: Vec<u8>,
        summary: Option<RecordSummary>,
        now: u64,
    ) -> Result<UserRecord, EngineError> {
        if std::str::from_utf8(&stored).is_err() {
            return Err(EngineError::CorruptRecord {
                reason: "the engine saved a record that is not text".into(),
            });
        }
        self.host
            .held_after(before, stored, summary, now)
            .map_err(host_failure)
    }

    /// The component's typed API, for operations (see `AppState::run_op`).
    pub fn host(&self) -> &MfaHost {
        &self.host
    }

    /// The outcome of an operation on `before`, a failure of the runtime
    /// itself as a refusal that changed nothing.
    pub fn step<T>(
        &self,
        before: &UserRecord,
        r: Result<mfa_host::Outcome<T>, mfa_host::Error>,
    ) -> Step<T> {
        r.unwrap_or_else(|e| mfa_host::Outcome {
            result: Err(host_failure(e)),
            saved: mfa_host::Saved {
                stored: None,
                revision: before.revision(),
                events: Vec::new(),
                summary: None,
            },
        })
    }

    /// A call that stores nothing, a failure of the runtime as an engine error.
    pub fn call<T>(
        &self,
        f: impl FnOnce(&MfaHost) -> Result<T, mfa_host::Error>,
    ) -> Result<T, EngineError> {
        f(&self.host).map_err(host_failure)
    }

    /// Calls made into the component so far.
    pub fn calls(&self) -> u64 {
        self.host.calls()
    }

    /// What the sign-in must do next (a runtime failure: locked for a minute).
    pub fn enrollment_check(&self, rec: &UserRecord, now: u64) -> NextStep {
        match self.host.enrollment_check(rec.as_record(), now) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "enrolment check failed");
                NextStep::Locked(now + 60)
            }
        }
    }

    /// Whether a refusal counts against the client address (a runtime
    /// failure counts: a guess must never go uncounted).
    pub fn counts_against_address(&self, refusal: &EngineError) -> bool {
        self.host.counts_against_address(refusal).unwrap_or(true)
    }

    /// The count after one more failure (a runtime failure blocks for the
    /// window: failing closed).
    pub fn failed(
        &self,
        count: mfa_host::FailureCount,
        w: mfa_host::FailureWindow,
        now: u64,
    ) -> mfa_host::FailureCount {
        self.host.failed(count, w, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the engine component failed to count a failure");
            mfa_host::FailureCount {
                failures: count.failures.saturating_add(1),
                window_start: now,
                blocked_until: now.saturating_add(w.block_secs),
                stale_at: now.saturating_add(w.block_secs.max(w.window_secs)),
            }
        })
    }

    /// Seconds to wait, if `count` blocks at `now` (a runtime failure: wait a minute).
    pub fn retry_after(&self, count: mfa_host::FailureCount, now: u64) -> Option<u64> {
        self.host.retry_after(count, now).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the engine component failed to read a failure count");
            Some(60)
        })
    }

    /// Until when a verification at `verified_at` may be answered from the
    /// cache (a runtime failure: not at all).
    pub fn cache_until(
        &self,
        verified_at: u64,
        cache_secs: u64,
        expires_at: Option<u64>,
        last_used_at: Option<u64>,
    ) -> Option<u64> {
        self.host
            .cache_until(verified_at, cache_secs, expires_at, last_used_at)
            .ok()
            .flatten()
    }
}
