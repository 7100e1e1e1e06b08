//! HTTP handlers of `/api/v1`, the JWKS, metrics, health and static files:
//! the router and what every handler shares here, the handlers in one file
//! per responsibility.

mod admin;
mod app_passwords;
mod gateway;
mod methods;
mod passkeys;
mod passwordless;
mod second_factor;
mod sign_in;

use admin::*;
use app_passwords::*;
use gateway::*;
use methods::*;
use passkeys::*;
use passwordless::*;
use second_factor::*;
use sign_in::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{self, DEVICE_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, STAY_COOKIE};
use crate::config::AuthMode;
use crate::engine::{
    Action, Delivery, EngineError, Factor, FirstFactor, MethodId, MethodType, MfaState, NextStep,
    PhoneChannel, Policy, Proof, Registered, SignInStarted, SignedIn, UserRecord,
};
use crate::error::ApiError;
use crate::{AppState, store_err, unix_now};

type St = State<Arc<AppState>>;
type Peer = ConnectInfo<SocketAddr>;

// ----- request bodies ------------------------------------------------------

/// A JSON body: 415 without `application/json`, 413 when too large, 400 when
/// not JSON, 422 when a field is missing, unknown or of the wrong type.
/// An empty body reads as `{}`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = crate::csrf::is_json(
            req.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "the request body is too large",
                    )
                } else {
                    ApiError::bad_request("unreadable_body", "the request body could not be read")
                }
            })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            if !is_json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as JSON with Content-Type: application/json",
                ));
            }
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(Body)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => {
                    ApiError::invalid("invalid_field", e.to_string())
                }
                _ => ApiError::bad_request(
                    "malformed_json",
                    format!(
                        "the body is not valid JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ),
                ),
            })
    }
}

fn ok_json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    let mut r = (status, Json(v)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn with_cookies(mut resp: Response, cookies: Vec<header::HeaderValue>) -> Response {
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

fn next_json(next: &NextStep) -> Value {
    crate::engine::next_json(next)
}

fn methods_json(rec: &UserRecord) -> Value {
    rec.methods_json()
}

// ----- router ------------------------------------------------------------

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/sign-in", post(sign_in))
        .route("/sign-in/passkey/options", post(passwordless_options))
        .route("/sign-in/passkey", post(passwordless_sign_in))
        .route("/sign-out", post(sign_out))
        .route("/sign-out-everywhere", post(sign_out_everywhere))
        .route("/session", get(session))
        .route("/session/stay-signed-in", post(stay_signed_in))
        .route("/verify", post(verify))
        .route("/verify/send", post(send_code))
        .route("/verify/recovery", post(verify_recovery))
        .route("/verify/one-time-pass", post(verify_one_time_pass))
        .route("/verify/passkey/options", post(passkey_sign_in_options))
        .route("/verify/passkey", post(verify_passkey))
        .route("/methods", get(list_methods))
        .route("/methods/authenticator", post(begin_authenticator))
        .route("/methods/phone", post(begin_phone))
        .route("/methods/email", post(begin_email))
        .route("/methods/import", post(begin_import))
        .route("/methods/passkey", post(begin_passkey))
        .route("/methods/passkey/confirm", post(confirm_passkey))
        .route("/methods/resend", post(resend))
        .route("/methods/confirm", post(confirm))
        .route("/methods/default", put(set_default))
        .route("/methods/{id}", delete(remove_method))
        .route("/methods/{id}/phone", post(change_phone))
        .route("/recovery-codes", post(regenerate_recovery))
        .route(
            "/app-passwords",
            get(list_app_passwords).post(create_app_password),
        )
        .route("/app-passwords/verify", post(verify_app_password))
        .route("/app-passwords/{id}", delete(delete_app_password))
        .route(
            "/admin/users",
            get(admin_list_users).post(admin_create_user),
        )
        .route("/admin/users/{user}", get(admin_get_user))
        .route("/admin/users/{user}/state", put(admin_set_state))
        .route("/admin/users/{user}/password", put(admin_set_password))
        .route("/admin/users/{user}/admin", put(admin_set_role))
        .route(
            "/admin/users/{user}/one-time-pass",
            post(admin_issue_one_time_pass),
        )
        .route("/admin/users/{user}/{action}", post(admin_action))
        .route("/admin/bulk", post(admin_bulk))
        .route(
            "/admin/settings",
            get(admin_get_settings).put(admin_put_settings),
        )
        .route("/admin/audit", get(admin_audit))
        .route("/openapi.json", get(openapi))
        .fallback(api_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::csrf::guard));
    let mut app = Router::new()
        .nest("/api/v1", api)
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/mfa-revocations.json", get(revocations))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .method_not_allowed_fallback(method_not_allowed);
    let dir = state.cfg.widget.dir.clone();
    if dir.is_dir() {
        app = app.fallback_service(
            tower_http::services::ServeDir::new(dir).append_index_html_on_directories(true),
        );
    } else {
        app = app.fallback(api_not_found);
    }
    app.layer(axum::extract::DefaultBodyLimit::max(
        state.cfg.limits.body_bytes,
    ))
    .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("not_found", "no such endpoint; see /api/v1/openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take this HTTP method",
    )
}

async fn openapi() -> Response {
    let mut r = crate::openapi::DOCUMENT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// What the sign-in must do next for this user (a failure of the runtime: 503).
pub(super) fn next_step(s: &AppState, rec: &UserRecord, now: u64) -> Result<NextStep, ApiError> {
    s.engine()
        .call(|h| h.enrollment_check(rec.as_record(), now))
        .map_err(|e| ApiError::from_engine(&e, now))
}

/// The public signing keys; a failure of the runtime is a 503, never an empty
/// set a cache would keep.
async fn jwks(State(s): St) -> Result<Response, ApiError> {
    let keys = s
        .engine()
        .call(|h| h.jwks())
        .map_err(|e| ApiError::from_engine(&e, unix_now()))?;
    let mut r = Json(crate::engine::jwks_value(&keys)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    Ok(r)
}

async fn healthz(State(s): St) -> Response {
    match s.store.ping().await {
        Ok(()) => Json(json!({"status": "ok", "storage": s.store.kind()})).into_response(),
        Err(e) => store_err(&e).into_response(),
    }
}

/// Who may call: a scraper from an allowed address with the metrics token
/// when those are configured (anyone otherwise). What an attacker tries:
/// reading the counts of refusals and locks to follow an attack, guessing
/// the token (compared in constant time).
async fn metrics(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !s.metrics_readers.is_empty() && !s.metrics_readers.iter().any(|c| c.contains(peer.ip())) {
        return Err(ApiError::forbidden(
            "metrics_forbidden",
            "metrics are not served to this address (metrics.allowed_addresses)",
        ));
    }
    if let Some(expected) = &s.cfg.metrics.token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            sent.as_bytes(),
            expected.as_bytes(),
        )) {
            return Err(ApiError::unauthorized(
                "metrics_token",
                "send the metrics token as Authorization: Bearer …",
            ));
        }
    }
    let mut r = s.metrics.render(s.engine().calls()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(r)
}
