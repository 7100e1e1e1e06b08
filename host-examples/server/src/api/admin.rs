//! The admin API: users, their MFA state and password, actions, bulk
//! actions, service settings and the audit log.
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    #[serde(default)]
    state: Option<MfaState>,
    /// Only users whose id contains this text (case-insensitive).
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

pub(super) fn query<T: DeserializeOwned>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid("invalid_query", e.body_text()))
}

pub(super) async fn admin_list_users(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    s.admin_actor(&headers, peer.ip()).await?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid_query",
            "limit must be 1 to 1000",
        ));
    }
    let search =
        q.q.as_deref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
    if search.as_ref().is_some_and(|t| t.len() > 256) {
        return Err(ApiError::invalid(
            "invalid_query",
            "q must be at most 256 characters",
        ));
    }
    let users = s
        .store
        .list_users(
            q.state.map(MfaState::as_str),
            search.as_deref(),
            q.after.as_deref(),
            limit,
        )
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
pub(super) struct CreateUser {
    user: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    state: Option<MfaState>,
    /// Give the new user the admin role.
    #[serde(default)]
    admin: bool,
}

pub(super) async fn admin_create_user(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Body(req): Body<CreateUser>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&req.user)?;
    let hash = match req.password {
        Some(p) => Some(s.hash_new_password(p).await?),
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
        s.run_op(&user, false, false, {
            let a = actor.to_string();
            move |h, r, now| h.set_mfa_state(r.as_record(), state, &a, now)
        })
        .await?
        .into_api()?;
    }
    if req.admin {
        s.run_op(&user, false, false, {
            let a = actor.clone();
            move |h, r, now| h.set_admin_role(r.as_record(), true, &a, now)
        })
        .await?
        .into_api()?;
    }
    let rec = s.load_or_create(&user, false).await?;
    Ok(ok_json(StatusCode::CREATED, &user_view(&s, &user, &rec)?))
}

pub(super) fn user_view(s: &AppState, user: &str, rec: &UserRecord) -> Result<Value, ApiError> {
    let now = unix_now();
    let locked: Vec<Value> = Factor::ALL
        .iter()
        .copied()
        .filter_map(|f| {
            rec.locked_until(f, now)
                .map(|until| json!({"factor": f, "until": until}))
        })
        .collect();
    Ok(json!({
        "user": user,
        "state": rec.summary().state,
        "admin": rec.summary().admin,
        "must_reregister": rec.summary().must_reregister,
        "methods": methods_json(rec),
        "default_method": rec.summary().default_method,
        "app_passwords": rec.app_passwords_json(),
        "recovery_codes_left": rec.summary().recovery_codes_left,
        "locked": locked,
        "locked_out": rec.summary().locked_out,
        "one_time_pass_until": rec.summary().one_time_pass_until,
        "next": next_json(&next_step(s, rec, now)?),
        "revision": rec.revision(),
        "updated_at": rec.summary().updated_at,
    }))
}

