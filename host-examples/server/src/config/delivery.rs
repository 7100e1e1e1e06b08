//! Code delivery settings: SMTP, the text/call webhook, the demo console and
//! the send limits over all users.
use std::path::PathBuf;

use serde::Deserialize;

/// Code delivery.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Print codes to standard output (demo mode only). Default: on in demo mode.
    pub console: Option<bool>,
    /// E-mail by SMTP.
    pub smtp: Option<SmtpConfig>,
    /// Text and call through an HTTPS webhook.
    pub webhook: Option<WebhookConfig>,
    /// Limits on codes sent, over all users: per client address, per
    /// destination and for the whole service (each user's own budget is the
    /// policy's `send_gap_secs`, `sends_per_hour` and `sends_per_day`).
    pub limits: mfa_core::SendGuardLimits,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text (loopback relays only).
    None,
    /// STARTTLS, required.
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// SMTP settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Port. Default 587.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `none`, `starttls` or `implicit`. Default `starttls`.
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTls,
    /// PEM file of an extra root certificate to trust (a private relay).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// User name for AUTH.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for AUTH (env `MFA_SMTP_PASSWORD`).
    #[serde(default)]
    pub password: Option<String>,
    /// Sender address, e.g. `MFA <mfa@example.com>`.
    pub from: String,
    /// Seconds per attempt. Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_smtp_port() -> u16 {
    587
}
fn default_smtp_tls() -> SmtpTls {
    SmtpTls::Starttls
}
fn default_timeout() -> u64 {
    10
}
fn default_attempts() -> u32 {
    3
}

/// Webhook settings for text and call.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// HTTPS URL (plain HTTP only to a loopback address).
    pub url: String,
    /// HMAC-SHA256 key for the `x-mfa-signature` header (env `MFA_WEBHOOK_SECRET`).
    #[serde(default)]
    pub secret: Option<String>,
    /// Seconds per attempt. Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Attempts before the delivery is reported as failed. Default 3.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
}
