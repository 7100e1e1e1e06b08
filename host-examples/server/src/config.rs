//! Configuration: one TOML file plus environment overrides, checked at start.
//!
//! Every key has a default; `--demo` changes a few of them (console delivery,
//! generated keys, a seeded demo user). Unknown keys are refused, so a typo
//! is an error at start rather than a setting silently ignored.
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::engine::{Argon2Settings, MethodType, PasskeySettings, PolicySettings};

mod delivery;
pub use delivery::{DeliveryConfig, SmtpConfig, SmtpTls, WebhookConfig};

/// A configuration problem, with the key that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Demo mode: console delivery, generated keys and admin token, a demo user.
    pub demo: bool,
    /// Storage.
    pub storage: StorageConfig,
    /// Key material.
    pub keys: KeysConfig,
    /// How users sign in (first factor).
    pub auth: AuthConfig,
    /// Cookies.
    pub cookies: CookieConfig,
    /// Admin API.
    pub admin: AdminConfig,
    /// Gateway verify endpoint.
    pub gateway: GatewayConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// Code delivery.
    pub delivery: DeliveryConfig,
    /// The engine component.
    pub engine: EngineConfig,
    /// Initial service settings over the engine's defaults (the admin API changes them at run time).
    pub policy: PolicySettings,
    /// Static files (the widget).
    pub widget: WidgetConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Logging.
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            demo: false,
            storage: StorageConfig::default(),
            keys: KeysConfig::default(),
            auth: AuthConfig::default(),
            cookies: CookieConfig::default(),
            admin: AdminConfig::default(),
            gateway: GatewayConfig::default(),
            metrics: MetricsConfig::default(),
            delivery: DeliveryConfig::default(),
            engine: EngineConfig::default(),
            policy: PolicySettings::default(),
            widget: WidgetConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// Storage settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `sqlite://FILE` (embedded, WAL) or `postgres://…`. Default `sqlite://mfa.db`.
    pub url: String,
    /// Connections in the pool. Default 8.
    pub max_connections: u32,
    /// SQLite `synchronous`: `full` (every commit reaches the disk) or `normal`. Default `full`.
    pub sqlite_synchronous: String,
    /// Most writes committed together in one SQLite transaction. Default 256.
    pub sqlite_batch: usize,
    /// Keep recently used records in memory (SQLite only: one process owns the file). Default `true`.
    pub record_cache: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://mfa.db".into(),
            max_connections: 8,
            sqlite_synchronous: "full".into(),
            sqlite_batch: 256,
            record_cache: true,
        }
    }
}

/// The engine component (`mfa_component.wasm`, run in wasmtime).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// The component file. Env `MFA_COMPONENT_WASM`. Default: `mfa_component.wasm`
    /// next to the executable, then the build output
    /// `target/wasm32-wasip2/release/mfa_component.wasm`.
    pub component: Option<PathBuf>,
    /// Where the compiled component is cached. Default: `mfa-cache` beside the key file.
    pub cache_dir: Option<PathBuf>,
    /// Most engine calls at once (0: twice the processors, at least 4). Default 0.
    pub max_instances: u32,
}

impl EngineConfig {
    /// The component file to load: the configured one, else the first that exists
    /// of the default places (the last one when none does, for the error message).
    pub fn component_path(&self) -> PathBuf {
        if let Some(p) = &self.component {
            return p.clone();
        }
        let mut candidates = Vec::new();
        if let Ok(exe) = std::env::current_exe()
            && let Some(dir) = exe.parent()
        {
            candidates.push(dir.join("mfa_component.wasm"));
            candidates.push(dir.join("../wasm32-wasip2/release/mfa_component.wasm"));
        }
        candidates.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/wasm32-wasip2/release/mfa_component.wasm"),
        );
        let last = candidates.last().cloned().unwrap_or_default();
        candidates.into_iter().find(|p| p.is_file()).unwrap_or(last)
    }

    /// The cache directory for the compiled component.
    pub fn cache_path(&self, key_file: &Path) -> PathBuf {
        match &self.cache_dir {
            Some(d) => d.clone(),
            None => key_file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join("mfa-cache"),
        }
    }
}

