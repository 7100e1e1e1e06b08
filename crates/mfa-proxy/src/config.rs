//! The filter's configuration: JSON, parsed and checked once in `on_configure`.
//!
//! Every refusal is a [`ConfigError`] naming the field (`routes[1].mode`,
//! `app_passwords.credentials[0].hash`, …) and saying what is wrong. The
//! complete reference, with an example, is in `host-examples/envoy/README.md`.
use std::collections::HashSet;
use std::fmt;

use mfa_core::{AppPasswordCredential, Jwks};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Default lifetime of a cached verified app password.
pub const DEFAULT_CACHE_TTL_SECS: u64 = 60;
/// Longest allowed cache lifetime.
pub const MAX_CACHE_TTL_SECS: u64 = 3600;
/// Default time the filter waits for the verify endpoint.
pub const DEFAULT_TIMEOUT_MS: u64 = 2000;
/// Default path of the verify endpoint.
pub const DEFAULT_VERIFY_PATH: &str = "/api/v1/app-passwords/verify";
/// Where the server publishes its session revocations.
pub const DEFAULT_REVOCATIONS_PATH: &str = "/.well-known/mfa-revocations.json";
/// Seconds between two fetches of the revocation feed, by default.
pub const DEFAULT_REFRESH_SECS: u64 = 5;
/// Oldest feed sessions are judged by, by default (seconds).
pub const DEFAULT_MAX_AGE_SECS: u64 = 30;

/// A configuration the filter refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The field, as a path into the JSON document (`routes[0].mode`); empty for the document itself.
    pub field: String,
    /// What is wrong with it and what is expected.
    pub reason: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "invalid configuration: {}", self.reason)
        } else {
            write!(
                f,
                "invalid configuration field `{}`: {}",
                self.field, self.reason
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// How a route is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `Authorization: Basic user:app-password` only.
    AppPassword,
    /// An MFA session token (cookie or header) only.
    Session,
    /// Either one suffices; a valid session is tried first.
    Either,
    /// No credential needed (health checks, the sign-in page itself);
    /// identity headers sent by the client are still removed.
    Public,
}

/// One route rule; the first rule that matches a request decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Hosts it applies to (lowercase, without port; `*.example.com` matches
    /// subdomains). Empty: every host.
    pub hosts: Vec<String>,
    /// Path prefix, matched on whole segments (`/api` matches `/api` and `/api/x`, not `/apix`).
    pub path_prefix: String,
    /// How the route is protected.
    pub mode: Mode,
    /// The scope an app password must allow here (`imap`, `route:/api`); none: only app passwords without scopes.
    pub scope: Option<String>,
    /// Remove every credential the gateway knows (the Basic header, the
    /// session cookie and header) before the request goes upstream, whichever
    /// one decided; unset: the configuration's `strip_credentials`.
    pub strip_credentials: Option<bool>,
    /// Admit only sessions signed in with a phishing-resistant method: a
    /// passkey or security key, whose `amr` carries `hwk` or `swk` (RFC 8176).
    /// Only on `session` routes (an app password is never phishing-resistant).
    pub phishing_resistant: bool,
}

impl Route {
    /// Whether this rule applies to `host` (the `:authority`) and `path` (the `:path`).
    pub fn matches(&self, host: &str, path: &str) -> bool {
        self.host_matches(host) && self.path_matches(path)
    }

    fn host_matches(&self, authority: &str) -> bool {
        if self.hosts.is_empty() {
            return true;
        }
        let host = strip_port(authority);
        let host = host.as_bytes();
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            // `*.example.com`: at least one label before `.example.com`.
            Some(suffix) => {
                let suffix = suffix.as_bytes();
                host.len() > suffix.len() + 1
                    && host[host.len() - suffix.len() - 1] == b'.'
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
            None => host.eq_ignore_ascii_case(h.as_bytes()),
        })
    }

    pub(crate) fn path_matches(&self, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let prefix = self.path_prefix.as_str();
        if !path.starts_with(prefix) {
            return false;
        }
        prefix.ends_with('/') || matches!(path.as_bytes().get(prefix.len()), None | Some(b'/'))
    }
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map_or(authority, |(h, _)| &authority[..h.len() + 1]);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Where app passwords are checked.
#[derive(Debug, Clone)]
pub enum AppPasswordSource {
    /// Offline, against credentials in the configuration (`mfa app-password new` prints them).
    Inline(Vec<AppPasswordCredential>),
    /// By the server's verify endpoint, through an Envoy cluster.
    Remote(Remote),
}

