//! Passkeys and security keys: registering one and signing in with one.
//! The server passes the browser's JSON to the engine and the engine's
//! options back; every check (challenge, origin, relying party, signature,
//! sign count, allowed models, the cap per user) is the engine's.
//!
//! Who may call: registering needs what adding any method needs
//! (`add-method`: a recent second factor, or the login cookie during "Set
//! it up now"); signing in needs the login cookie (or a session, to verify
//! again). Cookie callers are held to the same-site check of every
//! state-changing route. An attacker's tries — a replayed answer, a page of
//! another origin, a forged signature, a copied key, a flood — are refused
//! by the engine with `passkey_refused` and the failed check, or throttled.
use super::*;

/// The options as the browser takes them, with their expiry.
fn options_json(o: &mfa_host::PasskeyOptions) -> Result<Value, ApiError> {
    ceremony_options(&o.options, o.expires_at)
}

/// The engine's options (JSON text) as the browser takes them, with their expiry.
pub(super) fn ceremony_options(options: &str, expires_at: u64) -> Result<Value, ApiError> {
    let options: Value = serde_json::from_str(options).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "engine_failure",
            "the engine's passkey options are not JSON",
        )
    })?;
    Ok(json!({"type": "passkey", "options": options, "expires_at": expires_at}))
}

/// Start registering a passkey: `PublicKeyCredentialCreationOptionsJSON`.
pub(super) async fn begin_passkey(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::AddMethod)
        .await?;
    let done = s
        .run_op(&c.user, true, false, |h, r, now| {
            h.begin_passkey(r.as_record(), now)
        })
        .await?;
    let (options, _, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &options_json(&options)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmPasskeyReq {
    /// `PublicKeyCredential.toJSON()` of the new credential.
    response: Value,
    /// The name the user gives it (empty: "Passkey N").
    #[serde(default)]
    name: String,
    /// "Don't ask again on this device", when this finishes "Set it up now".
    #[serde(default)]
    remember_device: bool,
}

/// Finish registering a passkey; during "Set it up now" it signs the user in.
pub(super) async fn confirm_passkey(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<ConfirmPasskeyReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::ViewAccount)
        .await?;
    let user = c.user.clone();
    let response = req.response.to_string();
    let (name, remember) = (req.name, req.remember_device);
    let started = Instant::now();
    let done = s
        .run_op(&user, false, true, move |h, r, now| {
            h.finish_passkey_registration(
                r.as_record(),
                c.standing(),
                &response,
                &name,
                remember,
                now,
            )
        })
        .await?;
    s.time_argon2("confirm_registration", started);
    let (registered, rec, now) = done.into_api()?;
    Ok(registered_response(&s, &headers, &registered, &rec, now))
}

/// Start a sign-in with a passkey: `PublicKeyCredentialRequestOptionsJSON`
/// offering the user's keys.
pub(super) async fn passkey_sign_in_options(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = s.step_caller(&headers, peer.0.ip())?;
    let user = c.user.clone();
    let done = s
        .run_op(&user, false, false, move |h, r, now| {
            h.begin_passkey_sign_in(r.as_record(), c.standing(), now)
        })
        .await?;
    let (options, _, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &options_json(&options)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyPasskeyReq {
    /// `PublicKeyCredential.toJSON()` of the assertion.
    response: Value,
    /// "Don't ask again on this device".
    #[serde(default)]
    remember_device: bool,
}

/// The passkey as the second factor: the session cookies, or the refusal.
pub(super) async fn verify_passkey(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<VerifyPasskeyReq>,
) -> Result<Response, ApiError> {
    let c = s.step_caller(&headers, peer.0.ip())?;
    let response = req.response.to_string();
    let remember = req.remember_device;
    let user = c.user.clone();
    let done = s
        .run_op(&user, false, false, move |h, r, now| {
            h.finish_sign_in(
                r.as_record(),
                c.standing(),
                Proof::Passkey(&response),
                remember,
                now,
            )
            .map(|o| o.settle())
        })
        .await?;
    let (result, _, now) = done.into_api()?;
    signed_or_refused(&s, &headers, &user, "passkey", result, now)
}