/// Key material.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// Key file (created with mode 0600 when `generate` is on). Default `mfa-keys.json`.
    pub file: PathBuf,
    /// Create the key file on first start when it is missing. Default: on in demo mode only.
    pub generate: Option<bool>,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            file: PathBuf::from("mfa-keys.json"),
            generate: None,
        }
    }
}

/// First-factor mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// The server checks a primary password (argon2id).
    Password,
    /// An upstream authenticator passes the user in a header.
    TrustedHeader,
}

/// First-factor settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `password` or `trusted_header`. Default `password`.
    pub mode: AuthMode,
    /// Header carrying the user in `trusted_header` mode. Default `x-remote-user`.
    pub header: String,
    /// Addresses (or CIDR ranges) allowed to send that header. Default loopback.
    pub trusted_addresses: Vec<String>,
    /// `trusted_header` mode: the secret the authenticating proxy sends in
    /// `secret_header` on every request (at least 32 characters; required):
    /// an address alone is not proof, another process on a trusted host could
    /// send the user header too.
    pub proxy_secret: Option<String>,
    /// Header carrying `proxy_secret`. Default `x-mfa-proxy-secret`.
    pub secret_header: String,
    /// Failed passwords per user before sign-in waits. Default 10.
    pub max_password_failures: u32,
    /// Seconds sign-in waits after too many failed passwords. Default 300.
    pub password_lockout_secs: u64,
    /// Failed passwords from one client address (any users) before sign-in
    /// from it waits as long. Default 100.
    pub max_password_failures_per_address: u32,
    /// Threads that hash primary passwords (each check needs `m` of memory,
    /// 19 MiB at the default parameters), so hashing memory stays at this
    /// times `m`; a sign-in that finds them busy for two seconds gets 503 with
    /// `Retry-After`. 0: the number of processors. Default 0.
    pub max_concurrent_hashes: u32,
    /// argon2id parameters for primary passwords (checked by the engine at
    /// start; a stored hash with others is rehashed at the next sign-in).
    /// Default m=19456 KiB, t=2, p=1.
    pub argon2: Argon2Settings,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Password,
            header: "x-remote-user".into(),
            trusted_addresses: vec!["127.0.0.1".into(), "::1".into()],
            proxy_secret: None,
            secret_header: "x-mfa-proxy-secret".into(),
            max_password_failures: 10,
            password_lockout_secs: 300,
            max_password_failures_per_address: 100,
            max_concurrent_hashes: 0,
            argon2: Argon2Settings::default(),
        }
    }
}

/// Cookie settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieConfig {
    /// Mark cookies `Secure` (HTTPS only). Default `false` for the loopback demo; turn on behind TLS.
    pub secure: bool,
}

/// Admin API settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Bearer token of the admin API (env `MFA_ADMIN_TOKEN`). Without one the admin API is off
    /// (in demo mode one is generated and printed).
    pub token: Option<String>,
}

/// Who may read `/metrics` (counts of sign-ins, refusals and locks tell an
/// attacker how an attack is going). Default: anyone who can reach the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Bearer token a scraper must send (env `MFA_METRICS_TOKEN`), at least 16 characters.
    pub token: Option<String>,
    /// Addresses (or CIDR ranges) allowed to read; empty: any address.
    pub allowed_addresses: Vec<String>,
}

/// Gateway verify endpoint settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Shared token gateways must send in `x-mfa-gateway-token` (env `MFA_GATEWAY_TOKEN`). Default none.
    pub token: Option<String>,
    /// Seconds a verified app password is remembered, so clients that sign in on every request
    /// do not pay argon2 each time; 0 turns the cache off. Default 60.
    pub cache_secs: u64,
    /// Most remembered app passwords. Default 100000.
    pub cache_entries: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            token: None,
            cache_secs: 60,
            cache_entries: 100_000,
        }
    }
}

