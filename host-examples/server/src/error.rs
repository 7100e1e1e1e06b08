//! API errors: one JSON shape, `{"error":{"code":"…","message":"…"}}`, with the
//! HTTP status a client can act on. Engine errors keep the engine's stable code.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::engine::{EngineError, Refusal};

/// An error answer of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`snake_case`).
    pub code: &'static str,
    /// What happened and what to do, for a person.
    pub message: String,
    /// Seconds to wait, sent as `Retry-After` (429 answers).
    pub retry_after: Option<u64>,
    /// `clock_drift`: how far the phone's clock is off, in seconds.
    pub clock_offset_secs: Option<i64>,
    /// `passkey_refused`: the engine's check that failed (`origin_not_allowed`, …).
    pub check: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock_offset_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<&'a str>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            clock_offset_secs: None,
            check: None,
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: the caller is not signed in (or not far enough).
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: signed in, but not allowed.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404 with a code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 422: a field is out of range or badly formed.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 500: a fault of the server; the message says where to look, never a secret.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 503: a dependency (the database) is not available.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// 429 with `Retry-After`.
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// Map an engine error to an answer. `now` turns "until" times into `Retry-After`.
    pub fn from_engine(err: &EngineError, now: u64) -> Self {
        use crate::engine::Refusal as E;
        let code = static_code(err);
        let message = err.message().to_string();
        let status = match err.reason() {
            E::RetryLater { until } | E::Locked { until } | E::SendLimit { until } => {
                return Self::too_many(code, message, until.saturating_sub(now));
            }
            E::InvalidInput { .. }
            | E::MalformedCode { .. }
            | E::MalformedRecoveryCode
            | E::InvalidUri { .. }
            | E::InvalidSecret { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            E::ClockDrift { offset_secs } => {
                let mut e = Self::new(StatusCode::UNAUTHORIZED, code, message);
                e.clock_offset_secs = Some(*offset_secs);
                return e;
            }
            E::PasskeyRefused { check } => {
                let mut e = Self::new(StatusCode::UNAUTHORIZED, code, message);
                e.check = Some(check.clone());
                return e;
            }
            E::WrongCode
            | E::Replay
            | E::CodeExpired
            | E::AttemptsExhausted
            | E::WrongRecoveryCode
            | E::InvalidOneTimePass
            | E::MalformedAppPassword
            | E::UnknownAppPassword
            | E::WrongAppPassword
            | E::AppPasswordRevoked
            | E::AppPasswordExpired
            | E::MalformedToken { .. }
            | E::BadSignature
            | E::TokenExpired
            | E::WrongTokenKind
            | E::TokenRevoked => StatusCode::UNAUTHORIZED,
            E::MethodNotAllowed { .. }
            | E::AppPasswordsDisabled
            | E::OutOfScope { .. }
            | E::MfaRequired
            | E::NotAdmin
            | E::ReauthRequired { .. }
            | E::LockedOut => StatusCode::FORBIDDEN,
            E::UnknownMethod | E::NoRecoveryCodes => StatusCode::NOT_FOUND,
            E::NoActiveCode
            | E::NoPendingRegistration
            | E::RegistrationExpired
            | E::AppPasswordLimit { .. }
            | E::DuplicateName
            | E::LastMethod
            | E::OwnAdminRole => StatusCode::CONFLICT,
            E::SealBroken { .. }
            | E::InvalidKeys { .. }
            | E::InvalidPolicy { .. }
            | E::CorruptRecord { .. }
            | E::InvalidHash { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            E::Other { code, .. } if code == crate::engine::ENGINE_FAILURE => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                retry_after: self.retry_after,
                clock_offset_secs: self.clock_offset_secs,
                check: self.check.as_deref(),
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal","message":"error could not be encoded"}}"#.to_vec()
        });
        let mut resp = (self.status, json).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// The engine error's stable code (`engine_error` for a code this server does not know).
pub fn static_code(err: &EngineError) -> &'static str {
    match err.reason() {
        Refusal::Other { code } if code == crate::engine::ENGINE_FAILURE => {
            crate::engine::ENGINE_FAILURE
        }
        reason => reason.static_code().unwrap_or("engine_error"),
    }
}
