//! Delivering codes: e-mail by SMTP, text and call through an HMAC-signed
//! HTTPS webhook, and (demo mode only) the console.
use std::time::Duration;

use hmac::{KeyInit, Mac};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

use crate::config::{Config, SmtpTls};
use crate::engine::{Delivery, MethodType};

/// Why a code could not be delivered (no code or destination inside).
#[derive(Debug, Clone)]
pub struct DeliveryError {
    /// `email`, `text` or `call`.
    pub channel: &'static str,
    /// What went wrong.
    pub reason: String,
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} code could not be delivered: {}",
            self.channel, self.reason
        )
    }
}

/// The webhook's JSON body.
#[derive(Debug, Serialize)]
pub struct WebhookPayload<'a> {
    /// `text` or `call`.
    pub channel: &'a str,
    /// E.164 number.
    pub to: &'a str,
    /// The code alone (for providers with templates).
    pub code: &'a str,
    /// The text to send or read out.
    pub message: &'a str,
    /// When the code stops working (unix time).
    pub expires_at: u64,
    /// Unique id of this delivery (the same across retries).
    pub id: String,
}

type Hmac256 = hmac::Hmac<sha2::Sha256>;

/// The HMAC-SHA256 signature sent in `x-mfa-signature` (`t=<unix>,v1=<hex>`), over `"<t>.<body>"`.
pub fn sign_webhook(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = match Hmac256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    format!("t={timestamp},v1={}", data_encoding::HEXLOWER.encode(&sig))
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Vec<u8>,
    attempts: u32,
}

/// The configured delivery channels.
pub struct Deliverer {
    console: bool,
    smtp: Option<Smtp>,
    webhook: Option<Webhook>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("console", &self.console)
            .field("smtp", &self.smtp.is_some())
            .field("webhook", &self.webhook.is_some())
            .finish()
    }
}