/// Static files.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetConfig {
    /// Directory served at `/` when it exists. Default `js`.
    pub dir: PathBuf,
}

impl Default for WidgetConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("js"),
        }
    }
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body in bytes. Default 16384.
    pub body_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: 16 * 1024,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `mfa_server=debug`. Env `MFA_LOG`. Default `info`.
    pub filter: String,
    /// `text` or `json`. Env `MFA_LOG_FORMAT`. Default `text`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: "text".into(),
        }
    }
}

/// Environment variables read on top of the file (name, what it sets).
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("MFA_LISTEN", "listen"),
    ("MFA_DEMO", "demo (1/true/yes)"),
    ("MFA_DATABASE_URL", "storage.url"),
    ("MFA_KEY_FILE", "keys.file"),
    ("MFA_COMPONENT_WASM", "engine.component"),
    ("MFA_ADMIN_TOKEN", "admin.token"),
    ("MFA_GATEWAY_TOKEN", "gateway.token"),
    ("MFA_METRICS_TOKEN", "metrics.token"),
    ("MFA_SMTP_PASSWORD", "delivery.smtp.password"),
    ("MFA_WEBHOOK_SECRET", "delivery.webhook.secret"),
    ("MFA_WIDGET_DIR", "widget.dir"),
    ("MFA_LOG", "log.filter"),
    ("MFA_LOG_FORMAT", "log.format"),
];

fn truthy(v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => err(format!("MFA_DEMO must be true or false, not {other:?}")),
    }
}

/// Where demo mode keeps its state (database, key file, compiled-component
/// cache) unless configured otherwise: one folder, relative to the working
/// directory, that can be deleted to start over.
pub const DEMO_DIR: &str = "mfa-demo";

