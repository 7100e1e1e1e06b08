//! The gateway's check of an app password (`POST /app-passwords/verify`).
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewayVerify {
    user: String,
    password: String,
    #[serde(default)]
    scope: Option<String>,
}

/// For gateways: 200 with the identity, 401 wrong/unknown/malformed/revoked/expired,
/// 403 out of scope, 429 with `Retry-After` when throttled.
pub(super) async fn verify_app_password(
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

/// The revocation feed (see `crate::revocations`), with the gateway token
/// when one is configured.
pub(super) async fn revocations(State(s): St, headers: HeaderMap) -> Result<Response, ApiError> {
    s.check_gateway(&headers)?;
    let json = s.revocations_json().await?;
    let mut r = json.to_string().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}
