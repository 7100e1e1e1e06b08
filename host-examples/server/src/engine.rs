//! How the server holds the engine: loading the component, reading stored
//! records into held ones, and turning a failure of the runtime itself (not a
//! refusal by the engine) into an answer.
//!
//! The engine runs inside the WebAssembly component (`mfa_component.wasm`),
//! embedded through [`mfa_host`]; every rule of MFA lives there. Operations
//! are `mfa_host` calls made by `AppState::run_op` on the held record, one per
//! user action; the gateway rules go through
//! [`crate::password_throttle::FailClosed`].
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use mfa_host::{
    Action, AppPasswordCredential, AppPasswordInfo, AppPasswordMatch, AuditEvent,
    AuthenticatorSetup, Confirmed, Delivery, EngineError, FirstFactor, Method, NewAppPassword,
    NextStep, Proof, RecoveryCodes, Refusal, Registered, Secret, SignInCaller, SignInStarted,
    SignedIn, Standing, Verified,
};
use mfa_host::{MfaHost, RecordSummary};

/// The command that builds the component.
pub const BUILD_COMPONENT: &str = "cargo build -p mfa-component --target wasm32-wasip2 --release";

/// Method id as the engine numbers them.
pub type MethodId = u32;

/// The engine's enums and the JSON forms of its types (`mfa_host::json`).
pub use mfa_host::json::{
    Argon2Settings, PasskeySettings, PolicySettings, TotpSettings, app_password_json,
    audit_event_name, audit_json, jwks_value, method_json, next_json,
};
pub use mfa_host::{Factor, MethodType, MfaState, PhoneChannel};

/// The policy the engine enforces (the WIT record).
pub type Policy = mfa_host::Policy;

/// A user's engine record as the server holds it (`mfa_host::HeldRecord`).
pub type UserRecord = mfa_host::HeldRecord;

/// The outcome of one operation (or a chain of them) on a held record.
pub type Step<T> = mfa_host::Outcome<T>;

/// A failure of the runtime itself (not a refusal by the engine), as an engine error.
fn host_failure(e: mfa_host::Error) -> EngineError {
    match e {
        mfa_host::Error::Engine(e) => e,
        e @ mfa_host::Error::InputTooLarge { what, max } => EngineError::new(
            Refusal::InvalidInput {
                field: what.to_string(),
                reason: format!("must be at most {max} bytes or items"),
            },
            e.to_string(),
        ),
        other => {
            tracing::error!(error = %other, "the engine component failed");
            EngineError::new(
                Refusal::Other {
                    code: ENGINE_FAILURE.into(),
                },
                "the MFA engine failed; try again",
            )
        }
    }
}

/// The code of [`Refusal::Other`] for a failure of the engine's runtime.
pub const ENGINE_FAILURE: &str = "engine_failure";

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
#[derive(Clone, Debug)]
pub struct EngineHandle {
    host: MfaHost,
    policy: Arc<Policy>,
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
            let reason = "the engine saved a record that is not text";
            return Err(EngineError::new(
                Refusal::CorruptRecord {
                    reason: reason.into(),
                },
                format!("stored user record is unreadable: {reason}"),
            ));
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
}
