//! HTTP handlers of `/api/v1`, the JWKS, metrics, health and static files.
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

use crate::auth::{self, Caller, DEVICE_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, normalize_user};
use crate::config::AuthMode;
use crate::engine::{
    Delivery, EngineError, Factor, FirstFactor, MethodId, MethodType, MfaState, NextStep,
    PhoneChannel, Policy, Proof, Registration, SignInStarted, SignedIn, UserRecord,
    method_type_str,
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
        .route("/sign-out", post(sign_out))
        .route("/session", get(session))
        .route("/verify", post(verify))
        .route("/verify/send", post(send_code))
        .route("/verify/recovery", post(verify_recovery))
        .route("/methods", get(list_methods))
        .route("/methods/authenticator", post(begin_authenticator))
        .route("/methods/phone", post(begin_phone))
        .route("/methods/email", post(begin_email))
        .route("/methods/import", post(begin_import))
        .route("/methods/resend", post(resend))
        .route("/methods/confirm", post(confirm))
        .route("/methods/default", put(set_default))
        .route("/methods/{id}", delete(remove_method))
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

async fn jwks(State(s): St) -> Response {
    let mut r = Json(s.engine().jwks()).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    r
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

// ----- sign-in -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    user: String,
    password: String,
}

/// The answer when a user is fully signed in: session (and device) cookies.
fn session_cookies(s: &AppState, signed: &SignedIn, now: u64) -> Vec<header::HeaderValue> {
    let secure = s.cfg.cookies.secure;
    let life = signed.session_expires_at.saturating_sub(now);
    let mut v: Vec<header::HeaderValue> = Vec::new();
    v.extend(auth::set_cookie(
        SESSION_COOKIE,
        signed.session.expose(),
        life,
        secure,
    ));
    v.extend(auth::set_cookie(LOGIN_COOKIE, "", 0, secure));
    if let Some(d) = &signed.device {
        v.extend(auth::set_cookie(
            DEVICE_COOKIE,
            d.token.expose(),
            d.expires_at.saturating_sub(now),
            secure,
        ));
    }
    v
}

async fn sign_in(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Body(req): Body<SignIn>,
) -> Result<Response, ApiError> {
    if s.cfg.auth.mode != AuthMode::Password {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "trusted_header_mode",
            "this server takes the user from the authenticating proxy; there is no password sign-in",
        ));
    }
    let user = normalize_user(&req.user)?;
    if req.password.is_empty() || req.password.len() > 1024 {
        return Err(ApiError::invalid(
            "invalid_password",
            "the password must be 1 to 1024 bytes",
        ));
    }
    let now = unix_now();
    let address = peer.ip().to_string();
    if let Some(wait) = s.password_wait(&user, &address, now) {
        s.metrics.sign_in("throttled");
        return Err(ApiError::too_many(
            "password_locked",
            "too many wrong passwords; wait before trying again or ask an administrator",
            wait,
        ));
    }
    let row = s.store.get_user(&user).await.map_err(|e| store_err(&e))?;
    let phc = row
        .as_ref()
        .and_then(|r| r.password_hash.clone())
        .unwrap_or_else(|| s.dummy_hash().to_string());
    let password = req.password;
    let started = Instant::now();
    let ok = s
        .hashing
        .run(move |memory| auth::verify_password(&phc, &password, memory))
        .await?;
    s.time_argon2("sign_in", started);
    if !ok || row.as_ref().is_none_or(|r| r.password_hash.is_none()) {
        s.password_failed(&user, &address, now);
        s.metrics.sign_in("wrong");
        tracing::info!(user = %user, "sign-in refused: wrong user name or password");
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "the user name or password is not correct",
        ));
    }
    s.password_ok(&user);
    s.metrics.sign_in("ok");
    let device = auth::cookie(&headers, DEVICE_COOKIE).map(str::to_string);
    let done = s
        .run_op(&user, false, false, move |e, r, now| {
            e.start_sign_in(r, FirstFactor::Password, device.as_deref(), now)
        })
        .await?;
    let (started, rec, now) = done.into_api()?;
    match started {
        SignInStarted::SignedIn(signed) => {
            let resp = ok_json(
                StatusCode::OK,
                &json!({"user": user, "next": {"next": "done"}, "remembered_device": true}),
            );
            Ok(with_cookies(resp, session_cookies(&s, &signed, now)))
        }
        SignInStarted::Next {
            next,
            token,
            expires_at,
        } => {
            let body = json!({
                "user": user,
                "next": next_json(&next),
                "methods": methods_json(&rec),
                "app_passwords_allowed": s.engine().policy().app_passwords_allowed,
            });
            let secure = s.cfg.cookies.secure;
            let life = expires_at.saturating_sub(now);
            let cookies: Vec<_> = auth::set_cookie(LOGIN_COOKIE, token.expose(), life, secure)
                .into_iter()
                .collect();
            Ok(with_cookies(ok_json(StatusCode::OK, &body), cookies))
        }
    }
}

