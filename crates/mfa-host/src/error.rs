//! Errors: the engine's refusals ([`EngineError`], the WIT `error`: a
//! [`Refusal`] with the engine's message) and the host's own failures
//! ([`Error`]).
use core::fmt;
use std::time::Duration;

use crate::Refusal;
use crate::bindings::exports::mfa::engine::types as w;

/// A refusal by the engine: why ([`EngineError::reason`], to match on) and
/// the engine's message, which a host shows as it is. No field carries a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    reason: Refusal,
    message: String,
}

impl EngineError {
    /// A refusal with this message, for a host's answer in the engine's
    /// shape (its own runtime failing, say); the engine's own come from calls.
    pub fn new(reason: Refusal, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }

    /// Why.
    pub fn reason(&self) -> &Refusal {
        &self.reason
    }

    /// The engine's stable code of the reason (`snake_case`).
    pub fn code(&self) -> &str {
        self.reason.code()
    }

    /// The engine's message: what went wrong and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EngineError {}

impl From<w::Error> for EngineError {
    fn from(e: w::Error) -> Self {
        Self {
            reason: e.reason.into(),
            message: e.message,
        }
    }
}

/// Everything a call through the host can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The engine refused before the operation ran (unreadable record, bad
    /// configuration) or, for calls without a record, refused the operation.
    Engine(EngineError),
    /// The call ran past its deadline and was stopped. The instance was discarded.
    Timeout {
        /// The deadline in force.
        limit: Duration,
    },
    /// The call needed more memory than the limit. The instance was discarded.
    MemoryLimit {
        /// The limit in bytes.
        limit_bytes: usize,
    },
    /// The component crashed (a trap). The instance was discarded.
    Trap {
        /// What wasmtime reported.
        message: String,
    },
    /// An argument is larger than the host accepts, refused before the call.
    InputTooLarge {
        /// Which argument.
        what: &'static str,
        /// The most accepted, in bytes or items.
        max: usize,
    },
    /// The component could not be read, compiled or linked.
    Load {
        /// Why.
        reason: String,
    },
    /// The host's own settings are unusable.
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// A stable identifier of the error kind (`snake_case`): the engine's
    /// code for its refusals, otherwise one of `timeout`, `memory_limit`,
    /// `trap`, `input_too_large`, `load` and `config`.
    pub fn code(&self) -> &str {
        match self {
            Self::Engine(e) => e.code(),
            Self::Timeout { .. } => "timeout",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::Trap { .. } => "trap",
            Self::InputTooLarge { .. } => "input_too_large",
            Self::Load { .. } => "load",
            Self::Config { .. } => "config",
        }
    }

    /// The engine's refusal, if that is what this is.
    pub fn engine(&self) -> Option<&EngineError> {
        match self {
            Self::Engine(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(e) => e.fmt(f),
            Self::Timeout { limit } => write!(
                f,
                "the engine call ran longer than its {} ms deadline and was stopped",
                limit.as_millis()
            ),
            Self::MemoryLimit { limit_bytes } => write!(
                f,
                "the engine call needed more than its {} MiB memory limit and was stopped",
                limit_bytes >> 20
            ),
            Self::Trap { message } => write!(f, "the engine component crashed: {message}"),
            Self::InputTooLarge { what, max } => {
                write!(f, "{what} is too large (at most {max})")
            }
            Self::Load { reason } => write!(f, "cannot load the engine component: {reason}"),
            Self::Config { reason } => write!(f, "invalid host configuration: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Engine(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

impl From<w::Error> for Error {
    fn from(e: w::Error) -> Self {
        Self::Engine(e.into())
    }
}
