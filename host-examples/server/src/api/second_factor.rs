//! The second factor: sending a code, verifying a code or a recovery code.
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyReq {
    #[serde(default)]
    method_id: Option<MethodId>,
    code: String,
    /// "Don't ask again on this device".
    #[serde(default)]
    remember_device: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SendReq {
    #[serde(default)]
    method_id: Option<MethodId>,
}

pub(super) fn method_label(rec: &UserRecord, id: Option<MethodId>) -> &'static str {
    let id = id.or(rec.summary().default_method);
    rec.summary()
        .methods
        .iter()
        .find(|m| Some(m.id) == id)
        .map(|m| m.method_type.as_str())
        .unwrap_or("unknown")
}

/// Send a code the engine produced, within the limits over all users (per
/// client address, per destination, for the service). A refused send
/// delivers nothing and answers 429 with `Retry-After`.
pub(super) async fn deliver(s: &AppState, peer: &Peer, d: &Delivery) -> Result<(), ApiError> {
    let channel = d.channel.as_str();
    let now = crate::unix_now();
    // The guard's only refusal is a send limit; a poisoned lock refuses too.
    let refused = match s.send_guard.lock() {
        Ok(mut g) => g.admit(&peer.ip().to_string(), &d.destination, now).err(),
        Err(_) => Some(mfa_core::Error::SendLimit { until: now + 60 }),
    };
    if let Some(e) = refused {
        s.metrics.delivery(channel, false);
        tracing::warn!(channel, "send refused by the limits over all users");
        let until = match e {
            mfa_core::Error::SendLimit { until } => until,
            _ => now + 60,
        };
        return Err(ApiError::too_many(
            "send_limit",
            e.to_string(),
            until.saturating_sub(now),
        ));
    }
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

pub(super) fn sent_json(s: &AppState, d: &Delivery) -> Value {
    json!({
        "channel": d.channel.as_str(),
        "masked_destination": d.masked_destination,
        "expires_at": d.expires_at,
        "digits": s.engine().policy().code_digits,
    })
}

pub(super) async fn send_code(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<SendReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::ViewAccount)
        .await?;
    let method = req.method_id;
    let done = s
        .run_op(&c.user, false, false, move |h, r, now| {
            h.send_code(r.as_record(), method, now)
        })
        .await?;
    let (delivery, _, _) = done.into_api()?;
    deliver(&s, &peer, &delivery).await?;
    Ok(ok_json(StatusCode::OK, &sent_json(&s, &delivery)))
}

pub(super) fn signed_response(
    s: &AppState,
    headers: &HeaderMap,
    user: &str,
    signed: &SignedIn,
    now: u64,
) -> Response {
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
        "stay_signed_in": stay_json(headers),
    });
    with_cookies(
        ok_json(StatusCode::OK, &body),
        session_cookies(s, headers, signed, now),
    )
}

pub(super) async fn verify(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<VerifyReq>,
) -> Result<Response, ApiError> {
    let c = s.step_caller(&headers, peer.0.ip())?;
    let (method, code, remember) = (req.method_id, req.code, req.remember_device);
    let user = c.user.clone();
    let done = s
        .run_op(&user, false, false, move |h, r, now| {
            let label = method_label(r, method);
            let proof = Proof::Code {
                method,
                code: &code,
            };
            h.finish_sign_in(r.as_record(), c.standing(), proof, remember, now)
                .map(|o| o.settle().map(|x| (label, x)))
        })
        .await?;
    let ((label, result), _, now) = done.into_api()?;
    signed_or_refused(&s, &headers, &user, label, result, now)
}

/// The answer to a second factor: the session cookies, or the refusal; both counted.
pub(super) fn signed_or_refused(
    s: &AppState,
    headers: &HeaderMap,
    user: &str,
    label: &'static str,
    result: Result<SignedIn, EngineError>,
    now: u64,
) -> Result<Response, ApiError> {
    match result {
        Ok(signed) => {
            s.metrics.verification(label, "ok");
            Ok(signed_response(s, headers, user, &signed, now))
        }
        Err(e) => {
            s.metrics.verification(label, crate::error::static_code(&e));
            Err(ApiError::from_engine(&e, now))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PassReq {
    pass: String,
    #[serde(default)]
    remember_device: bool,
}

/// An admin's one-time pass as the second factor (who may call: a caller
/// with a login token; a pass works once, within its lifetime, and wrong
/// passes count with recovery codes towards the lock and the failure cap).
pub(super) async fn verify_one_time_pass(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<PassReq>,
) -> Result<Response, ApiError> {
    let c = s.step_caller(&headers, peer.0.ip())?;
    let (pass, remember) = (req.pass, req.remember_device);
    let user = c.user.clone();
    let done = s
        .run_op(&user, false, true, move |h, r, now| {
            h.finish_sign_in(
                r.as_record(),
                c.standing(),
                Proof::OneTimePass(&pass),
                remember,
                now,
            )
        })
        .await?;
    signed_or_refused(&s, &headers, &user, "one_time_pass", done.result, done.now)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecoveryReq {
    code: String,
    #[serde(default)]
    remember_device: bool,
}

pub(super) async fn verify_recovery(
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
        .run_op(&user, false, true, move |h, r, now| {
            h.finish_sign_in(
                r.as_record(),
                c.standing(),
                Proof::RecoveryCode(&code),
                remember,
                now,
            )
        })
        .await?;
    s.time_argon2("recovery_code", started);
    signed_or_refused(&s, &headers, &user, "recovery_code", done.result, done.now)
}