impl Deliverer {
    /// Build the channels from a checked configuration.
    pub fn new(cfg: &Config) -> Result<Self, String> {
        let smtp = match &cfg.delivery.smtp {
            None => None,
            Some(s) => {
                let builder = match s.tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    }
                    SmtpTls::Starttls | SmtpTls::Implicit => {
                        let mut tls = TlsParameters::builder(s.host.clone());
                        if let Some(ca) = &s.ca_file {
                            let pem = std::fs::read(ca).map_err(|e| {
                                format!("delivery.smtp.ca_file {}: {e}", ca.display())
                            })?;
                            let cert = Certificate::from_pem(&pem).map_err(|e| {
                                format!("delivery.smtp.ca_file {}: {e}", ca.display())
                            })?;
                            tls = tls.add_root_certificate(cert);
                        }
                        let params = tls
                            .build()
                            .map_err(|e| format!("delivery.smtp TLS settings: {e}"))?;
                        let b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host);
                        if s.tls == SmtpTls::Starttls {
                            b.tls(Tls::Required(params))
                        } else {
                            b.tls(Tls::Wrapper(params))
                        }
                    }
                };
                let mut builder = builder
                    .port(s.port)
                    .timeout(Some(Duration::from_secs(s.timeout_secs)));
                if let (Some(u), Some(p)) = (&s.username, &s.password) {
                    builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
                }
                let from: Mailbox = s
                    .from
                    .parse()
                    .map_err(|e| format!("delivery.smtp.from: {e}"))?;
                Some(Smtp {
                    transport: builder.build(),
                    from,
                })
            }
        };
        let webhook = match &cfg.delivery.webhook {
            None => None,
            Some(w) => {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(w.timeout_secs))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| format!("delivery.webhook client: {e}"))?;
                let url = reqwest::Url::parse(&w.url)
                    .map_err(|e| format!("delivery.webhook.url: {e}"))?;
                Some(Webhook {
                    client,
                    url,
                    secret: w.secret.clone().unwrap_or_default().into_bytes(),
                    attempts: w.attempts,
                })
            }
        };
        Ok(Self {
            console: cfg.console_delivery(),
            smtp,
            webhook,
        })
    }

    /// Deliver a code by its channel.
    pub async fn deliver(&self, d: &Delivery) -> Result<(), DeliveryError> {
        let channel = d.channel.as_str();
        let fail = |reason: String| DeliveryError { channel, reason };
        match d.channel {
            MethodType::Email => {
                if let Some(smtp) = &self.smtp {
                    let to: Mailbox = d
                        .destination
                        .parse()
                        .map_err(|_| fail("the address is not usable".into()))?;
                    let msg = Message::builder()
                        .from(smtp.from.clone())
                        .to(to)
                        .subject(d.subject.clone())
                        .header(ContentType::TEXT_PLAIN)
                        .body(d.message.expose().to_string())
                        .map_err(|e| fail(format!("message could not be built: {e}")))?;
                    return smtp
                        .transport
                        .send(msg)
                        .await
                        .map(|_| ())
                        .map_err(|e| fail(format!("SMTP: {e}")));
                }
            }
            MethodType::Text | MethodType::Call => {
                if let Some(hook) = &self.webhook {
                    return self.post_webhook(hook, d).await.map_err(fail);
                }
            }
            MethodType::Passkey => {
                return Err(fail("passkeys sign in without a code".into()));
            }
            MethodType::AuthenticatorApp => {
                return Err(fail("authenticator apps make their own codes".into()));
            }
        }
        if self.console {
            // Demo mode only (refused at start otherwise): the code is printed for the person trying the demo.
            #[allow(
                clippy::print_stdout,
                reason = "demo delivery prints to the console by design"
            )]
            {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |t| t.as_secs());
                let left = d.expires_at.saturating_sub(now);
                let clock = d.expires_at % 86_400;
                println!(
                    "[DEMO DELIVERY] {} to {}: code {} (valid for {} min, until {:02}:{:02}:{:02} UTC)",
                    channel,
                    d.masked_destination,
                    d.code.expose(),
                    left.div_ceil(60),
                    clock / 3600,
                    clock / 60 % 60,
                    clock % 60
                );
            }
            return Ok(());
        }
        Err(fail("no delivery is configured for this channel".into()))
    }

    async fn post_webhook(&self, hook: &Webhook, d: &Delivery) -> Result<(), String> {
        let mut idb = [0u8; 12];
        crate::keys::random_bytes(&mut idb);
        let payload = WebhookPayload {
            channel: d.channel.as_str(),
            to: &d.destination,
            code: d.code.expose(),
            message: d.message.expose(),
            expires_at: d.expires_at,
            id: data_encoding::HEXLOWER.encode(&idb),
        };
        let body = serde_json::to_vec(&payload).map_err(|e| format!("payload: {e}"))?;
        let mut last = String::new();
        for attempt in 1..=hook.attempts {
            let ts = crate::unix_now();
            let sig = sign_webhook(&hook.secret, ts, &body);
            let r = hook
                .client
                .post(hook.url.clone())
                .header("content-type", "application/json")
                .header("x-mfa-signature", sig)
                .header("x-mfa-delivery-id", payload.id.clone())
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    last = format!("webhook answered {}", resp.status());
                    if resp.status().is_client_error() && resp.status().as_u16() != 429 {
                        break;
                    }
                }
                Err(e) => {
                    last = format!(
                        "webhook unreachable ({})",
                        if e.is_timeout() {
                            "timed out"
                        } else if e.is_connect() {
                            "connection failed"
                        } else {
                            "request failed"
                        }
                    );
                }
            }
            tracing::warn!(attempt, attempts = hook.attempts, error = %last, channel = payload.channel, "webhook delivery attempt failed");
            if attempt < hook.attempts {
                tokio::time::sleep(Duration::from_millis(200 * (1 << (attempt - 1).min(5)))).await;
            }
        }
        Err(format!("{last} after {} attempt(s)", hook.attempts))
    }
}
