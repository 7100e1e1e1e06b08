//! The contract of the server's app-password verify endpoint.
//!
//! `POST /api/v1/app-passwords/verify` with `{"user","password","scope"}`
//! (`scope` may be `null`) answers:
//! - `200 {"user","id","name","scopes"}`: the app password is valid for the scope;
//! - `401 {"error":{"code","message"}}`: wrong, unknown, malformed, revoked or
//!   expired (`code` is the engine's error code, e.g. `wrong_app_password`);
//! - `403 {"error":{"code":"out_of_scope",…}}`: valid, but not for this scope;
//! - `429` with `Retry-After`: too many failures for this user.
//!
//! The call carries `x-mfa-gateway-token` when one is configured; a 401 with
//! the code `gateway_token` (missing or wrong token) is a configuration fault
//! and is treated like no answer.
//!
//! Anything else (5xx, a timeout, an unreadable body) means the filter cannot
//! tell, and it refuses the request with 503.
use serde::Deserialize;

/// The server's error code when the gateway token is missing or wrong.
pub const GATEWAY_TOKEN_REFUSED: &str = "gateway_token";

/// The request body: the credential, the route's scope and the client's
/// address (the server counts failures per client address, not per gateway).
pub fn request_body(
    user: &str,
    canonical_password: &str,
    scope: Option<&str>,
    client_address: Option<&str>,
) -> Vec<u8> {
    let mut body =
        serde_json::json!({ "user": user, "password": canonical_password, "scope": scope });
    if let Some(a) = client_address {
        body["client_address"] = a.into();
    }
    body.to_string().into_bytes()
}

#[derive(Deserialize)]
struct Verified {
    user: String,
    id: String,
    #[allow(
        dead_code,
        reason = "part of the contract; the filter passes only user and id upstream"
    )]
    #[serde(default)]
    name: String,
    #[allow(
        dead_code,
        reason = "part of the contract; the filter passes only user and id upstream"
    )]
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
}

/// What the verify endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Valid: the user and the app password id.
    Verified {
        /// The user, as the server knows it.
        user: String,
        /// The app password id.
        id: String,
    },
    /// Refused (401) with the engine's error code.
    Rejected {
        /// e.g. `wrong_app_password`, `app_password_revoked`.
        code: String,
    },
    /// Valid, but not for this scope (403).
    OutOfScope,
    /// The server is throttling this user (429).
    Throttled {
        /// Seconds from `Retry-After` (at least 1).
        retry_after: u64,
    },
    /// No usable answer: timeout, connection failure, 5xx, unexpected body.
    Unavailable {
        /// What went wrong, for the log (never contains the password).
        why: String,
    },
}

/// Interpret the endpoint's answer. `status` is `None` when the call failed
/// without a response (timeout, reset).
pub fn interpret(status: Option<u16>, retry_after: Option<&str>, body: &[u8]) -> Answer {
    let Some(status) = status else {
        return Answer::Unavailable {
            why: "no response (timeout or connection failure)".into(),
        };
    };
    match status {
        200 => match serde_json::from_slice::<Verified>(body) {
            Ok(v) if !v.user.is_empty() && !v.id.is_empty() => Answer::Verified {
                user: v.user,
                id: v.id,
            },
            _ => Answer::Unavailable {
                why: "200 without the expected {\"user\",\"id\",…} body".into(),
            },
        },
        401 => {
            let code = serde_json::from_slice::<ErrorBody>(body)
                .map(|b| b.error.code)
                .ok()
                .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                .unwrap_or_else(|| "rejected".to_string());
            if code == GATEWAY_TOKEN_REFUSED {
                // The gateway is not allowed to ask: a configuration fault, not
                // the client's credential. Fail closed without counting a failure.
                Answer::Unavailable {
                    why: "the server refused the gateway token: set app_passwords.remote.gateway_token to the server's gateway.token".into(),
                }
            } else {
                Answer::Rejected { code }
            }
        }
        403 => Answer::OutOfScope,
        429 => Answer::Throttled {
            retry_after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1)
                .clamp(1, 86_400),
        },
        s => Answer::Unavailable {
            why: format!("unexpected status {s}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_of_the_contract() {
        assert_eq!(
            interpret(
                Some(200),
                None,
                br#"{"user":"alice","id":"abcd","name":"Mail","scopes":[]}"#
            ),
            Answer::Verified {
                user: "alice".into(),
                id: "abcd".into()
            }
        );
        assert_eq!(
            interpret(
                Some(401),
                None,
                br#"{"error":{"code":"app_password_revoked","message":"this app password was deleted"}}"#
            ),
            Answer::Rejected {
                code: "app_password_revoked".into()
            }
        );
        assert_eq!(
            interpret(Some(401), None, b"<html>"),
            Answer::Rejected {
                code: "rejected".into()
            }
        );
        assert_eq!(interpret(Some(403), None, b""), Answer::OutOfScope);
        assert_eq!(
            interpret(Some(429), Some("7"), b""),
            Answer::Throttled { retry_after: 7 }
        );
        assert_eq!(
            interpret(Some(429), Some("soon"), b""),
            Answer::Throttled { retry_after: 1 }
        );
        assert!(matches!(
            interpret(Some(200), None, b"{}"),
            Answer::Unavailable { .. }
        ));
        assert!(
            matches!(
                interpret(
                    Some(401),
                    None,
                    br#"{"error":{"code":"gateway_token","message":"send the configured gateway token"}}"#
                ),
                Answer::Unavailable { .. }
            ),
            "a refused gateway token is the gateway's fault, not the client's"
        );
        assert!(matches!(
            interpret(Some(502), None, b""),
            Answer::Unavailable { .. }
        ));
        assert!(matches!(
            interpret(None, None, b""),
            Answer::Unavailable { .. }
        ));
    }

    #[test]
    fn request_body_is_the_contract() {
        let v: serde_json::Value =
            serde_json::from_slice(&request_body("alice", "pw", None, Some("192.0.2.7"))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"user":"alice","password":"pw","scope":null,"client_address":"192.0.2.7"})
        );
    }
}