pub(super) async fn admin_get_user(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&user)?;
    let rec = s.load_or_create(&user, false).await?;
    Ok(ok_json(StatusCode::OK, &user_view(&s, &user, &rec)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateReq {
    state: MfaState,
}

pub(super) async fn admin_set_state(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Path(user): Path<String>,
    Body(req): Body<StateReq>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&user)?;
    let state = req.state;
    let create = s.cfg.auth.mode == AuthMode::TrustedHeader;
    let done = s
        .run_op(&user, create, false, {
            let a = actor.to_string();
            move |h, r, now| h.set_mfa_state(r.as_record(), state, &a, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &user_view(&s, &user, &rec)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleReq {
    admin: bool,
}

/// Give or take the admin role. An admin cannot take their own (the
/// bearer token can): the last admin never locks everyone out by a click.
pub(super) async fn admin_set_role(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Path(user): Path<String>,
    Body(req): Body<RoleReq>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&user)?;
    let admin = req.admin;
    let done = s
        .run_op(&user, false, false, move |h, r, now| {
            h.set_admin_role(r.as_record(), admin, &actor, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &user_view(&s, &user, &rec)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordReq {
    password: String,
}

pub(super) async fn admin_set_password(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Path(user): Path<String>,
    Body(req): Body<PasswordReq>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&user)?;
    let hash = s.hash_new_password(req.password).await?;
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
    // A new password ends every session and sign-in in progress.
    if s.load(&user).await?.is_some() {
        s.run_op(&user, false, false, {
            let a = actor.to_string();
            move |h, r, now| h.revoke_sessions(r.as_record(), Some(&a), now)
        })
        .await?
        .into_api()?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Admin actions on one user, as in "Manage user settings".
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum AdminAction {
    RequireReregistration,
    DeleteAppPasswords,
    RestoreRememberedDevices,
    Unlock,
    Reset,
    RevokeSessions,
    SetState,
}

impl AdminAction {
    fn parse(s: &str) -> Result<Self, ApiError> {
        serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
            ApiError::not_found(
                "unknown_action",
                "actions are require-reregistration, delete-app-passwords, restore-remembered-devices, unlock, reset, revoke-sessions",
            )
        })
    }
}

pub(super) async fn apply_action(
    s: &AppState,
    user: &str,
    action: AdminAction,
    state: Option<MfaState>,
    actor: &str,
) -> Result<Value, ApiError> {
    let create = s.cfg.auth.mode == AuthMode::TrustedHeader;
    let result: Value = match action {
        AdminAction::RequireReregistration => {
            s.run_op(user, false, false, {
                let a = actor.to_string();
                move |h, r, now| h.require_reregistration(r.as_record(), &a, now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true})
        }
        AdminAction::DeleteAppPasswords => {
            let (n, _, _) = s
                .run_op(user, false, false, {
                    let a = actor.to_string();
                    move |h, r, now| h.delete_all_app_passwords(r.as_record(), &a, now)
                })
                .await?
                .into_api()?;
            s.ap_cache_forget_user(user);
            json!({"user": user, "ok": true, "deleted": n})
        }
        AdminAction::RestoreRememberedDevices => {
            s.run_op(user, false, false, {
                let a = actor.to_string();
                move |h, r, now| h.restore_remembered_devices(r.as_record(), &a, now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true})
        }
        AdminAction::Unlock => {
            s.run_op(user, false, false, {
                let a = actor.to_string();
                move |h, r, now| h.unlock(r.as_record(), &a, now)
            })
            .await?
            .into_api()?;
            s.password_ok(user);
            json!({"user": user, "ok": true})
        }
        AdminAction::Reset => {
            s.run_op(user, false, false, {
                let a = actor.to_string();
                move |h, r, now| h.reset_methods(r.as_record(), &a, now)
            })
            .await?
            .into_api()?;
            s.ap_cache_forget_user(user);
            json!({"user": user, "ok": true})
        }
        AdminAction::RevokeSessions => {
            s.run_op(user, false, false, {
                let a = actor.to_string();
                move |h, r, now| h.revoke_sessions(r.as_record(), Some(&a), now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true})
        }
        AdminAction::SetState => {
            let state = state
                .ok_or_else(|| ApiError::invalid("invalid_field", "set-state needs \"state\""))?;
            s.run_op(user, create, false, {
                let a = actor.to_string();
                move |h, r, now| h.set_mfa_state(r.as_record(), state, &a, now)
            })
            .await?
            .into_api()?;
            json!({"user": user, "ok": true, "state": state})
        }
    };
    Ok(result)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PassReq {
    /// Seconds the pass lasts if unused (600 to 28800). Default 3600.
    #[serde(default = "one_hour")]
    lifetime_secs: u32,
}

fn one_hour() -> u32 {
    3600
}

/// Issue a one-time pass for a user who cannot use any of their methods
/// (admins only, by bearer token). The pass is in this answer only.
pub(super) async fn admin_issue_one_time_pass(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Path(user): Path<String>,
    Body(req): Body<PassReq>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&user)?;
    let lifetime = req.lifetime_secs;
    let pass = s
        .run_op(&user, false, false, {
            let a = actor.to_string();
            move |h, r, now| h.issue_one_time_pass(r.as_record(), &a, lifetime, now)
        })
        .await?
        .into_api()?
        .0;
    tracing::info!(user = %user, "one-time pass issued");
    Ok(ok_json(
        StatusCode::CREATED,
        &json!({"user": user, "pass": pass.pass.expose(), "expires_at": pass.expires_at}),
    ))
}

pub(super) async fn admin_action(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Path((user, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    let user = s.user_id(&user)?;
    let action = AdminAction::parse(&action)?;
    if matches!(action, AdminAction::SetState) {
        return Err(ApiError::invalid(
            "invalid_field",
            "use PUT /admin/users/{user}/state to set the state",
        ));
    }
    let v = apply_action(&s, &user, action, None, &actor).await?;
    Ok(ok_json(StatusCode::OK, &v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BulkReq {
    users: Vec<String>,
    action: String,
    #[serde(default)]
    state: Option<MfaState>,
}

/// One action over many users; each user's result is reported (one failure does not stop the rest).
pub(super) async fn admin_bulk(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Body(req): Body<BulkReq>,
) -> Result<Response, ApiError> {
    let actor = s.admin_actor(&headers, peer.ip()).await?;
    if req.users.is_empty() || req.users.len() > 1000 {
        return Err(ApiError::invalid(
            "invalid_field",
            "users must list 1 to 1000 users",
        ));
    }
    let action = AdminAction::parse(&req.action)?;
    let mut results = Vec::with_capacity(req.users.len());
    let mut failed = 0;
    for raw in &req.users {
        let r = match s.user_id(raw) {
            Ok(user) => apply_action(&s, &user, action, req.state, &actor).await,
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
pub(super) struct SettingsPatch {
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
    send_gap_secs: Option<u32>,
    sends_per_hour: Option<u32>,
    sends_per_day: Option<u32>,
    phone_country_codes: Option<Vec<String>>,
    failure_cap: Option<u32>,
    reauth_window_secs: Option<u32>,
    passkeys: Option<PasskeyPatch>,
}

/// The passkey settings an admin may change. The relying party and its
/// origins describe the deployment: they come from the configuration only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasskeyPatch {
    require_user_verification: Option<bool>,
    allowed_aaguids: Option<Vec<String>>,
    accept_sign_count_regression: Option<bool>,
    max_per_user: Option<u8>,
}

pub(super) fn settings_json(p: &Policy) -> Value {
    json!({
        "allowed_methods": p.allowed_methods,
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
        "send_gap_secs": p.send_gap_secs,
        "sends_per_hour": p.sends_per_hour,
        "sends_per_day": p.sends_per_day,
        "phone_country_codes": p.phone_country_codes,
        "failure_cap": p.failure_cap,
        "reauth_window_secs": p.reauth_window_secs,
        "passkeys": {
            "rp_id": p.passkeys.rp_id,
            "rp_name": p.passkeys.rp_name,
            "origins": p.passkeys.origins,
            "require_user_verification": p.passkeys.require_user_verification,
            "allowed_aaguids": p.passkeys.allowed_aaguids,
            "accept_sign_count_regression": p.passkeys.accept_sign_count_regression,
            "max_per_user": p.passkeys.max_per_user,
        },
    })
}

pub(super) async fn admin_get_settings(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    s.admin_actor(&headers, peer.ip()).await?;
    Ok(ok_json(StatusCode::OK, &settings_json(s.engine().policy())))
}

pub(super) async fn admin_put_settings(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Body(p): Body<SettingsPatch>,
) -> Result<Response, ApiError> {
    s.admin_actor(&headers, peer.ip()).await?;
    let mut policy = s.engine().policy().clone();
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = p.$f { policy.$f = v; } )* };
    }
    let methods_changed = p.allowed_methods.is_some();
    if let Some(m) = p.allowed_methods {
        policy.allowed_methods = m;
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
        organisation_domains,
        send_gap_secs,
        sends_per_hour,
        sends_per_day,
        phone_country_codes,
        failure_cap,
        reauth_window_secs
    );
    if let Some(k) = p.passkeys {
        let mut allowed_aaguids = k.allowed_aaguids;
        if let Some(list) = allowed_aaguids.as_mut() {
            // Written as the admin pasted them; the engine checks each one.
            for a in list.iter_mut() {
                *a = a.trim().to_ascii_lowercase();
            }
            list.retain(|a| !a.is_empty());
        }
        let to = &mut policy.passkeys;
        if let Some(v) = k.require_user_verification {
            to.require_user_verification = v;
        }
        if let Some(v) = allowed_aaguids {
            to.allowed_aaguids = v;
        }
        if let Some(v) = k.accept_sign_count_regression {
            to.accept_sign_count_regression = v;
        }
        if let Some(v) = k.max_per_user {
            to.max_per_user = v;
        }
    }
    if !s.cfg.demo {
        for m in policy.allowed_methods.iter().copied() {
            let ok = match m {
                // Passkeys need no delivery; the engine checks their site settings.
                MethodType::AuthenticatorApp | MethodType::Passkey => true,
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
    let mut v = settings_json(s.engine().policy());
    if methods_changed {
        let (users, complete) = users_to_replace(&s).await?;
        v["users_to_replace"] = json!(users);
        v["users_to_replace_complete"] = json!(complete);
    }
    Ok(ok_json(StatusCode::OK, &v))
}

/// Most users listed as affected by a change of the allowed methods.
const MAX_AFFECTED: usize = 1000;

/// Users whose every method the policy no longer allows: at their next
/// sign-in they must prove it is them with an old method, a recovery code or
/// a one-time pass (`next: replace`). At most [`MAX_AFFECTED`] are listed;
/// the flag says whether the list is complete.
async fn users_to_replace(s: &AppState) -> Result<(Vec<String>, bool), ApiError> {
    let now = unix_now();
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .store
            .list_users(None, None, after.as_deref(), 500)
            .await
            .map_err(|e| crate::store_err(&e))?;
        let Some(last) = page.last() else {
            return Ok((found, true));
        };
        after = Some(last.user.clone());
        for u in page.iter().filter(|u| u.state != "disabled") {
            let rec = s.load_or_create(&u.user, false).await?;
            if matches!(next_step(s, &rec, now)?, NextStep::Replace(_)) {
                if found.len() == MAX_AFFECTED {
                    return Ok((found, false));
                }
                found.push(u.user.clone());
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditParams {
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

pub(super) async fn admin_audit(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    q: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    s.admin_actor(&headers, peer.ip()).await?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid_query",
            "limit must be 1 to 1000",
        ));
    }
    let user = match q.user {
        Some(u) => Some(s.user_id(&u)?),
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