/// The verify endpoint of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The Envoy cluster that reaches the server.
    pub cluster: String,
    /// `:authority` of the call. Default: the cluster name.
    pub authority: String,
    /// Path of the endpoint. Default [`DEFAULT_VERIFY_PATH`].
    pub path: String,
    /// How long to wait for an answer, in milliseconds (1 to 60000). Default 2000.
    /// No answer in time, a 5xx or an unreadable answer: the request is refused
    /// with 503 (the filter always fails closed).
    pub timeout_ms: u64,
    /// The shared token the server expects in `x-mfa-gateway-token`
    /// (the server's `gateway.token`). Default none.
    pub gateway_token: Option<GatewayToken>,
}

/// The shared secret that lets the gateway use the server's verify endpoint.
/// Never shown in `Debug` output, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewayToken(String);

impl GatewayToken {
    /// The token, for the `x-mfa-gateway-token` header of the call.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GatewayToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayToken").finish_non_exhaustive()
    }
}

/// App password settings.
#[derive(Debug, Clone)]
pub struct AppPasswords {
    /// Where they are checked.
    pub source: AppPasswordSource,
    /// Seconds a verified app password is remembered (0 to 3600; default 60).
    /// A deleted app password keeps working at most this long.
    pub cache_ttl_secs: u64,
}

/// MFA session settings.
#[derive(Debug, Clone)]
pub struct Session {
    /// Public keys the session tokens are checked with.
    pub jwks: Jwks,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// Cookie carrying the token. Default `mfa_session`.
    pub cookie: Option<String>,
    /// Header carrying the token (lowercase); for `authorization` the `Bearer` scheme is expected.
    pub header: Option<String>,
    /// `amr` values a token must carry. Default `["mfa"]`.
    pub required_amr: Vec<String>,
    /// Where browsers without a valid session are sent (the server's verify / set-up page).
    pub redirect_url: String,
    /// Query parameter that carries the path to return to. Default `return_to`.
    pub return_param: String,
    /// The server's revocation feed, fetched by every worker; without it a
    /// session is good until it expires, whatever happened since.
    pub revocations: Option<RevocationFeed>,
}

/// Where and how often the gateway fetches the server's session revocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationFeed {
    /// The server, as for the verify endpoint (path default [`DEFAULT_REVOCATIONS_PATH`]).
    pub remote: Remote,
    /// Seconds between fetches (1 to 300). Default [`DEFAULT_REFRESH_SECS`].
    pub refresh_secs: u64,
    /// Sessions are refused (503) while the newest feed a worker holds is
    /// older than this (at least twice `refresh_secs`, at most 3600). Default
    /// [`DEFAULT_MAX_AGE_SECS`]. The bound on how long a revoked session still
    /// passes the gateway.
    pub max_age_secs: u64,
}

