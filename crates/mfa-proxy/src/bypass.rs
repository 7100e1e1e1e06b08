//! Routes Envoy may serve without calling the filter at all (its route
//! entry disables the filter with `typed_per_filter_config`), which saves
//! the whole per-request cost of a wasm filter on public paths. Whether a
//! path prefix may skip the filter, and which request headers the Envoy
//! route must then remove itself, are decided here from the filter's own
//! configuration, so that the upstream sees exactly what the filter would
//! have let through (or less).
use crate::config::{Config, Mode, Route};
use crate::gate::{HEADER_APP_PASSWORD_ID, HEADER_METHOD, HEADER_USER};

impl Config {
    /// Whether every request under `prefix` (whole segments, any host) is
    /// public under this configuration, so that an Envoy route for it
    /// (`path_separated_prefix: prefix`) may disable the filter. Refused,
    /// with the reason, when the rule deciding `prefix` is not a public
    /// rule for every host, or when an earlier rule decides some host or
    /// some path below `prefix` first.
    pub fn check_skip_filter(&self, prefix: &str) -> Result<(), String> {
        if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
            return Err(format!("{prefix:?} is not a path prefix"));
        }
        for rule in &self.routes {
            let below = Route {
                path_prefix: prefix.to_string(),
                ..rule.clone()
            }
            .path_matches(&rule.path_prefix);
            if below && rule.path_prefix != prefix {
                return Err(format!(
                    "the rule for {} comes first and decides part of {prefix}",
                    rule.path_prefix
                ));
            }
            if !rule.path_matches(prefix) {
                continue;
            }
            if !rule.hosts.is_empty() {
                return Err(format!(
                    "a rule for the hosts {} decides {prefix} first",
                    rule.hosts.join(", ")
                ));
            }
            return match rule.mode {
                Mode::Public => Ok(()),
                _ => Err(format!(
                    "{prefix} is protected by the rule for {} (mode {:?})",
                    rule.path_prefix, rule.mode
                )),
            };
        }
        Err(format!("no rule covers {prefix}: the filter refuses it"))
    }

    /// The request headers an Envoy route that skips the filter under
    /// `prefix` must remove (`request_headers_to_remove`): the identity
    /// headers the filter always overwrites, the configuration's
    /// `strip_request_headers` and, when the route strips credentials, the
    /// credential headers (the whole `cookie` header when a session cookie
    /// is configured: Envoy cannot remove one cookie).
    pub fn headers_to_remove_without_filter(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = [HEADER_USER, HEADER_METHOD, HEADER_APP_PASSWORD_ID]
            .iter()
            .map(|h| h.to_string())
            .collect();
        v.extend(self.strip_request_headers.iter().cloned());
        let strip = self
            .route("", prefix)
            .and_then(|r| r.strip_credentials)
            .unwrap_or(self.strip_credentials);
        if strip {
            v.push("authorization".into());
            if let Some(s) = &self.session {
                v.extend(s.header.iter().cloned());
                if s.cookie.is_some() {
                    v.push("cookie".into());
                }
            }
        }
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(routes: &str) -> Config {
        let json = format!(
            r#"{{"routes": {routes}, "app_passwords": {{"credentials": []}},
                "strip_request_headers": ["x-remote-user"]}}"#
        );
        Config::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn only_prefixes_that_are_public_for_every_path_and_host_may_skip() {
        let c = config(
            r#"[{"path_prefix": "/health", "mode": "public"},
                {"path_prefix": "/docs/private", "mode": "app_password"},
                {"path_prefix": "/docs", "mode": "public"},
                {"hosts": ["admin.example.com"], "path_prefix": "/status", "mode": "app_password"},
                {"path_prefix": "/status", "mode": "public"},
                {"path_prefix": "/", "mode": "app_password"}]"#,
        );
        assert_eq!(c.check_skip_filter("/health"), Ok(()));
        assert_eq!(c.check_skip_filter("/health/live"), Ok(()));
        // `/healthz` is another segment: the catch-all protects it.
        assert!(
            c.check_skip_filter("/healthz")
                .unwrap_err()
                .contains("protected")
        );
        // A protected path below a public prefix, decided first.
        assert!(
            c.check_skip_filter("/docs")
                .unwrap_err()
                .contains("decides part of /docs")
        );
        // Public for most hosts, not for one.
        assert!(
            c.check_skip_filter("/status")
                .unwrap_err()
                .contains("admin.example.com")
        );
        assert!(
            c.check_skip_filter("/")
                .unwrap_err()
                .contains("decides part of /")
        );
        assert!(c.check_skip_filter("health").is_err());
    }

    #[test]
    fn the_route_removes_what_the_filter_would_have() {
        let c = config(
            r#"[{"path_prefix": "/health", "mode": "public"}, {"path_prefix": "/", "mode": "app_password"}]"#,
        );
        assert_eq!(
            c.headers_to_remove_without_filter("/health"),
            [
                "authorization",
                "x-mfa-app-password-id",
                "x-mfa-method",
                "x-mfa-user",
                "x-remote-user"
            ]
        );
        let kept = config(
            r#"[{"path_prefix": "/health", "mode": "public", "strip_credentials": false}, {"path_prefix": "/", "mode": "app_password"}]"#,
        );
        assert!(
            !kept
                .headers_to_remove_without_filter("/health")
                .contains(&"authorization".to_string())
        );
    }
}
