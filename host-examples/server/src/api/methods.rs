//! "Set it up now" and the user's methods: registering, confirming, the
//! default method, removing one, recovery codes.
use super::*;

pub(super) async fn list_methods(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, rec) = s
        .authorize(&headers, peer.0.ip(), Action::ViewAccount)
        .await?;
    let allowed: Vec<&str> = s
        .engine()
        .policy()
        .allowed_methods
        .iter()
        .map(|&m| m.as_str())
        .collect();
    Ok(ok_json(
        StatusCode::OK,
        &json!({"methods": methods_json(&rec), "default_method": rec.summary().default_method, "allowed": allowed, "recovery_codes_left": rec.summary().recovery_codes_left}),
    ))
}

/// What a registration started: an authenticator app to scan, or a code sent.
#[derive(Debug)]
pub(super) enum Registration {
    /// Show the QR code and manual key.
    Authenticator(crate::engine::AuthenticatorSetup),
    /// A code was made for delivery.
    CodeSent {
        /// What to deliver.
        delivery: Delivery,
    },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthenticatorReq {
    #[serde(default)]
    account: Option<String>,
}

pub(super) fn registration_json(s: &AppState, r: &Registration) -> Value {
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

pub(super) async fn begin_authenticator(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<AuthenticatorReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::AddMethod)
        .await?;
    let account = req.account;
    let done = s
        .run_op(&c.user, true, false, move |h, r, now| {
            h.begin_authenticator(r.as_record(), account.as_deref(), now)
                .map(|o| o.map(Registration::Authenticator))
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhoneReq {
    /// Country calling code, e.g. `+44`.
    country_code: String,
    /// The national number.
    number: String,
    /// `text` or `call`.
    channel: PhoneChannel,
}

pub(super) async fn begin_phone(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<PhoneReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::AddMethod)
        .await?;
    let number = mfa_host::PhoneNumber {
        country_code: req.country_code,
        national: req.number,
    };
    let channel = req.channel;
    let done = s
        .run_op(&c.user, true, false, move |h, r, now| {
            h.begin_phone(r.as_record(), &number, channel, now)
                .map(|o| o.map(|delivery| Registration::CodeSent { delivery }))
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    if let Registration::CodeSent { delivery } = &reg {
        deliver(&s, &peer, delivery).await?;
    }
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

/// Change the phone `id` to another number or channel (Security info's
/// "Change"). Who may call: the user, with an MFA session and a recent
/// second factor (it ends in removing a method: `Action::RemoveMethod`).
/// The engine proves the new number with a code before the old one goes.
pub(super) async fn change_phone(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(req): Body<PhoneReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::RemoveMethod)
        .await?;
    let id: MethodId = id
        .parse()
        .map_err(|_| ApiError::invalid("invalid_method_id", "the method id must be a number"))?;
    let number = mfa_host::PhoneNumber {
        country_code: req.country_code,
        national: req.number,
    };
    let channel = req.channel;
    let done = s
        .run_op(&c.user, false, false, move |h, r, now| {
            h.change_phone(r.as_record(), id, &number, channel, now)
                .map(|o| o.map(|delivery| Registration::CodeSent { delivery }))
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    if let Registration::CodeSent { delivery } = &reg {
        deliver(&s, &peer, delivery).await?;
    }
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailReq {
    address: String,
}

pub(super) async fn begin_email(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<EmailReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::AddMethod)
        .await?;
    let done = s
        .run_op(&c.user, true, false, move |h, r, now| {
            h.begin_email(r.as_record(), &req.address, now)
                .map(|o| o.map(|delivery| Registration::CodeSent { delivery }))
        })
        .await?;
    let (reg, _, _) = done.into_api()?;
    if let Registration::CodeSent { delivery } = &reg {
        deliver(&s, &peer, delivery).await?;
    }
    Ok(ok_json(StatusCode::OK, &registration_json(&s, &reg)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportReq {
    otpauth_uri: String,
}

pub(super) async fn begin_import(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<ImportReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::AddMethod)
        .await?;
    let done = s
        .run_op(&c.user, true, false, move |h, r, now| {
            h.begin_import(r.as_record(), &req.otpauth_uri, now)
        })
        .await?;
    done.into_api()?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"type": "imported", "next": "confirm"}),
    ))
}

pub(super) async fn resend(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::ContinueRegistration)
        .await?;
    let done = s
        .run_op(&c.user, false, false, |h, r, now| {
            h.resend_registration_code(r.as_record(), now)
        })
        .await?;
    let (delivery, _, _) = done.into_api()?;
    deliver(&s, &peer, &delivery).await?;
    Ok(ok_json(StatusCode::OK, &sent_json(&s, &delivery)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmReq {
    code: String,
}

pub(super) async fn confirm(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<ConfirmReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::ViewAccount)
        .await?;
    let user = c.user.clone();
    let started = Instant::now();
    let done = s
        .run_op(&user, false, true, move |h, r, now| {
            h.finish_registration(r.as_record(), c.standing(), &req.code, false, now)
        })
        .await?;
    s.time_argon2("confirm_registration", started);
    let (registered, rec, now) = done.into_api()?;
    Ok(registered_response(&s, &headers, &registered, &rec, now))
}

/// The answer to a proven registration: the new method, the recovery codes
/// of a first one (shown once), and the session cookies when it finished
/// "Set it up now".
pub(super) fn registered_response(
    s: &AppState,
    headers: &HeaderMap,
    registered: &Registered,
    rec: &UserRecord,
    now: u64,
) -> Response {
    let confirmed = &registered.confirmed;
    let policy = s.engine().policy().clone();
    let body = json!({
        "method_id": confirmed.method_id,
        "clock_skew_steps": confirmed.matched.map(|m| m.offset),
        "recovery_codes": confirmed.recovery_codes.as_ref().map(|rc| rc.codes.iter().map(|c| c.expose().to_string()).collect::<Vec<_>>()),
        "methods": methods_json(rec),
        "next": {"next": "done"},
        "app_passwords_allowed": policy.app_passwords_allowed,
    });
    let cookies = match &registered.signed_in {
        Some(signed) => session_cookies(s, headers, signed, now),
        None => Vec::new(),
    };
    with_cookies(ok_json(StatusCode::OK, &body), cookies)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DefaultReq {
    method_id: MethodId,
}

pub(super) async fn set_default(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Body(req): Body<DefaultReq>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::SetDefaultMethod)
        .await?;
    let id = req.method_id;
    let done = s
        .run_op(&c.user, false, false, move |h, r, now| {
            h.set_default_method(r.as_record(), id, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"methods": methods_json(&rec), "default_method": rec.summary().default_method}),
    ))
}

pub(super) async fn remove_method(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::RemoveMethod)
        .await?;
    let id: MethodId = id
        .parse()
        .map_err(|_| ApiError::invalid("invalid_method_id", "the method id must be a number"))?;
    let done = s
        .run_op(&c.user, false, false, move |h, r, now| {
            h.remove_method(r.as_record(), id, now)
        })
        .await?;
    let (_, rec, _) = done.into_api()?;
    Ok(ok_json(
        StatusCode::OK,
        &json!({"methods": methods_json(&rec), "default_method": rec.summary().default_method}),
    ))
}

pub(super) async fn regenerate_recovery(
    State(s): St,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.0.ip(), Action::RegenerateRecoveryCodes)
        .await?;
    let started = Instant::now();
    let done = s
        .run_op(&c.user, false, true, |h, r, now| {
            h.regenerate_recovery_codes(r.as_record(), now)
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