/// Failure throttling per client address: the engine's gateway throttle
/// ([`mfa_core::gateway::FailureWindow`]; default ten failures in five minutes
/// block an address for five minutes). Never per user: a user's correct app
/// password always passes.
pub type Throttle = mfa_core::gateway::FailureWindow;

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Route rules, first match wins; a request no rule matches is refused (403).
    pub routes: Vec<Route>,
    /// App password settings, if any route accepts them.
    pub app_passwords: Option<AppPasswords>,
    /// Session settings, if any route accepts sessions.
    pub session: Option<Session>,
    /// Failure throttling.
    pub throttle: Throttle,
    /// Remove every credential (Basic header, session cookie and header)
    /// before the request goes upstream, also those that did not decide (a
    /// Basic header beside a winning session, anything sent to a public
    /// route). Default `true`; a route may say otherwise.
    pub strip_credentials: bool,
    /// Request headers always removed before a request goes upstream, on
    /// every route: the header an upstream trusts for the user (such as
    /// `x-remote-user` of a server in trusted-header mode), so a client
    /// cannot send its own. Lowercase names. Default none.
    pub strip_request_headers: Vec<String>,
    /// Realm in `WWW-Authenticate`. Default `mfa`.
    pub realm: String,
    /// Prefix of the filter's metrics. Default `mfa_proxy`.
    pub stat_prefix: String,
    /// SHA-256 of the configuration text: cache entries of another configuration never match.
    pub fingerprint: [u8; 32],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    routes: Vec<RawRoute>,
    #[serde(default)]
    app_passwords: Option<RawAppPasswords>,
    #[serde(default)]
    session: Option<RawSession>,
    #[serde(default)]
    throttle: Option<RawThrottle>,
    #[serde(default)]
    strip_credentials: Option<bool>,
    #[serde(default)]
    strip_request_headers: Vec<String>,
    #[serde(default)]
    realm: Option<String>,
    #[serde(default)]
    stat_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    mode: Mode,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    strip_credentials: Option<bool>,
    #[serde(default)]
    phishing_resistant: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppPasswords {
    #[serde(default)]
    credentials: Option<Vec<AppPasswordCredential>>,
    #[serde(default)]
    remote: Option<RawRemote>,
    #[serde(default)]
    cache_ttl_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemote {
    cluster: String,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    gateway_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    jwks: serde_json::Value,
    issuer: String,
    audience: String,
    #[serde(default)]
    cookie: Option<String>,
    #[serde(default)]
    header: Option<String>,
    #[serde(default)]
    required_amr: Option<Vec<String>>,
    redirect_url: String,
    #[serde(default)]
    return_param: Option<String>,
    #[serde(default)]
    revocations: Option<RawRevocations>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevocations {
    cluster: String,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    gateway_token: Option<String>,
    #[serde(default)]
    refresh_secs: Option<u64>,
    #[serde(default)]
    max_age_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThrottle {
    #[serde(default)]
    max_failures: Option<u32>,
    #[serde(default)]
    window_secs: Option<u64>,
    #[serde(default)]
    block_secs: Option<u64>,
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn check_range(field: &str, value: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            field,
            format!("must be between {min} and {max}, not {value}"),
        ))
    }
}

fn check_text(field: &str, value: &str, what: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err(ConfigError::new(
            field,
            format!("must be {what}: 1 to 256 characters, no control characters"),
        ));
    }
    Ok(())
}

impl Config {
    /// Parse and check the configuration JSON.
    pub fn parse(json: &[u8]) -> Result<Self, ConfigError> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let raw: RawConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            ConfigError::new(field, serde_reason(e.inner()))
        })?;
        de.end()
            .map_err(|_| ConfigError::new("", "trailing characters after the JSON document"))?;
        let fingerprint: [u8; 32] = Sha256::digest(json).into();
        Self::check(raw, fingerprint)
    }

    fn check(raw: RawConfig, fingerprint: [u8; 32]) -> Result<Self, ConfigError> {
        let app_passwords = raw.app_passwords.map(check_app_passwords).transpose()?;
        let session = raw.session.map(check_session).transpose()?;
        if raw.routes.is_empty() {
            return Err(ConfigError::new(
                "routes",
                "needs at least one rule; a request no rule matches is refused",
            ));
        }
        let mut routes = Vec::with_capacity(raw.routes.len());
        for (i, r) in raw.routes.into_iter().enumerate() {
            routes.push(check_route(
                i,
                r,
                app_passwords.is_some(),
                session.is_some(),
            )?);
        }
        let throttle = match raw.throttle {
            None => Throttle::default(),
            Some(t) => {
                let d = Throttle::default();
                let w = Throttle {
                    max_failures: t.max_failures.unwrap_or(d.max_failures),
                    window_secs: t.window_secs.unwrap_or(d.window_secs),
                    block_secs: t.block_secs.unwrap_or(d.block_secs),
                };
                w.check().map_err(|e| match e {
                    mfa_core::Error::InvalidInput { field, reason } => {
                        ConfigError::new(format!("throttle.{field}"), reason)
                    }
                    other => ConfigError::new("throttle", other.to_string()),
                })?;
                w
            }
        };
        let realm = raw.realm.unwrap_or_else(|| "mfa".to_string());
        if realm.is_empty()
            || realm.len() > 64
            || !realm
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(ConfigError::new(
                "realm",
                "must be 1 to 64 printable ASCII characters without '\"' or '\\'",
            ));
        }
        let stat_prefix = raw.stat_prefix.unwrap_or_else(|| "mfa_proxy".to_string());
        if stat_prefix.is_empty()
            || stat_prefix.len() > 64
            || !stat_prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        {
            return Err(ConfigError::new(
                "stat_prefix",
                "must be 1 to 64 characters: lowercase letters, digits, '_' and '.'",
            ));
        }
        let mut strip_request_headers = Vec::new();
        for h in &raw.strip_request_headers {
            let name = h.trim().to_ascii_lowercase();
            let ok = !name.is_empty()
                && name.len() <= 128
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !ok || name.starts_with(':') {
                return Err(ConfigError::new(
                    "strip_request_headers",
                    format!("{h:?} is not a header name (letters, digits, '-' and '_')"),
                ));
            }
            strip_request_headers.push(name);
        }
        Ok(Self {
            routes,
            app_passwords,
            session,
            throttle,
            strip_credentials: raw.strip_credentials.unwrap_or(true),
            strip_request_headers,
            realm,
            stat_prefix,
            fingerprint,
        })
    }

    /// The first route rule that matches, if any.
    pub fn route(&self, host: &str, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.matches(host, path))
    }
}

