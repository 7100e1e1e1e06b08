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
    // Every refusal goes through here: the engine says whether it was a
    // guess that counts against the address.
    let refuse = |s: &AppState, refusal: &EngineError, cache: &'static str| {
        s.app_password_refused(&address, refusal, unix_now());
        let mut api = ApiError::from_engine(refusal, unix_now());
        if api.status == StatusCode::UNPROCESSABLE_ENTITY || api.status == StatusCode::NOT_FOUND {
            api.status = StatusCode::UNAUTHORIZED;
        }
        s.metrics.app_password_check(api.code, cache);
        api
    };
    let throttled = |s: &AppState| {
        s.app_password_wait(&address, unix_now()).map(|wait| {
            s.metrics.app_password_check("throttled", "none");
            ApiError::too_many(
                "retry_later",
                format!("too many failed attempts from this address; try again in {wait} s"),
                wait,
            )
        })
    };
    // The user in the engine's canonical form and the password's form, in one
    // engine call (an impossible user name is an unknown password).
    let engine = s.engine();
    let presented = match engine.call(|h| h.present_app_password(&req.user, &req.password)) {
        Ok(p) => p,
        Err(e) => {
            if let Some(t) = throttled(&s) {
                return Err(t);
            }
            return Err(refuse(&s, &e, "none"));
        }
    };
    let user = presented.user.clone();
    let Some(rec) = s.load(&user).await? else {
        if let Some(e) = throttled(&s) {
            return Err(e);
        }
        // The engine answers as for a user without app passwords, in its
        // own words: the same answer a real user with an unknown id gets.
        let now = unix_now();
        let refusal = match engine.call(|h| {
            h.verify_app_password(
                mfa_host::Record::New {
                    user_id: &user,
                    now,
                },
                &req.password,
                None,
                now,
            )
        }) {
            Ok(outcome) => match outcome.result {
                Err(e) => e,
                Ok(_) => return Err(ApiError::internal("the engine accepted an unknown user")),
            },
            Err(e) => e,
        };
        return Err(refuse(&s, &refusal, "none"));
    };
    let now = unix_now();
    let scope = req.scope.as_deref().filter(|x| !x.is_empty());
    // A cache hit skips argon2 for a password verified recently against the
    // same stored hash, as long as the engine's cache rule lets it stand. A
    // proven credential is not a guess: it passes even from a throttled address.
    if let Ok(cred) = engine.call(|h| h.app_password_credential(rec.as_record(), &presented.id)) {
        let info = rec.summary().app_passwords.iter().find(|a| a.id == cred.id);
        if let Some(info) = info
            && s.ap_cache_hit(&presented, scope, &cred, info.last_used_at, now)
        {
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
        .run_op(&user, false, true, move |h, r, now| {
            h.verify_app_password(r.as_record(), &password, scope_owned.as_deref(), now)
        })
        .await?;
    s.time_argon2("app_password_verify", started);
    let now = done.now;
    match done.result {
        Ok(m) => {
            if let Ok(cred) =
                engine.call(|h| h.app_password_credential(done.record.as_record(), &m.id))
            {
                s.ap_cache_put(&presented, scope, cred.hash, now);
            }
            s.metrics.app_password_check("ok", "miss");
            Ok(ok_json(
                StatusCode::OK,
                &json!({"user": user, "id": m.id, "name": m.name, "scopes": m.scopes}),
            ))
        }
        Err(e) => Err(refuse(&s, &e, "miss")),
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