impl Config {
    /// Read the file (if any), apply `--demo` and the environment, and check everything.
    pub fn load(
        file: Option<&Path>,
        demo_flag: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
                Self::from_toml(&text)
                    .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))?
            }
            None => Self::default(),
        };
        cfg.apply_env(env)?;
        if demo_flag {
            cfg.demo = true;
        }
        if cfg.demo && file.is_none() && env("MFA_DATABASE_URL").is_none() {
            cfg.storage.url = format!("sqlite://{DEMO_DIR}/mfa.db");
        }
        if cfg.demo && file.is_none() && env("MFA_KEY_FILE").is_none() {
            cfg.keys.file = Path::new(DEMO_DIR).join("keys.json");
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parse TOML text (no environment, no checks).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError(e.message().to_string() + &span_hint(text, e.span())))
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("MFA_LISTEN") {
            self.listen = v.parse().map_err(|_| {
                ConfigError(format!(
                    "MFA_LISTEN must be an address like 127.0.0.1:8080, not {v:?}"
                ))
            })?;
        }
        if let Some(v) = env("MFA_DEMO") {
            self.demo = truthy(&v)?;
        }
        if let Some(v) = env("MFA_DATABASE_URL") {
            self.storage.url = v;
        }
        if let Some(v) = env("MFA_KEY_FILE") {
            self.keys.file = PathBuf::from(v);
        }
        if let Some(v) = env("MFA_COMPONENT_WASM") {
            self.engine.component = Some(PathBuf::from(v));
        }
        if let Some(v) = env("MFA_ADMIN_TOKEN") {
            self.admin.token = Some(v);
        }
        if let Some(v) = env("MFA_METRICS_TOKEN") {
            self.metrics.token = Some(v);
        }
        if let Some(v) = env("MFA_GATEWAY_TOKEN") {
            self.gateway.token = Some(v);
        }
        if let Some(v) = env("MFA_SMTP_PASSWORD") {
            match self.delivery.smtp.as_mut() {
                Some(s) => s.password = Some(v),
                None => {
                    return err("MFA_SMTP_PASSWORD is set but there is no [delivery.smtp] section");
                }
            }
        }
        if let Some(v) = env("MFA_WEBHOOK_SECRET") {
            match self.delivery.webhook.as_mut() {
                Some(w) => w.secret = Some(v),
                None => {
                    return err(
                        "MFA_WEBHOOK_SECRET is set but there is no [delivery.webhook] section",
                    );
                }
            }
        }
        if let Some(v) = env("MFA_WIDGET_DIR") {
            self.widget.dir = PathBuf::from(v);
        }
        if let Some(v) = env("MFA_LOG") {
            self.log.filter = v;
        }
        if let Some(v) = env("MFA_LOG_FORMAT") {
            self.log.format = v;
        }
        Ok(())
    }

    /// The demo's passkeys, once its port is known: WebAuthn needs a domain
    /// name, so the relying party is `localhost` and the page is opened at
    /// `http://localhost:PORT` (a secure context without TLS). Only in demo
    /// mode, and only when the configuration says nothing about passkeys;
    /// the methods offered are then every method, passkeys among them.
    pub fn demo_passkeys(&mut self, port: u16) {
        if !self.demo || self.policy.passkeys.is_some() {
            return;
        }
        self.policy.passkeys = Some(PasskeySettings {
            rp_id: Some("localhost".into()),
            rp_name: Some("mfa-wasm demo".into()),
            origins: Some(vec![format!("http://localhost:{port}")]),
            ..PasskeySettings::default()
        });
        if self.policy.allowed_methods.is_none() {
            self.policy.allowed_methods = Some(MethodType::ALL.to_vec());
        }
    }

    /// Where passkeys are used: the relying party and origins, from the
    /// configuration (`[policy.passkeys]`, or the demo's). These describe the
    /// deployment, not a service setting, so they win over stored settings.
    pub fn passkey_site(&self) -> Option<PasskeySettings> {
        let p = self.policy.passkeys.as_ref()?;
        Some(PasskeySettings {
            rp_id: p.rp_id.clone(),
            rp_name: p.rp_name.clone(),
            origins: p.origins.clone(),
            ..PasskeySettings::default()
        })
    }

    /// Whether codes are printed to the console.
    pub fn console_delivery(&self) -> bool {
        self.delivery.console.unwrap_or(self.demo)
    }

    /// Whether a missing key file is created.
    pub fn generate_keys(&self) -> bool {
        self.keys.generate.unwrap_or(self.demo)
    }

    /// Check every setting; the error names the key and what to do.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.storage.url.as_str();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return err(format!(
                "storage.url must start with sqlite:// or postgres://, not {:?}",
                redact_url(url)
            ));
        }
        if !(1..=256).contains(&self.storage.max_connections) {
            return err("storage.max_connections must be 1 to 256");
        }
        if !matches!(self.storage.sqlite_synchronous.as_str(), "full" | "normal") {
            return err("storage.sqlite_synchronous must be \"full\" or \"normal\"");
        }
        if !(1..=10_000).contains(&self.storage.sqlite_batch) {
            return err("storage.sqlite_batch must be 1 to 10000");
        }
        if self.engine.max_instances > 1024 {
            return err("engine.max_instances must be 0 to 1024");
        }
        if self.auth.mode == AuthMode::TrustedHeader {
            if axum::http::HeaderName::from_bytes(self.auth.header.as_bytes()).is_err() {
                return err(format!(
                    "auth.header {:?} is not a valid header name",
                    self.auth.header
                ));
            }
            if self.auth.trusted_addresses.is_empty() {
                return err(
                    "auth.trusted_addresses must list at least one address in trusted_header mode",
                );
            }
            if self
                .auth
                .proxy_secret
                .as_deref()
                .is_none_or(|s| s.len() < 32)
            {
                return err(
                    "auth.proxy_secret must be set (at least 32 characters) in trusted_header mode: the authenticating proxy sends it in auth.secret_header",
                );
            }
            if axum::http::HeaderName::from_bytes(self.auth.secret_header.as_bytes()).is_err() {
                return err(format!(
                    "auth.secret_header {:?} is not a valid header name",
                    self.auth.secret_header
                ));
            }
        }
        for a in &self.auth.trusted_addresses {
            parse_cidr(a)?;
        }
        if self.auth.max_password_failures == 0 {
            return err("auth.max_password_failures must be at least 1");
        }
        if self.auth.max_password_failures_per_address == 0 {
            return err("auth.max_password_failures_per_address must be at least 1");
        }
        if let Some(t) = &self.admin.token
            && t.len() < 16
        {
            return err("admin.token must be at least 16 characters");
        }
        if self.metrics.token.as_ref().is_some_and(|t| t.len() < 16) {
            return err("metrics.token must be at least 16 characters");
        }
        for a in &self.metrics.allowed_addresses {
            parse_cidr(a)?;
        }
        if let Some(t) = &self.gateway.token
            && t.len() < 16
        {
            return err("gateway.token must be at least 16 characters");
        }
        if self.console_delivery() && !self.demo {
            return err(
                "delivery.console prints codes and is refused outside demo mode: configure [delivery.smtp] and [delivery.webhook], or start with --demo",
            );
        }
        if let Some(s) = &self.delivery.smtp {
            if s.host.trim().is_empty() {
                return err("delivery.smtp.host must not be empty");
            }
            if s.from.parse::<lettre::message::Mailbox>().is_err() {
                return err(format!(
                    "delivery.smtp.from {:?} is not an e-mail address",
                    s.from
                ));
            }
            if s.username.is_some() != s.password.is_some() {
                return err(
                    "delivery.smtp.username and password go together (password may come from MFA_SMTP_PASSWORD)",
                );
            }
            if s.tls == SmtpTls::None && !is_loopback_host(&s.host) {
                return err(
                    "delivery.smtp.tls = \"none\" is only allowed for a loopback relay; use starttls or implicit",
                );
            }
            if !(1..=120).contains(&s.timeout_secs) {
                return err("delivery.smtp.timeout_secs must be 1 to 120");
            }
        }
        if let Some(w) = &self.delivery.webhook {
            let url = reqwest::Url::parse(&w.url)
                .map_err(|e| ConfigError(format!("delivery.webhook.url is not a URL: {e}")))?;
            match url.scheme() {
                "https" => {}
                "http" if url.host_str().is_some_and(is_loopback_host) => {}
                _ => {
                    return err(
                        "delivery.webhook.url must be https:// (http:// only to a loopback address)",
                    );
                }
            }
            if w.secret.as_deref().is_none_or(|s| s.len() < 16) {
                return err(
                    "delivery.webhook.secret (or MFA_WEBHOOK_SECRET) must be set, at least 16 characters",
                );
            }
            if !(1..=10).contains(&w.attempts) {
                return err("delivery.webhook.attempts must be 1 to 10");
            }
            if !(1..=120).contains(&w.timeout_secs) {
                return err("delivery.webhook.timeout_secs must be 1 to 120");
            }
        }
        let console = self.console_delivery();
        for m in self
            .policy
            .allowed_methods
            .as_deref()
            .unwrap_or(MethodType::ALL)
        {
            let ok = match m {
                MethodType::AuthenticatorApp | MethodType::Passkey => true,
                MethodType::Email => console || self.delivery.smtp.is_some(),
                MethodType::Text | MethodType::Call => console || self.delivery.webhook.is_some(),
            };
            if !ok {
                let need = if *m == MethodType::Email {
                    "[delivery.smtp]"
                } else {
                    "[delivery.webhook]"
                };
                return err(format!(
                    "policy.allowed_methods includes {} but no {need} is configured: configure it or remove the method",
                    m.as_str()
                ));
            }
        }
        if let Err(e) = self.delivery.limits.validate() {
            return err(format!("[delivery.limits]: {e}"));
        }
        if !(256..=10 * 1024 * 1024).contains(&self.limits.body_bytes) {
            return err("limits.body_bytes must be 256 to 10485760");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return err("log.format must be \"text\" or \"json\"");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.filter).is_err() {
            return err(format!(
                "log.filter {:?} is not a valid filter",
                self.log.filter
            ));
        }
        Ok(())
    }
}

