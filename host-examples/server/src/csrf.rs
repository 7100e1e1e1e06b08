//! Cross-site request refusal for the cookie-authenticated API.
//!
//! Who may call: pages of the server's own origin (the widget), and programs
//! that send no browser headers at all (gateways, scripts, the admin's
//! automation with a bearer token). What an attacker tries: a page on another
//! site that makes the victim's browser send a state-changing request with
//! the victim's cookies (a form POST, `fetch` with `no-cors`, an empty body
//! that would read as `{}`). Browsers say where a request comes from
//! (`Sec-Fetch-Site`, `Origin`) and cannot send `Content-Type:
//! application/json` across sites without a CORS preflight this server never
//! grants, so every state-changing request must:
//!
//! - not be marked `Sec-Fetch-Site: cross-site` or `same-site` (a sibling
//!   subdomain is another site's page too);
//! - carry no `Origin` other than the server's own (`Host`);
//! - be JSON (`POST` and `PUT`), even when it has no body.
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Paths under the API that are called by servers, not browsers, and are
/// authenticated by a token of their own rather than by cookies.
const MACHINE_PATHS: [&str; 1] = ["/app-passwords/verify"];

/// Whether a request may change state, judged by what the browser said of it.
pub fn check(method: &Method, path: &str, headers: &header::HeaderMap) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if MACHINE_PATHS.iter().any(|p| path.ends_with(p)) {
        return Ok(());
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(cross_site());
    }
    if let Some(origin) = text("origin") {
        let own = text("host").unwrap_or_default();
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        if authority.is_none_or(|a| !a.eq_ignore_ascii_case(own)) {
            return Err(cross_site());
        }
    }
    if matches!(*method, Method::POST | Method::PUT) && !is_json(text("content-type")) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the request as JSON with Content-Type: application/json (an empty object when there is nothing to send)",
        ));
    }
    Ok(())
}

/// `application/json` or `application/…+json`, parameters aside.
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        let m = v
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    })
}

fn cross_site() -> ApiError {
    ApiError::forbidden(
        "cross_site_request",
        "this request came from another site's page and was refused; use the sign-in page of this server",
    )
}

/// The middleware over `/api/v1`.
pub async fn guard(req: Request, next: Next) -> Response {
    match check(req.method(), req.uri().path(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "mfa.example.com".parse().unwrap());
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn the_widget_and_scripts_pass() {
        let same = headers(&[
            JSON,
            ("sec-fetch-site", "same-origin"),
            ("origin", "https://mfa.example.com"),
        ]);
        assert!(check(&Method::POST, "/recovery-codes", &same).is_ok());
        assert!(check(&Method::POST, "/recovery-codes", &headers(&[JSON])).is_ok());
        assert!(check(&Method::DELETE, "/methods/x", &headers(&[])).is_ok());
        assert!(
            check(
                &Method::GET,
                "/session",
                &headers(&[("sec-fetch-site", "cross-site")])
            )
            .is_ok()
        );
    }

    #[test]
    fn other_sites_and_bodies_that_are_not_json_are_refused() {
        for h in [
            headers(&[JSON, ("sec-fetch-site", "cross-site")]),
            headers(&[JSON, ("sec-fetch-site", "same-site")]),
            headers(&[JSON, ("origin", "https://evil.example")]),
            headers(&[JSON, ("origin", "https://mfa.example.com.evil.example")]),
            headers(&[JSON, ("origin", "null")]),
        ] {
            let e = check(&Method::POST, "/recovery-codes", &h).unwrap_err();
            assert_eq!(e.code, "cross_site_request");
        }
        let e = check(
            &Method::POST,
            "/recovery-codes",
            &headers(&[("content-type", "text/plain")]),
        )
        .unwrap_err();
        assert_eq!(e.code, "unsupported_media_type");
        let e = check(&Method::POST, "/methods/resend", &headers(&[])).unwrap_err();
        assert_eq!(e.code, "unsupported_media_type");
        // The gateway's endpoint is for servers and has its own token.
        assert!(
            check(
                &Method::POST,
                "/api/v1/app-passwords/verify",
                &headers(&[("sec-fetch-site", "cross-site")])
            )
            .is_ok()
        );
    }
}
