//! Sign-in and sign-out: the password, then the engine's next step (or a
//! remembered device), and who is calling.
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignIn {
    user: String,
    password: String,
}

/// The answer when a user is fully signed in: session (and device) cookies.
/// The session cookie outlives the browser session only when the person
/// chose to stay signed in ("Don't show this again" with Yes); otherwise it
/// ends with the browser until they answer "Stay signed in?".
pub(super) fn session_cookies(
    s: &AppState,
    headers: &HeaderMap,
    signed: &SignedIn,
    now: u64,
) -> Vec<header::HeaderValue> {
    let secure = s.cfg.cookies.secure;
    let mut v: Vec<header::HeaderValue> = Vec::new();
    v.extend(session_cookie(
        s,
        signed.session.expose(),
        signed.session_expires_at,
        auth::stay_signed_in(headers) == Some(true),
        now,
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

/// The session cookie, kept until the token expires or only for the browser session.
fn session_cookie(
    s: &AppState,
    token: &str,
    expires_at: u64,
    persistent: bool,
    now: u64,
) -> Option<header::HeaderValue> {
    let secure = s.cfg.cookies.secure;
    if persistent {
        auth::set_cookie(
            SESSION_COOKIE,
            token,
            expires_at.saturating_sub(now),
            secure,
        )
    } else {
        auth::set_browser_session_cookie(SESSION_COOKIE, token, secure)
    }
}

/// What the answer to "Stay signed in?" is for this browser: `ask`, `yes` or `no`.
pub(super) fn stay_json(headers: &HeaderMap) -> &'static str {
    match auth::stay_signed_in(headers) {
        None => "ask",
        Some(true) => "yes",
        Some(false) => "no",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StayReq {
    stay: bool,
    #[serde(default)]
    dont_show_again: bool,
}

/// "Stay signed in?" (Yes / No, "Don't show this again"). Who may call: a
/// signed-in person with the session cookie (an MFA session, or a session
/// of a user without MFA); a login token alone is refused. What an attacker
/// tries: a cross-site request making a victim's session persistent (the
/// CSRF guard refuses it, and the token's lifetime does not change: only
/// whether the browser keeps the cookie after it closes); a forged, revoked
/// or expired session (the engine refuses it: 401); a bearer token in place
/// of the cookie (refused: only the cookie is re-issued). Nothing is stored.
pub(super) async fn stay_signed_in(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
    Body(req): Body<StayReq>,
) -> Result<Response, ApiError> {
    let Some(token) = auth::cookie(&headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
        return Err(ApiError::unauthorized(
            "not_signed_in",
            "sign in first: \"Stay signed in?\" is asked after the sign-in",
        ));
    };
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(ApiError::bad_request(
            "cookie_only",
            "\"Stay signed in?\" applies to the session cookie; send no Authorization header",
        ));
    }
    let (c, _) = s
        .authorize(&headers, peer.ip(), Action::ViewAccount)
        .await?;
    if !c.is_session(token) {
        return Err(ApiError::unauthorized(
            "not_signed_in",
            "finish signing in first: \"Stay signed in?\" is asked after the second factor",
        ));
    }
    let now = unix_now();
    let secure = s.cfg.cookies.secure;
    let mut cookies: Vec<header::HeaderValue> = Vec::new();
    cookies.extend(session_cookie(&s, token, c.expires_at, req.stay, now));
    cookies.extend(match (req.stay, req.dont_show_again) {
        (true, true) => auth::set_cookie(STAY_COOKIE, "yes", auth::STAY_COOKIE_SECS, secure),
        (false, true) => auth::set_cookie(STAY_COOKIE, "no", auth::STAY_COOKIE_SECS, secure),
        // Until the session ends: a re-verification keeps the cookie persistent.
        (true, false) => auth::set_cookie(
            STAY_COOKIE,
            auth::STAY_FOR_SESSION,
            c.expires_at.saturating_sub(now),
            secure,
        ),
        (false, false) => auth::set_cookie(STAY_COOKIE, "", 0, secure),
    });
    let body = json!({
        "stay_signed_in": req.stay,
        "dont_show_again": req.dont_show_again,
        "session_expires_at": c.expires_at,
    });
    Ok(with_cookies(ok_json(StatusCode::OK, &body), cookies))
}

pub(super) async fn sign_in(
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
    let user = s.user_id(&req.user)?;
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
    let stored = row.and_then(|r| r.password_hash);
    if !s.check_password(&user, stored, req.password).await? {
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
        .run_op(&user, false, false, move |h, r, now| {
            h.start_sign_in(r.as_record(), FirstFactor::Password, device.as_deref(), now)
        })
        .await?;
    let (started, rec, now) = done.into_api()?;
    match started {
        SignInStarted::SignedIn(signed) => {
            let resp = ok_json(
                StatusCode::OK,
                &json!({
                    "user": user,
                    "next": {"next": "done"},
                    "remembered_device": true,
                    "stay_signed_in": stay_json(&headers),
                }),
            );
            Ok(with_cookies(
                resp,
                session_cookies(&s, &headers, &signed, now),
            ))
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

pub(super) async fn sign_out(State(s): St, headers: HeaderMap) -> Response {
    let secure = s.cfg.cookies.secure;
    let cookies = [LOGIN_COOKIE, SESSION_COOKIE]
        .iter()
        .chain(session_only_stay(&headers))
        .filter_map(|c| auth::set_cookie(c, "", 0, secure))
        .collect();
    with_cookies(StatusCode::NO_CONTENT.into_response(), cookies)
}

/// The "Stay signed in?" cookie when it holds a Yes for the ending session only.
fn session_only_stay(headers: &HeaderMap) -> Option<&'static &'static str> {
    (auth::cookie(headers, STAY_COOKIE) == Some(auth::STAY_FOR_SESSION)).then_some(&STAY_COOKIE)
}

/// "Sign out everywhere". Who may call: the user with an MFA session. What
/// an attacker tries: a stolen session ending the owner's other sessions
/// (a nuisance only: the owner signs in again, the thief's token ends too),
/// a cross-site request (the CSRF guard refuses it). Every session and
/// sign-in in progress of the user ends, here at once and at gateways
/// within their revocation refresh; remembered devices are forgotten.
pub(super) async fn sign_out_everywhere(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, _) = s
        .authorize(&headers, peer.ip(), Action::SignOutEverywhere)
        .await?;
    s.run_op(&c.user, false, false, |h, r, now| {
        h.revoke_sessions(r.as_record(), None, now)
    })
    .await?
    .into_api()?;
    tracing::info!(user = %c.user, "signed out everywhere");
    let secure = s.cfg.cookies.secure;
    let cookies = [LOGIN_COOKIE, SESSION_COOKIE, DEVICE_COOKIE]
        .iter()
        .chain(session_only_stay(&headers))
        .filter_map(|c| auth::set_cookie(c, "", 0, secure))
        .collect();
    Ok(with_cookies(
        StatusCode::NO_CONTENT.into_response(),
        cookies,
    ))
}

/// Who is signed in and what comes next.
pub(super) async fn session(
    State(s): St,
    ConnectInfo(peer): Peer,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (c, rec) = s
        .authorize(&headers, peer.ip(), Action::ViewAccount)
        .await?;
    let next = next_step(&s, &rec, unix_now())?;
    // Verified: done, unless the user's methods must still be replaced.
    let next = if c.mfa && !matches!(next, NextStep::Replace(_)) {
        json!({"next": "done"})
    } else {
        next_json(&next)
    };
    Ok(ok_json(
        StatusCode::OK,
        &json!({
            "user": c.user,
            "mfa": c.mfa,
            "state": rec.summary().state,
            "admin": rec.summary().admin,
            "next": next,
            "methods": methods_json(&rec),
            "recovery_codes_left": rec.summary().recovery_codes_left,
            "app_passwords_allowed": s.engine().policy().app_passwords_allowed,
            "remember_device_days": s.engine().policy().remember_device_days,
            "session_expires_at": c.expires_at,
            "stay_signed_in": stay_json(&headers),
        }),
    ))
}