/// serde's messages quote offending values; configuration values are not
/// secret, but keep long ones (hashes, keys) out of log lines anyway.
fn serde_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.find(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
    let mut out = String::with_capacity(msg.len());
    let mut parts = msg.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    // Odd parts are inside quotes.
    for (i, part) in parts.enumerate() {
        out.push('"');
        if i % 2 == 0 && part.chars().count() > 24 {
            out.extend(part.chars().take(8));
            out.push('…');
        } else {
            out.push_str(part);
        }
    }
    format!("{out} (line {} column {})", e.line(), e.column())
}

fn check_route(
    i: usize,
    r: RawRoute,
    have_app_passwords: bool,
    have_session: bool,
) -> Result<Route, ConfigError> {
    let field = |name: &str| format!("routes[{i}].{name}");
    let needs_app = matches!(r.mode, Mode::AppPassword | Mode::Either);
    let needs_session = matches!(r.mode, Mode::Session | Mode::Either);
    if needs_app && !have_app_passwords {
        return Err(ConfigError::new(
            field("mode"),
            "accepts app passwords, but there is no `app_passwords` section",
        ));
    }
    if needs_session && !have_session {
        return Err(ConfigError::new(
            field("mode"),
            "accepts sessions, but there is no `session` section",
        ));
    }
    let mut hosts = Vec::with_capacity(r.hosts.len());
    for (j, h) in r.hosts.iter().enumerate() {
        let name = h.strip_prefix("*.").unwrap_or(h);
        let ok = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !ok {
            return Err(ConfigError::new(
                format!("routes[{i}].hosts[{j}]"),
                "must be a host name without port, optionally starting with `*.`",
            ));
        }
        hosts.push(h.to_ascii_lowercase());
    }
    let path_prefix = r.path_prefix.unwrap_or_else(|| "/".to_string());
    if !path_prefix.starts_with('/')
        || path_prefix.contains(['?', '#'])
        || path_prefix
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ')
    {
        return Err(ConfigError::new(
            field("path_prefix"),
            "must start with '/' and contain no '?', '#', spaces or control characters",
        ));
    }
    if let Some(s) = &r.scope {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":/._-*".contains(&b));
        if !ok {
            return Err(ConfigError::new(
                field("scope"),
                "must be a scope like `imap` or `route:/api` (lowercase letters, digits and : / . _ - *)",
            ));
        }
        if !needs_app {
            return Err(ConfigError::new(
                field("scope"),
                "only applies to routes that accept app passwords",
            ));
        }
    }
    if r.phishing_resistant {
        let refusal = match r.mode {
            Mode::Session => None,
            Mode::Public => Some(
                "a `public` route asks for no sign-in at all; use mode `session` to admit only passkey and security-key sessions",
            ),
            Mode::AppPassword => Some(
                "an app password is never phishing-resistant; use mode `session` to admit only passkey and security-key sessions",
            ),
            Mode::Either => Some(
                "mode `either` also admits app passwords, which are never phishing-resistant; use mode `session`",
            ),
        };
        if let Some(reason) = refusal {
            return Err(ConfigError::new(field("phishing_resistant"), reason));
        }
    }
    Ok(Route {
        hosts,
        path_prefix,
        mode: r.mode,
        scope: r.scope,
        strip_credentials: r.strip_credentials,
        phishing_resistant: r.phishing_resistant,
    })
}

