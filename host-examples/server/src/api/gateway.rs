//! The gateway's check of an app password (`POST /app-passwords/verify`).
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewayVerify {
    user: String,
    password: String,
    #[serde(default)]
    scope: Option<String>,
    /// The client's address as the gateway saw it (failures are counted per
    /// client, not per gateway).
    #[serde(default)]
    client_address: Option<String>,
}

/// For gateways: 200 with the identity, 401 wrong/unknown/malformed/revoked/expired,
/// 403 out of scope, 429 with `Retry-After` when the client address is throttled.
///
/// Who may call: gateways with the gateway token, or anything on this
/// machine when no token is set. What an attacker tries (security item 5):
/// locking a victim's mail clients out with well-formed garbage (no lock per
/// user: the correct password always passes; failures count per client
/// address, before any hash), and telling real accounts from invented ones
/// (an unknown user is answered exactly as a real user with an unknown id).
pub(super) async fn verify_app_password(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<GatewayVerify>,
) -> Result<Response, ApiError> {
    s.check_gateway(&headers, peer.0.ip())?;
    // The client's address from the gateway that asks, else the caller's own.
    let address = req
        .client_address
        .as_deref()
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
        .unwrap_or(peer.0.ip())
        .to_string();
    let refuse = |s: &AppState, e: ApiError, cache: &'static str| {
        if matches!(
            e.code,
            "unknown_app_password" | "wrong_app_password" | "malformed_app_password"
        ) {
            s.app_password_failed(&address, unix_now());
        }
        s.metrics.app_password_check(e.code, cache);
        e
    };
    let unknown = || {
        ApiError::unauthorized(
            "unknown_app_password",
            EngineError::UnknownAppPassword.to_string(),
        )
    };
    let throttled = |s: &AppState| {
        s.app_password_wait(&address, unix_now()).map(|wait| {
            s.metrics.app_password_check("throttled", "none");
            ApiError::from_engine(
                &EngineError::RetryLater {
                    until: unix_now() + wait,
                },
                unix_now(),
            )
        })
    };
    let Ok(user) = normalize_user(&req.user) else {
        if let Some(e) = throttled(&s) {
            return Err(e);
        }
        return Err(refuse(&s, unknown(), "none"));
    };
    let engine = s.engine();
    let presented = match engine.parse_app_password(&req.password) {
        Ok(p) => p,
        Err(e) => {
            if let Some(t) = throttled(&s) {
                return Err(t);
            }
            return Err(refuse(&s, ApiError::from_engine(&e, unix_now()), "none"));
        }
    };
    let Some(rec) = s.load(&user).await? else {
        if let Some(e) = throttled(&s) {
            return Err(e);
        }
        return Err(refuse(&s, unknown(), "none"));
    };
    let now = unix_now();
    let scope = req.scope.as_deref().filter(|x| !x.is_empty());
    // The cache skips argon2 only for a password verified recently against the same stored hash
    // while "last used" is fresh (otherwise the engine updates it). A proven
    // credential is not a guess: it passes even from a throttled address.
    if let Ok(cred) = engine.app_password_credential(&rec, presented.id())
        && cred.expires_at.is_none_or(|x| now < x)
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
    if let Some(e) = throttled(&s) {
        return Err(e);
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
pub(super) async fn revocations(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.check_gateway(&headers, peer.0.ip())?;
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