fn span_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An address or CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// Parse `10.0.0.0/8`, `::1` or `127.0.0.1`.
pub fn parse_cidr(s: &str) -> Result<Cidr, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "auth.trusted_addresses: {s:?} is not an address or CIDR range"
        ))
    };
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(bad)?,
        None => max,
    };
    Ok(Cidr { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn demo_passkeys_are_on_for_localhost_at_the_bound_port() {
        let mut c = Config::load(None, true, &no_env).unwrap();
        c.demo_passkeys(8123);
        let p = c.policy.passkeys.clone().unwrap();
        assert_eq!(p.rp_id.as_deref(), Some("localhost"));
        assert_eq!(p.origins, Some(vec!["http://localhost:8123".to_string()]));
        let allowed = c.policy.allowed_methods.clone().unwrap();
        assert!(allowed.contains(&MethodType::Passkey), "{allowed:?}");
        assert_eq!(c.passkey_site().unwrap().origins, p.origins);
        // What a configuration says is kept; outside demo mode nothing changes.
        let mut c = Config::from_toml("[policy.passkeys]\nrp_id = \"example.com\"").unwrap();
        c.demo = true;
        c.demo_passkeys(8123);
        assert_eq!(
            c.policy.passkeys.unwrap().rp_id.as_deref(),
            Some("example.com")
        );
        let mut c = Config::default();
        c.demo_passkeys(8123);
        assert!(c.policy.passkeys.is_none() && c.policy.allowed_methods.is_none());
    }

    #[test]
    fn defaults_need_delivery_or_demo() {
        let e = Config::load(None, false, &no_env).unwrap_err();
        assert!(e.0.contains("is configured: configure it"), "{e}");
        let c = Config::load(None, true, &no_env).unwrap();
        assert!(c.console_delivery());
        assert_eq!(c.storage.url, "sqlite://mfa-demo/mfa.db");
        assert_eq!(c.keys.file, Path::new("mfa-demo/keys.json"));
        assert_eq!(
            c.engine.cache_path(&c.keys.file),
            Path::new("mfa-demo/mfa-cache")
        );
    }

    #[test]
    fn console_is_refused_outside_demo() {
        let c = Config::from_toml(
            "[delivery]\nconsole = true\n[policy]\nallowed_methods=[\"authenticator_app\"]",
        )
        .unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.0.contains("refused outside demo"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = Config::from_toml("listen = \"127.0.0.1:1\"\n[storage]\nurll = \"x\"").unwrap_err();
        assert!(e.0.contains("urll") && e.0.contains("line 3"), "{e}");
        let mut c = Config::from_toml("[policy]\nallowed_methods=[\"authenticator_app\"]").unwrap();
        c.storage.url = "mysql://x".into();
        assert!(c.validate().unwrap_err().0.contains("storage.url"));
        let c = Config::from_toml(
            "[policy]\nallowed_methods=[\"text\"]\n[delivery.webhook]\nurl=\"http://example.com/x\"\nsecret=\"0123456789abcdef\"",
        )
        .unwrap();
        assert!(c.validate().unwrap_err().0.contains("https"));
    }

    #[test]
    fn env_overrides_apply() {
        let env = |k: &str| match k {
            "MFA_LISTEN" => Some("127.0.0.1:9999".to_string()),
            "MFA_ADMIN_TOKEN" => Some("a-long-admin-token-123".to_string()),
            _ => None,
        };
        let c = Config::load(None, true, &env).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.admin.token.as_deref(), Some("a-long-admin-token-123"));
        let bad = |k: &str| (k == "MFA_LISTEN").then(|| "nope".to_string());
        assert!(
            Config::load(None, true, &bad)
                .unwrap_err()
                .0
                .contains("MFA_LISTEN")
        );
    }

    #[test]
    fn cidr_matching() {
        let c = parse_cidr("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(
            parse_cidr("127.0.0.1")
                .unwrap()
                .contains("::ffff:127.0.0.1".parse().unwrap())
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
    }
}