async fn sign_out(State(s): St) -> Response {
    let secure = s.cfg.cookies.secure;
    let cookies = [LOGIN_COOKIE, SESSION_COOKIE]
        .iter()
        .filter_map(|c| auth::set_cookie(c, "", 0, secure))
        .collect();
    with_cookies(StatusCode::NO_CONTENT.into_response(), cookies)
}

async fn caller_of(s: &AppState, headers: &HeaderMap, peer: &Peer) -> Result<Caller, ApiError> {
    s.caller(headers, peer.0.ip())
}

/// Who is signed in and what comes next.
async fn session(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = caller_of(&s, &headers, &ConnectInfo(peer)).await?;
    let create = s.cfg.auth.mode == AuthMode::TrustedHeader;
    let rec = s.load_or_create(&c.user, create).await?;
    let next = if c.mfa {
        json!({"next": "done"})
    } else {
        next_json(&s.engine().enrollment_check(&rec, unix_now()))
    };
    Ok(ok_json(
        StatusCode::OK,
        &json!({
            "user": c.user,
            "mfa": c.mfa,
            "state": rec.state(),
            "next": next,
            "methods": methods_json(&rec),
            "recovery_codes_left": rec.recovery_codes_left(),
            "app_passwords_allowed": s.engine().policy().app_passwords_allowed,
            "remember_device_days": s.engine().policy().remember_device_days,
        }),
    ))
}

// ----- second factor -------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyReq {
    #[serde(default)]
    method_id: Option<MethodId>,
    code: String,
    /// "Don't ask again on this device".
    #[serde(default)]
    remember_device: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SendReq {
    #[serde(default)]
    method_id: Option<MethodId>,
}

fn method_label(rec: &UserRecord, id: Option<MethodId>) -> &'static str {
    let id = id.or(rec.default_method());
    rec.methods()
        .iter()
        .find(|m| Some(m.id) == id)
        .map(|m| method_type_str(m.method_type))
        .unwrap_or("unknown")
}

async fn deliver(s: &AppState, d: &Delivery) -> Result<(), ApiError> {
    let channel = method_type_str(d.channel);
    match s.deliverer.deliver(d).await {
        Ok(()) => {
            s.metrics.delivery(channel, true);
            Ok(())
        }
        Err(e) => {
            s.metrics.delivery(channel, false);
            tracing::warn!(channel, error = %e.reason, "delivery failed");
            Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "delivery_failed",
                format!("{e}; ask for a new code or choose another method"),
            ))
        }
    }
}

fn sent_json(s: &AppState, d: &Delivery) -> Value {
    json!({
        "channel": method_type_str(d.channel),
        "masked_destination": d.masked_destination,
        "expires_at": d.expires_at,
        "digits": s.engine().policy().code_digits,
    })
}

async fn send_code(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<SendReq>,
) -> Result<Response, ApiError> {
    let c = caller_of(&s, &headers, &peer).await?;
    let method = req.method_id;
    let done = s
        .run_op(&c.user, false, false, move |e, r, now| {
            e.send_code(r, method, now)
        })
        .await?;
    let (delivery, _, _) = done.into_api()?;
    deliver(&s, &delivery).await?;
    Ok(ok_json(StatusCode::OK, &sent_json(&s, &delivery)))
}

fn signed_response(s: &AppState, user: &str, signed: &SignedIn, now: u64) -> Response {
    let v = &signed.verified;
    let body = json!({
        "user": user,
        "next": {"next": "done"},
        "amr": v.amr,
        "method_id": v.method_id,
        "clock_skew_steps": v.matched.map(|m| m.offset),
        "recovery_codes_left": v.recovery_codes_left,
        "session_expires_at": signed.session_expires_at,
        "remembered_device_until": signed.device.as_ref().map(|d| d.expires_at),
    });
    with_cookies(
        ok_json(StatusCode::OK, &body),
        session_cookies(s, signed, now),
    )
}