fn check_app_passwords(raw: RawAppPasswords) -> Result<AppPasswords, ConfigError> {
    let source = match (raw.credentials, raw.remote) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                "app_passwords",
                "set either `credentials` (checked here) or `remote` (checked by the server), not both",
            ));
        }
        (None, None) => {
            return Err(ConfigError::new(
                "app_passwords",
                "needs `credentials` (checked here) or `remote` (checked by the server)",
            ));
        }
        (Some(mut creds), None) => {
            let mut seen = HashSet::new();
            for (i, c) in creds.iter_mut().enumerate() {
                // The user id in its canonical form, as every host keys users.
                if let Ok(user) = mfa_core::UserId::parse(&c.user) {
                    c.user = user.into_string();
                }
                c.validate().map_err(|e| {
                    let sub = match &e {
                        mfa_core::Error::InvalidInput { field, .. } => field,
                        mfa_core::Error::InvalidHash { .. } => "hash",
                        _ => "",
                    };
                    let field = if sub.is_empty() {
                        format!("app_passwords.credentials[{i}]")
                    } else {
                        format!("app_passwords.credentials[{i}].{sub}")
                    };
                    ConfigError::new(field, e.to_string())
                })?;
                if !seen.insert((c.user.as_str(), c.id.as_str())) {
                    return Err(ConfigError::new(
                        format!("app_passwords.credentials[{i}]"),
                        format!(
                            "user \"{}\" has the app password id \"{}\" twice",
                            c.user, c.id
                        ),
                    ));
                }
            }
            AppPasswordSource::Inline(creds)
        }
        (None, Some(r)) => AppPasswordSource::Remote(check_remote(
            "app_passwords.remote",
            r,
            DEFAULT_VERIFY_PATH,
        )?),
    };
    let cache_ttl_secs = check_range(
        "app_passwords.cache_ttl_secs",
        raw.cache_ttl_secs.unwrap_or(DEFAULT_CACHE_TTL_SECS),
        0,
        MAX_CACHE_TTL_SECS,
    )?;
    Ok(AppPasswords {
        source,
        cache_ttl_secs,
    })
}

/// A call to the server through an Envoy cluster, checked field by field.
fn check_remote(prefix: &str, r: RawRemote, default_path: &str) -> Result<Remote, ConfigError> {
    let field = |name: &str| format!("{prefix}.{name}");
    check_text(&field("cluster"), &r.cluster, "an Envoy cluster name")?;
    let authority = r.authority.unwrap_or_else(|| r.cluster.clone());
    check_text(&field("authority"), &authority, "a host name")?;
    let path = r.path.unwrap_or_else(|| default_path.to_string());
    if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(ConfigError::new(
            field("path"),
            "must start with '/' and contain no spaces or control characters",
        ));
    }
    let timeout_ms = check_range(
        &field("timeout_ms"),
        r.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
        1,
        60_000,
    )?;
    let gateway_token = match r.gateway_token {
        None => None,
        Some(t) if (16..=256).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_graphic()) => {
            Some(GatewayToken(t))
        }
        Some(_) => {
            return Err(ConfigError::new(
                field("gateway_token"),
                "must be the server's gateway token: 16 to 256 visible ASCII characters",
            ));
        }
    };
    Ok(Remote {
        cluster: r.cluster,
        authority,
        path,
        timeout_ms,
        gateway_token,
    })
}

