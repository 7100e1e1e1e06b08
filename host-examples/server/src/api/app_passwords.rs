//! The user's app passwords: list, create (shown once), delete.
use super::*;

pub(super) async fn list_app_passwords(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, rec) = s
        .authorize(&headers, peer.0.ip(), Action::ListAppPasswords)
        .await?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"app_passwords": rec.app_passwords_json(), "allowed": s.engine().policy().app_passwords_allowed}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateAppPassword {
    name: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<u64>,
}

pub(super) async fn create_app_password(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<CreateAppPassword>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::CreateAppPassword)
        .await?;
    let request = mfa_host::AppPasswordRequest {
        name: req.name,
        scopes: req.scopes,
        expires_at: req.expires_at,
    };
    let started = Instant::now();
    let done = s
        .run_op(&c.user, false, true, move |h, r, now| {
            h.create_app_password(r.as_record(), &request, now)
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

pub(super) async fn delete_app_password(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::DeleteAppPassword)
        .await?;
    let done = s
        .run_op(&c.user, false, false, move |h, r, now| {
            h.delete_app_password(r.as_record(), &id, now)
        })
        .await?;
    done.into_api()?;
    s.ap_cache_forget_user(&c.user);
    Ok(StatusCode::NO_CONTENT.into_response())
}