async fn verify(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<VerifyReq>,
) -> Result<Response, ApiError> {
    let c = s.step_caller(&headers, peer.0.ip())?;
    let (method, code, remember) = (req.method_id, req.code, req.remember_device);
    let user = c.user.clone();
    let done = s
        .run_op(&user, false, false, move |e, r, now| {
            let label = method_label(r, method);
            let proof = Proof::Code {
                method,
                code: &code,
            };
            e.finish_sign_in(r, c.standing(), proof, remember, now)
                .settle()
                .map(|x| (label, x))
        })
        .await?;
    let ((label, result), _, now) = done.into_api()?;
    match result {
        Ok(signed) => {
            s.metrics.verification(label, "ok");
            Ok(signed_response(&s, &user, &signed, now))
        }
        Err(e) => {
            s.metrics.verification(label, crate::error::static_code(&e));
            Err(ApiError::from_engine(&e, now))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryReq {
    code: String,
    #[serde(default)]
    remember_device: bool,
}

async fn verify_recovery(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<RecoveryReq>,
) -> Result<Response, ApiError> {
    let c = s.step_caller(&headers, peer.0.ip())?;
    let (code, remember) = (req.code, req.remember_device);
    let user = c.user.clone();
    let started = Instant::now();
    let done = s
        .run_op(&user, false, true, move |e, r, now| {
            e.finish_sign_in(r, c.standing(), Proof::RecoveryCode(&code), remember, now)
        })
        .await?;
    s.time_argon2("recovery_code", started);
    let now = done.now;
    match done.result {
        Ok(signed) => {
            s.metrics.verification("recovery_code", "ok");
            Ok(signed_response(&s, &user, &signed, now))
        }
        Err(e) => {
            s.metrics
                .verification("recovery_code", crate::error::static_code(&e));
            Err(ApiError::from_engine(&e, now))
        }
    }
}

// ----- registration ("Set it up now") --------------------------------------

/// Registration needs an MFA session, except during set-up (the engine asks to register).
async fn registering_caller(
    s: &AppState,
    headers: &HeaderMap,
    peer: &Peer,
) -> Result<Caller, ApiError> {
    let c = caller_of(s, headers, peer).await?;
    if c.mfa {
        return Ok(c);
    }
    let create = s.cfg.auth.mode == AuthMode::TrustedHeader;
    let rec = s.load_or_create(&c.user, create).await?;
    s.engine()
        .check_may_register(&rec, unix_now())
        .map_err(|e| ApiError::from_engine(&e, unix_now()))?;
    Ok(c)
}

async fn mfa_caller(s: &AppState, headers: &HeaderMap, peer: &Peer) -> Result<Caller, ApiError> {
    let c = caller_of(s, headers, peer).await?;
    if !c.mfa {
        return Err(ApiError::forbidden(
            "mfa_required",
            "verify your second factor first",
        ));
    }
    Ok(c)
}

async fn list_methods(State(s): St, peer: Peer, headers: HeaderMap) -> Result<Response, ApiError> {
    let c = caller_of(&s, &headers, &peer).await?;
    let rec = s
        .load_or_create(&c.user, s.cfg.auth.mode == AuthMode::TrustedHeader)
        .await?;
    let allowed: Vec<&str> = s
        .engine()
        .policy()
        .allowed_methods
        .iter()
        .map(|&m| method_type_str(m))
        .collect();
    Ok(ok_json(
        StatusCode::OK,
        &json!({"methods": methods_json(&rec), "default_method": rec.default_method(), "allowed": allowed, "recovery_codes_left": rec.recovery_codes_left()}),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuthenticatorReq {
    #[serde(default)]
    account: Option<String>,
}

fn registration_json(s: &AppState, r: &Registration) -> Value {
    match r {
        Registration::Authenticator(a) => json!({
            "type": "authenticator",
            "otpauth_uri": a.uri.expose(),
            "manual_key": a.manual_key.expose(),
            "issuer": a.issuer,
            "account": a.account,
            "expires_at": a.expires_at,
        }),
        Registration::CodeSent { delivery } => {
            let mut v = sent_json(s, delivery);
            v["type"] = json!("code_sent");
            v
        }
    }
}

async fn begin_authenticator(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<AuthenticatorReq>,
) -> Result<Response, ApiError> {
    let c = registering_caller(&s, &headers, &peer).await?;
    let account = req.account;
    let done = s
        .run_op(&c.user, true, false, move |e, r, now| {
            e.begin_authenticator(r, account.as_deref(), now)
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneReq {
    /// Country calling code, e.g. `+44`.
    country_code: String,
    /// The national number.
    number: String,
    /// `text` or `call`.
    channel: PhoneChannel,
}

async fn begin_phone(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<PhoneReq>,
) -> Result<Response, ApiError> {
    let c = registering_caller(&s, &headers, &peer).await?;
    let done = s
        .run_op(&c.user, true, false, move |e, r, now| {
            e.begin_phone(r, &req.country_code, &req.number, req.channel, now)
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    if let Registration::CodeSent { delivery } = &reg {
        deliver(&s, delivery).await?;
    }
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailReq {
    address: String,
}

async fn begin_email(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<EmailReq>,
) -> Result<Response, ApiError> {
    let c = registering_caller(&s, &headers, &peer).await?;
    let done = s
        .run_op(&c.user, true, false, move |e, r, now| {
            e.begin_email(r, &req.address, now)
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    if let Registration::CodeSent { delivery } = &reg {
        deliver(&s, delivery).await?;
    }
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportReq {
    otpauth_uri: String,
}

async fn begin_import(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<ImportReq>,
) -> Result<Response, ApiError> {
    let c = registering_caller(&s, &headers, &peer).await?;
    let done = s
        .run_op(&c.user, true, false, move |e, r, now| {
            e.begin_import(r, &req.otpauth_uri, now)
        })
        .await?;
    done.into_api()?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"type": "imported", "next": "confirm"}),
    ))
}

async fn resend(State(s): St, peer: Peer, headers: HeaderMap) -> Result<Response, ApiError> {
    let c = registering_caller(&s, &headers, &peer).await?;
    let done = s
        .run_op(&c.user, false, false, |e, r, now| {
            e.resend_registration_code(r, now)
        })
        .await?;
    let (delivery, _, _) = done.into_api()?;
    deliver(&s, &delivery).await?;
    Ok(ok_json(StatusCode::OK, &sent_json(&s, &delivery)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmReq {
    code: String,
}

async fn confirm(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<ConfirmReq>,
) -> Result<Response, ApiError> {
    let c = caller_of(&s, &headers, &peer).await?;
    let user = c.user.clone();
    let started = Instant::now();
    let done = s
        .run_op(&user, false, true, move |e, r, now| {
            e.finish_registration(r, c.standing(), &req.code, false, now)
        })
        .await?;
    s.time_argon2("confirm_registration", started);
    let (registered, rec, now) = done.into_api()?;
    let confirmed = &registered.confirmed;
    let policy = s.engine().policy().clone();
    let body = json!({
        "method_id": confirmed.method_id,
        "clock_skew_steps": confirmed.matched.map(|m| m.offset),
        "recovery_codes": confirmed.recovery_codes.as_ref().map(|rc| rc.codes.iter().map(|c| c.expose().to_string()).collect::<Vec<_>>()),
        "methods": methods_json(&rec),
        "next": {"next": "done"},
        "app_passwords_allowed": policy.app_passwords_allowed,
    });
    let cookies = match &registered.signed_in {
        Some(signed) => session_cookies(&s, signed, now),
        None => Vec::new(),
    };
    Ok(with_cookies(ok_json(StatusCode::OK, &body), cookies))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultReq {
    method_id: MethodId,
}

async fn set_default(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<DefaultReq>,
) -> Result<Response, ApiError> {
    let c = mfa_caller(&s, &headers, &peer).await?;
    let id = req.method_id;
    let done = s
        .run_op(&c.user, false, false, move |e, r, now| {
            e.set_default_method(r, id, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"methods": methods_json(&rec), "default_method": rec.default_method()}),
    ))
}

async fn remove_method(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = mfa_caller(&s, &headers, &peer).await?;
    let id: MethodId = id
        .parse()
        .map_err(|_| ApiError::invalid("invalid_method_id", "the method id must be a number"))?;
    let done = s
        .run_op(&c.user, false, false, move |e, r, now| {
            e.remove_method(r, id, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"methods": methods_json(&rec), "default_method": rec.default_method()}),
    ))
}

async fn regenerate_recovery(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = mfa_caller(&s, &headers, &peer).await?;
    let started = Instant::now();
    let done = s
        .run_op(&c.user, false, true, |e, r, now| {
            e.regenerate_recovery_codes(r, now)
        })
        .await?;
    s.time_argon2("recovery_codes", started);
    let (codes, _, _) = done.into_api()?;
    let list: Vec<&str> = codes.codes.iter().map(|c| c.expose()).collect();
    Ok(ok_json(
        StatusCode::OK,
        &json!({"recovery_codes": list, "issued_at": codes.issued_at}),
    ))
}

// ----- app passwords -------------------------------------------------------

async fn list_app_passwords(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = mfa_caller(&s, &headers, &peer).await?;
    let rec = s.load_or_create(&c.user, false).await?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"app_passwords": rec.app_passwords_json(), "allowed": s.engine().policy().app_passwords_allowed}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAppPassword {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<u64>,
}

async fn create_app_password(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<CreateAppPassword>,
) -> Result<Response, ApiError> {
    let c = mfa_caller(&s, &headers, &peer).await?;
    let started = Instant::now();
    let done = s
        .run_op(&c.user, false, true, move |e, r, now| {
            e.create_app_password(r, &req.name, &req.scopes, req.expires_at, now)
        })
        .await?;
    s.time_argon2("app_password_create", started);
    let (created, _, _) = done.into_api()?;
    tracing::info!(user = %c.user, id = %created.id, "app password created");
    Ok(ok_json(
        StatusCode::CREATED,
        &json!({
            "id": created.id,
            "name": created.name,
            "password": created.password.expose(),
            "scopes": created.scopes,
            "created_at": created.created_at,
            "expires_at": created.expires_at,
        }),
    ))
}

async fn delete_app_password(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = mfa_caller(&s, &headers, &peer).await?;
    let done = s
        .run_op(&c.user, false, false, move |e, r, now| {
            e.delete_app_password(r, &id, now)
        })
        .await?;
    done.into_api()?;
    s.ap_cache_forget_user(&c.user);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GatewayVerify {
    user: String,
    password: String,
    #[serde(default)]
    scope: Option<String>,
}

/// For gateways: 200 with the identity, 401 wrong/unknown/malformed/revoked/expired,
/// 403 out of scope, 429 with `Retry-After` when throttled.
async fn verify_app_password(
    State(s): St,
    headers: HeaderMap,
    Body(req): Body<GatewayVerify>,
) -> Result<Response, ApiError> {
    s.check_gateway(&headers)?;
    let refuse = |s: &AppState, e: ApiError, cache: &'static str| {
        s.metrics.app_password_check(e.code, cache);
        e
    };
    let unknown = || {
        ApiError::unauthorized(
            "unknown_app_password",
            EngineError::UnknownAppPassword.to_string(),
        )
    };
    let Ok(user) = normalize_user(&req.user) else {
        return Err(refuse(&s, unknown(), "none"));
    };
    let engine = s.engine();
    let presented = match engine.parse_app_password(&req.password) {
        Ok(p) => p,
        Err(e) => return Err(refuse(&s, ApiError::from_engine(&e, unix_now()), "none")),
    };
    let Some(rec) = s.load(&user).await? else {
        return Err(refuse(&s, unknown(), "none"));
    };
    let now = unix_now();
    let scope = req.scope.as_deref().filter(|x| !x.is_empty());
    // The cache skips argon2 only for a password verified recently against the same stored hash,
    // while the factor is not throttled and "last used" is fresh (otherwise the engine updates it).
    if let Ok(cred) = engine.app_password_credential(&rec, presented.id())
        && cred.expires_at.is_none_or(|x| now < x)
        && rec.locked_until(Factor::AppPassword, now).is_none()
        && rec.consecutive_failures(Factor::AppPassword) == 0
        && s.ap_cache_hit(
            &user,
            presented.id(),
            presented.canonical(),
            scope,
            &cred.hash,
            now,
        )
    {
        let info = rec.app_passwords().iter().find(|a| a.id == cred.id);
        if let Some(info) = info.filter(|i| i.last_used_at.is_some_and(|t| now < t + 60)) {
            s.metrics.app_password_check("ok", "hit");
            return Ok(ok_json(
                StatusCode::OK,
                &json!({"user": user, "id": info.id, "name": info.name, "scopes": info.scopes}),
            ));
        }
    }
    let password = req.password.clone();
    let scope_owned = scope.map(str::to_string);
    let started = Instant::now();
    let done = s
        .run_op(&user, false, true, move |e, r, now| {
            e.verify_app_password(r, &password, scope_owned.as_deref(), now)
        })
        .await?;
    s.time_argon2("app_password_verify", started);
    let now = done.now;
    match done.result {
        Ok(m) => {
            if let Ok(cred) = engine.app_password_credential(&done.record, &m.id) {
                s.ap_cache_put(&user, &m.id, presented.canonical(), scope, cred.hash, now);
            }
            s.metrics.app_password_check("ok", "miss");
            Ok(ok_json(
                StatusCode::OK,
                &json!({"user": user, "id": m.id, "name": m.name, "scopes": m.scopes}),
            ))
        }
        Err(e) => {
            let mut api = ApiError::from_engine(&e, now);
            if api.status == StatusCode::UNPROCESSABLE_ENTITY || api.status == StatusCode::NOT_FOUND
            {
                api.status = StatusCode::UNAUTHORIZED;
            }
            Err(refuse(&s, api, "miss"))
        }
    }
}

// ----- admin -----------------------------------------------------------------

const ACTOR: &str = "admin";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    state: Option<MfaState>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

fn state_str(s: MfaState) -> &'static str {
    match s {
        MfaState::Disabled => "disabled",
        MfaState::Enabled => "enabled",
        MfaState::Enforced => "enforced",
    }
}

fn query<T: DeserializeOwned>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid("invalid_query", e.body_text()))
}

async fn admin_list_users(
    State(s): St,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid_query",
            "limit must be 1 to 1000",
        ));
    }
    let users = s
        .store
        .list_users(q.state.map(state_str), q.after.as_deref(), limit)
        .await
        .map_err(|e| store_err(&e))?;
    let next = (users.len() as i64 == limit)
        .then(|| users.last().map(|u| u.user.clone()))
        .flatten();
    Ok(ok_json(
        StatusCode::OK,
        &json!({"users": users, "next": next}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    user: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    state: Option<MfaState>,
}

async fn admin_create_user(
    State(s): St,
    headers: HeaderMap,
    Body(req): Body<CreateUser>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let user = normalize_user(&req.user)?;
    let hash = match &req.password {
        Some(p) if p.len() < 8 || p.len() > 1024 => {
            return Err(ApiError::invalid(
                "invalid_password",
                "the password must be 8 to 1024 bytes",
            ));
        }
        Some(p) => {
            let (params, p) = (s.cfg.auth.argon2, p.clone());
            let started = Instant::now();
            let h = s
                .hashing
                .run(move |memory| auth::hash_password(&params, &p, memory))
                .await??;
            s.time_argon2("password_hash", started);
            Some(h)
        }
        None => None,
    };
    let now = unix_now();
    let created = s
        .store
        .insert_user(&user, String::new(), 0, "disabled", hash, now as i64)
        .await
        .map_err(|e| store_err(&e))?;
    if !created {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "user_exists",
            format!("user {user} already exists"),
        ));
    }
    if let Some(state) = req.state {
        s.run_op(&user, false, false, move |e, r, now| {
            e.set_mfa_state(r, state, ACTOR, now)
        })
        .await?
        .into_api()?;
    }
    let rec = s.load_or_create(&user, false).await?;
    Ok(ok_json(StatusCode::CREATED, &user_view(&s, &user, &rec)))
}

fn user_view(s: &AppState, user: &str, rec: &UserRecord) -> Value {
    let now = unix_now();
    let locked: Vec<Value> = [
        Factor::Authenticator,
        Factor::Phone,
        Factor::Email,
        Factor::Recovery,
        Factor::AppPassword,
    ]
    .into_iter()
    .filter_map(|f| {
        rec.locked_until(f, now)
            .map(|until| json!({"factor": f, "until": until}))
    })
    .collect();
    json!({
        "user": user,
        "state": rec.state(),
        "must_reregister": rec.must_reregister(),
        "methods": methods_json(rec),
        "default_method": rec.default_method(),
        "app_passwords": rec.app_passwords_json(),
        "recovery_codes_left": rec.recovery_codes_left(),
        "locked": locked,
        "next": next_json(&s.engine().enrollment_check(rec, now)),
        "revision": rec.revision(),
        "updated_at": rec.updated_at(),
    })
}

async fn admin_get_user(
    State(s): St,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let user = normalize_user(&user)?;
    let rec = s.load_or_create(&user, false).await?;
    Ok(ok_json(StatusCode::OK, &user_view(&s, &user, &rec)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateReq {
    state: MfaState,
}

async fn admin_set_state(
    State(s): St,
    headers: HeaderMap,
    Path(user): Path<String>,
    Body(req): Body<StateReq>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let user = normalize_user(&user)?;
    let state = req.state;
    let create = s.cfg.auth.mode == AuthMode::TrustedHeader;
    let done = s
        .run_op(&user, create, false, move |e, r, now| {
            e.set_mfa_state(r, state, ACTOR, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &user_view(&s, &user, &rec)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordReq {
    password: String,
}

async fn admin_set_password(
    State(s): St,
    headers: HeaderMap,
    Path(user): Path<String>,
    Body(req): Body<PasswordReq>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let user = normalize_user(&user)?;
    if req.password.len() < 8 || req.password.len() > 1024 {
        return Err(ApiError::invalid(
            "invalid_password",
            "the password must be 8 to 1024 bytes",
        ));
    }
    let params = s.cfg.auth.argon2;
    let hash = s
        .hashing
        .run(move |memory| auth::hash_password(&params, &req.password, memory))
        .await??;
    if !s
        .store
        .set_password_hash(&user, hash)
        .await
        .map_err(|e| store_err(&e))?
    {
        return Err(ApiError::not_found(
            "unknown_user",
            format!("no user {user}"),
        ));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Admin actions on one user, as in "Manage user settings".
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Action {
    RequireReregistration,
    DeleteAppPasswords,
    RestoreRememberedDevices,
    Unlock,
    Reset,
    SetState,
}

impl Action {
    fn parse(s: &str) -> Result<Self, ApiError> {
        serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
            ApiError::not_found(
                "unknown_action",
                "actions are require-reregistration, delete-app-passwords, restore-remembered-devices, unlock, reset",
            )
        })
    }
}

async fn apply_action(
    s: &AppState,
    user: &str,
    action: Action,
    state: Option<MfaState>,
) -> Result<Value, ApiError> {
    let create = s.cfg.auth.mode == AuthMode::TrustedHeader;
    let result: Value = match action {
        Action::RequireReregistration => {
            s.run_op(user, false, false, |e, r, now| {
                e.require_reregistration(r, ACTOR, now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true})
        }
        Action::DeleteAppPasswords => {
            let (n, _, _) = s
                .run_op(user, false, false, |e, r, now| {
                    e.delete_all_app_passwords(r, ACTOR, now)
                })
                .await?
                .into_api()?;
            s.ap_cache_forget_user(user);
            json!({"user": user, "ok": true, "deleted": n})
        }
        Action::RestoreRememberedDevices => {
            s.run_op(user, false, false, |e, r, now| {
                e.restore_remembered_devices(r, ACTOR, now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true})
        }
        Action::Unlock => {
            s.run_op(user, false, false, |e, r, now| e.unlock(r, ACTOR, now))
                .await?
                .into_api()?;
            s.password_ok(user);
            json!({"user": user, "ok": true})
        }
        Action::Reset => {
            s.run_op(user, false, false, |e, r, now| {
                e.reset_methods(r, ACTOR, now)
            })
            .await?
            .into_api()?;
            s.ap_cache_forget_user(user);
            json!({"user": user, "ok": true})
        }
        Action::SetState => {
            let state = state
                .ok_or_else(|| ApiError::invalid("invalid_field", "set-state needs \"state\""))?;
            s.run_op(user, create, false, move |e, r, now| {
                e.set_mfa_state(r, state, ACTOR, now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true, "state": state})
        }
    };
    Ok(result)
}

async fn admin_action(
    State(s): St,
    headers: HeaderMap,
    Path((user, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let user = normalize_user(&user)?;
    let action = Action::parse(&action)?;
    if matches!(action, Action::SetState) {
        return Err(ApiError::invalid(
            "invalid_field",
            "use PUT /admin/users/{user}/state to set the state",
        ));
    }
    let v = apply_action(&s, &user, action, None).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkReq {
    users: Vec<String>,
    action: String,
    #[serde(default)]
    state: Option<MfaState>,
}

/// One action over many users; each user's result is reported (one failure does not stop the rest).
async fn admin_bulk(
    State(s): St,
    headers: HeaderMap,
    Body(req): Body<BulkReq>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    if req.users.is_empty() || req.users.len() > 1000 {
        return Err(ApiError::invalid(
            "invalid_field",
            "users must list 1 to 1000 users",
        ));
    }
    let action = Action::parse(&req.action)?;
    let mut results = Vec::with_capacity(req.users.len());
    let mut failed = 0;
    for raw in &req.users {
        let r = match normalize_user(raw) {
            Ok(user) => apply_action(&s, &user, action, req.state).await,
            Err(e) => Err(e),
        };
        match r {
            Ok(v) => results.push(v),
            Err(e) => {
                failed += 1;
                results.push(json!({"user": raw, "ok": false, "error": {"code": e.code, "message": e.message}}));
            }
        }
    }
    Ok(ok_json(
        StatusCode::OK,
        &json!({"results": results, "failed": failed}),
    ))
}

/// The service settings an admin may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsPatch {
    allowed_methods: Option<Vec<MethodType>>,
    app_passwords_allowed: Option<bool>,
    max_app_passwords: Option<u32>,
    remember_device_days: Option<u16>,
    session_lifetime_secs: Option<u32>,
    free_failures: Option<u32>,
    backoff_base_secs: Option<u32>,
    backoff_max_secs: Option<u32>,
    lockout_threshold: Option<u32>,
    lockout_secs: Option<u32>,
    code_lifetime_secs: Option<u32>,
    code_attempts: Option<u8>,
    registration_lifetime_secs: Option<u32>,
    organisation_domains: Option<Vec<String>>,
}

fn settings_json(p: &Policy) -> Value {
    json!({
        "allowed_methods": crate::engine::allowed_methods(p),
        "app_passwords_allowed": p.app_passwords_allowed,
        "max_app_passwords": p.max_app_passwords,
        "remember_device_days": p.remember_device_days,
        "session_lifetime_secs": p.session_lifetime_secs,
        "free_failures": p.free_failures,
        "backoff_base_secs": p.backoff_base_secs,
        "backoff_max_secs": p.backoff_max_secs,
        "lockout_threshold": p.lockout_threshold,
        "lockout_secs": p.lockout_secs,
        "code_lifetime_secs": p.code_lifetime_secs,
        "code_attempts": p.code_attempts,
        "registration_lifetime_secs": p.registration_lifetime_secs,
        "organisation_domains": p.organisation_domains,
    })
}

async fn admin_get_settings(State(s): St, headers: HeaderMap) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    Ok(ok_json(StatusCode::OK, &settings_json(s.engine().policy())))
}

async fn admin_put_settings(
    State(s): St,
    headers: HeaderMap,
    Body(p): Body<SettingsPatch>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let mut policy = s.engine().policy().clone();
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = p.$f { policy.$f = v; } )* };
    }
    if let Some(m) = p.allowed_methods {
        policy.allowed_methods = m.iter().map(|&t| t.into()).collect();
    }
    set!(
        app_passwords_allowed,
        max_app_passwords,
        remember_device_days,
        session_lifetime_secs,
        free_failures,
        backoff_base_secs,
        backoff_max_secs,
        lockout_threshold,
        lockout_secs,
        code_lifetime_secs,
        code_attempts,
        registration_lifetime_secs,
        organisation_domains
    );
    if !s.cfg.demo {
        for m in crate::engine::allowed_methods(&policy) {
            let ok = match m {
                MethodType::AuthenticatorApp => true,
                MethodType::Email => s.cfg.delivery.smtp.is_some(),
                MethodType::Text | MethodType::Call => s.cfg.delivery.webhook.is_some(),
            };
            if !ok {
                return Err(ApiError::invalid(
                    "delivery_not_configured",
                    format!(
                        "{} cannot be allowed: the server has no delivery configured for it",
                        m.as_str()
                    ),
                ));
            }
        }
    }
    s.set_policy(policy).await?;
    tracing::info!("service settings changed");
    Ok(ok_json(StatusCode::OK, &settings_json(s.engine().policy())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    since: Option<i64>,
    #[serde(default)]
    until: Option<i64>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

async fn admin_audit(
    State(s): St,
    headers: HeaderMap,
    q: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    s.check_admin(&headers)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid_query",
            "limit must be 1 to 1000",
        ));
    }
    let user = match q.user {
        Some(u) => Some(normalize_user(&u)?),
        None => None,
    };
    let entries = s
        .store
        .audit(&crate::store::AuditQuery {
            user,
            event: q.event,
            since: q.since,
            until: q.until,
            before: q.before,
            limit,
        })
        .await
        .map_err(|e| store_err(&e))?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(ok_json(
        StatusCode::OK,
        &json!({"entries": entries, "next": next}),
    ))
}