fn check_revocations(raw: RawRevocations) -> Result<RevocationFeed, ConfigError> {
    let refresh_secs = check_range(
        "session.revocations.refresh_secs",
        raw.refresh_secs.unwrap_or(DEFAULT_REFRESH_SECS),
        1,
        300,
    )?;
    let max_age_secs = check_range(
        "session.revocations.max_age_secs",
        raw.max_age_secs
            .unwrap_or(DEFAULT_MAX_AGE_SECS.max(2 * refresh_secs)),
        2 * refresh_secs,
        3600,
    )?;
    let remote = check_remote(
        "session.revocations",
        RawRemote {
            cluster: raw.cluster,
            authority: raw.authority,
            path: raw.path,
            timeout_ms: raw.timeout_ms,
            gateway_token: raw.gateway_token,
        },
        DEFAULT_REVOCATIONS_PATH,
    )?;
    Ok(RevocationFeed {
        remote,
        refresh_secs,
        max_age_secs,
    })
}

fn check_session(raw: RawSession) -> Result<Session, ConfigError> {
    let jwks_text = match &raw.jwks {
        serde_json::Value::String(s) => s.clone(),
        v @ serde_json::Value::Object(_) => v.to_string(),
        _ => {
            return Err(ConfigError::new(
                "session.jwks",
                "must be a JWKS object ({\"keys\": [...]}) or a string holding one",
            ));
        }
    };
    let jwks =
        Jwks::parse(&jwks_text).map_err(|e| ConfigError::new("session.jwks", e.to_string()))?;
    check_text(
        "session.issuer",
        &raw.issuer,
        "the `iss` of the session tokens",
    )?;
    check_text(
        "session.audience",
        &raw.audience,
        "the `aud` of the session tokens",
    )?;
    let cookie = match (raw.cookie, &raw.header) {
        (Some(c), _) => Some(c),
        (None, None) => Some("mfa_session".to_string()),
        (None, Some(_)) => None,
    };
    if let Some(c) = &cookie
        && (c.is_empty() || c.len() > 64 || !c.bytes().all(is_token_char))
    {
        return Err(ConfigError::new(
            "session.cookie",
            "must be a cookie name: 1 to 64 letters, digits or !#$%&'*+-.^_`|~",
        ));
    }
    let header = raw.header.map(|h| h.to_ascii_lowercase());
    if let Some(h) = &header
        && (h.is_empty() || h.len() > 64 || !h.bytes().all(is_token_char))
    {
        return Err(ConfigError::new(
            "session.header",
            "must be a header name: 1 to 64 letters, digits or !#$%&'*+-.^_`|~",
        ));
    }
    if header.as_deref().is_some_and(|h| h.starts_with("x-mfa-")) {
        return Err(ConfigError::new(
            "session.header",
            "`x-mfa-` headers are set by the filter for the upstream; choose another name",
        ));
    }
    let required_amr = raw.required_amr.unwrap_or_else(|| vec!["mfa".to_string()]);
    for (i, a) in required_amr.iter().enumerate() {
        if a.is_empty()
            || a.len() > 32
            || !a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ConfigError::new(
                format!("session.required_amr[{i}]"),
                "must be an RFC 8176 `amr` value such as `mfa`, `otp` or `sms`",
            ));
        }
    }
    let url = raw.redirect_url;
    let absolute = url.starts_with("https://") || url.starts_with("http://");
    if !(absolute || url.starts_with('/') && !url.starts_with("//"))
        || url.len() > 2048
        || url.bytes().any(|b| b.is_ascii_control() || b == b' ')
        || url.contains('#')
    {
        return Err(ConfigError::new(
            "session.redirect_url",
            "must be an http(s) URL or a path starting with '/', without spaces or a '#' fragment",
        ));
    }
    let return_param = raw.return_param.unwrap_or_else(|| "return_to".to_string());
    if return_param.is_empty()
        || return_param.len() > 64
        || !return_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::new(
            "session.return_param",
            "must be 1 to 64 letters, digits, '_' or '-'",
        ));
    }
    Ok(Session {
        jwks,
        issuer: raw.issuer,
        audience: raw.audience,
        cookie,
        header,
        required_amr,
        redirect_url: url,
        return_param,
        revocations: raw.revocations.map(check_revocations).transpose()?,
    })
}
