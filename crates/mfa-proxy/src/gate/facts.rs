//! What the gate and its host exchange: the request's facts, the shared
//! store and counters the host lends it, and the decision it answers with.

use mfa_core::Error as CoreError;

/// The request as the host sees it.
pub trait Facts {
    /// A request header by lowercase name; pseudo-headers `:method`, `:path`, `:authority` too.
    fn header(&self, name: &str) -> Option<String>;
    /// The client address as the host reports it (`ip:port`, `[v6]:port` or a bare address).
    fn client_address(&self) -> Option<String>;
}

/// The host's shared data (Envoy: per `vm_id`, shared by all workers).
pub trait SharedStore {
    /// Value and compare-and-swap token of `key`.
    fn get(&self, key: &str) -> Option<(Vec<u8>, Option<u32>)>;
    /// Store `value`; with `cas`, only if the key was not written since that token
    /// was read. `false`: someone else wrote first.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
}

/// Why a request was refused (a metric each: `<prefix>.denied.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denial {
    /// No route rule matches the request.
    NoRoute,
    /// No credential where one is required.
    MissingCredentials,
    /// A Basic header that cannot be read, or an app password in the wrong format or with a bad checksum.
    MalformedAppPassword,
    /// No app password with this id for this user.
    UnknownAppPassword,
    /// The app password does not match.
    WrongAppPassword,
    /// The app password has expired.
    AppPasswordExpired,
    /// The app password was deleted.
    AppPasswordRevoked,
    /// The app password may not be used for this route's scope.
    OutOfScope,
    /// Too many failures for the user or the client address.
    Throttled,
    /// The session token is missing.
    SessionMissing,
    /// The session token is malformed, badly signed or for another service.
    SessionInvalid,
    /// The session token has expired.
    SessionExpired,
    /// The session token lacks a required `amr` value.
    SessionInsufficient,
    /// The verify endpoint did not answer usably (the filter fails closed).
    VerifierUnavailable,
    /// The session's user signed out everywhere or was reset after it was issued.
    SessionRevoked,
    /// No fresh revocation feed to judge sessions by (the filter fails closed).
    RevocationsUnavailable,
}

impl Denial {
    /// Every reason, for defining the metrics up front.
    pub const ALL: [Denial; 16] = [
        Self::NoRoute,
        Self::MissingCredentials,
        Self::MalformedAppPassword,
        Self::UnknownAppPassword,
        Self::WrongAppPassword,
        Self::AppPasswordExpired,
        Self::AppPasswordRevoked,
        Self::OutOfScope,
        Self::Throttled,
        Self::SessionMissing,
        Self::SessionInvalid,
        Self::SessionExpired,
        Self::SessionInsufficient,
        Self::VerifierUnavailable,
        Self::SessionRevoked,
        Self::RevocationsUnavailable,
    ];

    /// Stable name, used in metrics and in the `code` of error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoRoute => "no_route",
            Self::MissingCredentials => "missing_credentials",
            Self::MalformedAppPassword => "malformed_app_password",
            Self::UnknownAppPassword => "unknown_app_password",
            Self::WrongAppPassword => "wrong_app_password",
            Self::AppPasswordExpired => "app_password_expired",
            Self::AppPasswordRevoked => "app_password_revoked",
            Self::OutOfScope => "out_of_scope",
            Self::Throttled => "throttled",
            Self::SessionMissing => "session_missing",
            Self::SessionInvalid => "session_invalid",
            Self::SessionExpired => "session_expired",
            Self::SessionInsufficient => "session_insufficient",
            Self::VerifierUnavailable => "verifier_unavailable",
            Self::SessionRevoked => "session_revoked",
            Self::RevocationsUnavailable => "revocations_unavailable",
        }
    }

    pub(super) fn of_core(e: &CoreError) -> Self {
        match e {
            CoreError::MalformedAppPassword => Self::MalformedAppPassword,
            CoreError::UnknownAppPassword => Self::UnknownAppPassword,
            CoreError::WrongAppPassword => Self::WrongAppPassword,
            CoreError::AppPasswordExpired => Self::AppPasswordExpired,
            CoreError::AppPasswordRevoked => Self::AppPasswordRevoked,
            CoreError::OutOfScope { .. } => Self::OutOfScope,
            CoreError::RetryLater { .. } | CoreError::Locked { .. } => Self::Throttled,
            CoreError::TokenExpired => Self::SessionExpired,
            CoreError::MalformedToken { .. }
            | CoreError::BadSignature
            | CoreError::WrongTokenKind => Self::SessionInvalid,
            CoreError::TokenRevoked => Self::SessionRevoked,
            _ => Self::VerifierUnavailable,
        }
    }
}

/// Something worth counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A request went upstream.
    Allowed,
    /// A request was refused.
    Denied(Denial),
    /// A credential's answer came from the cache.
    CacheHit,
    /// A credential was not in the cache.
    CacheMiss,
    /// argon2 ran (inline credentials).
    HashComputed,
    /// The verify endpoint gave no usable answer.
    CalloutFailure,
}

/// The host's counters.
pub trait Metrics {
    /// Count one event.
    fn count(&self, event: Event);
}

/// A response the filter sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (names lowercase).
    pub headers: Vec<(String, String)>,
    /// Body (JSON, or empty for redirects).
    pub body: String,
}

/// A change to the request headers before it goes upstream: set (`Some`) or remove (`None`).
pub type HeaderEdit = (String, Option<String>);

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send it upstream after these header edits.
    Continue(Vec<HeaderEdit>),
    /// Answer it here.
    Respond(Response),
    /// Ask the verify endpoint first, then call [`Gate::finish_call`](super::Gate::finish_call).
    Call(Callout),
}

/// A call to the verify endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// JSON request body (contains the password: never log it).
    pub body: Vec<u8>,
    /// What [`Gate::finish_call`](super::Gate::finish_call) needs to finish.
    pub pending: Pending,
}

/// State kept while the verify endpoint is asked.
#[derive(Clone, PartialEq, Eq)]
pub struct Pending {
    pub(super) credential_slot: Option<String>,
    pub(super) address_slot: Option<String>,
    pub(super) strip: Vec<HeaderEdit>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}
