//! The OpenAPI 3.1 description of the API, served at `/api/v1/openapi.json`.

/// The document (JSON).
pub const DOCUMENT: &str = include_str!("../openapi.json");

#[cfg(test)]
mod tests {
    #[test]
    fn document_is_json_and_lists_every_route() {
        let v: serde_json::Value = serde_json::from_str(super::DOCUMENT).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        let paths = v["paths"].as_object().unwrap();
        for p in [
            "/api/v1/sign-in",
            "/api/v1/verify",
            "/api/v1/methods/confirm",
            "/api/v1/methods/passkey",
            "/api/v1/methods/passkey/confirm",
            "/api/v1/verify/passkey/options",
            "/api/v1/verify/passkey",
            "/api/v1/app-passwords",
            "/api/v1/app-passwords/verify",
            "/api/v1/admin/users",
            "/api/v1/admin/audit",
            "/api/v1/admin/settings",
            "/api/v1/admin/users/{user}/admin",
            "/.well-known/jwks.json",
            "/metrics",
            "/healthz",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
    }
}
