//! proxy-wasm glue: host calls in, [`Gate`] decisions out. Decides nothing.
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

use crate::cache::{CacheKey, KEY_LEN, KEY_SLOT};
use crate::config::{AppPasswordSource, Config, Remote};
use crate::gate::{Decision, Denial, Event, Facts, Gate, Metrics, Pending, Response, SharedStore};
use crate::remote;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

fn log(level: LogLevel, message: &str) {
    // Logging is best effort: a host that refuses a log line must not stop a request.
    let _ = hostcalls::log(level, message);
}

fn now_secs() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Metric ids, defined once per configuration.
struct HostMetrics {
    allowed: Option<u32>,
    denied: Vec<(Denial, Option<u32>)>,
    cache_hits: Option<u32>,
    cache_misses: Option<u32>,
    hashes: Option<u32>,
    callout_failures: Option<u32>,
}

impl HostMetrics {
    fn define(prefix: &str) -> Self {
        let counter = |name: &str| {
            hostcalls::define_metric(MetricType::Counter, &format!("{prefix}.{name}")).ok()
        };
        Self {
            allowed: counter("allowed"),
            denied: Denial::ALL
                .iter()
                .map(|d| (*d, counter(&format!("denied.{}", d.as_str()))))
                .collect(),
            cache_hits: counter("cache_hits"),
            cache_misses: counter("cache_misses"),
            hashes: counter("hashes_computed"),
            callout_failures: counter("callout_failures"),
        }
    }
}

impl Metrics for HostMetrics {
    fn count(&self, event: Event) {
        let id = match event {
            Event::Allowed => self.allowed,
            Event::Denied(d) => self
                .denied
                .iter()
                .find(|(x, _)| *x == d)
                .and_then(|(_, id)| *id),
            Event::CacheHit => self.cache_hits,
            Event::CacheMiss => self.cache_misses,
            Event::HashComputed => self.hashes,
            Event::CalloutFailure => self.callout_failures,
        };
        if let Some(id) = id {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }
}

struct HostStore;

impl SharedStore for HostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, Option<u32>)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(v), cas)) => Some((v, cas)),
            _ => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }
}

/// The request headers, read from the host in one call (each host call that
/// returns data also calls back into the module to allocate, so one call for
/// all headers is cheaper than one per header).
struct HostFacts {
    headers: Vec<(String, String)>,
}

impl HostFacts {
    fn read() -> Self {
        Self {
            headers: hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| k == name)
    }
}

impl Facts for HostFacts {
    fn header(&self, name: &str) -> Option<String> {
        // Envoy hands header names over in lowercase.
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn client_address(&self) -> Option<String> {
        let raw = hostcalls::get_property(vec!["source", "address"])
            .ok()
            .flatten()?;
        let text = String::from_utf8(raw).ok()?;
        Some(crate::http::address_without_port(&text).to_string())
    }
}

/// One key per gateway: adopt the one in shared data, or draw and publish one.
fn cache_key() -> Result<CacheKey, String> {
    if let Ok((Some(bytes), _)) = hostcalls::get_shared_data(KEY_SLOT)
        && let Some(key) = CacheKey::from_bytes(&bytes)
    {
        return Ok(key);
    }
    let mut fresh = [0u8; KEY_LEN];
    getrandom::fill(&mut fresh).map_err(|e| format!("no randomness for the cache key: {e}"))?;
    // Publish it, then use whatever is stored: a worker that started at the same
    // moment may have published its own first.
    let _ = hostcalls::set_shared_data(KEY_SLOT, Some(&fresh), None);
    match hostcalls::get_shared_data(KEY_SLOT) {
        Ok((Some(bytes), _)) => CacheKey::from_bytes(&bytes)
            .ok_or_else(|| "the shared cache key is unreadable".to_string()),
        _ => CacheKey::from_bytes(&fresh).ok_or_else(|| "cache key".to_string()),
    }
}

struct Shared {
    gate: Gate,
    metrics: HostMetrics,
}

#[derive(Default)]
struct Root {
    shared: Option<Rc<Shared>>,
    /// The revocation feed call in flight.
    feed_call: Option<u32>,
}

impl Root {
    /// Fetch the revocation feed when the gate says it is due.
    fn fetch_revocations(&mut self) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        if self.feed_call.is_some() {
            return;
        }
        let Some(feed) = shared.gate.revocations_due(now_secs()) else {
            return;
        };
        match dispatch(&feed.remote, "GET", None) {
            Ok(token) => self.feed_call = Some(token),
            Err(why) => {
                shared.gate.revocations_not_sent();
                log(
                    LogLevel::Warn,
                    &format!(
                        "mfa-proxy: cannot fetch the revocation feed from cluster {}: {why}",
                        feed.remote.cluster
                    ),
                );
            }
        }
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        if self.feed_call != Some(token) {
            return;
        }
        self.feed_call = None;
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let (status, body) = call_answer(num_headers, body_size, mfa_core::MAX_REVOCATIONS_BYTES);
        if let Err(why) = shared.gate.revocations_fetched(status, &body, now_secs()) {
            log(
                LogLevel::Warn,
                &format!("mfa-proxy: revocation feed not taken: {why}"),
            );
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        self.shared = None;
        let bytes = match hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(Some(b)) => b,
            Ok(None) => Vec::new(),
            Err(status) => {
                log(
                    LogLevel::Critical,
                    &format!(
                        "mfa-proxy: cannot read the plugin configuration ({status:?}); every request is refused"
                    ),
                );
                return false;
            }
        };
        let config = match Config::parse(&bytes) {
            Ok(c) => c,
            Err(e) => {
                log(
                    LogLevel::Critical,
                    &format!("mfa-proxy: {e}; every request is refused"),
                );
                return false;
            }
        };
        let key = match cache_key() {
            Ok(k) => k,
            Err(e) => {
                log(
                    LogLevel::Critical,
                    &format!("mfa-proxy: {e}; every request is refused"),
                );
                return false;
            }
        };
        let metrics = HostMetrics::define(&config.stat_prefix);
        log(
            LogLevel::Info,
            &format!(
                "mfa-proxy: configured with {} route rule(s)",
                config.routes.len()
            ),
        );
        let fetches = config
            .session
            .as_ref()
            .is_some_and(|s| s.revocations.is_some());
        self.shared = Some(Rc::new(Shared {
            gate: Gate::new(config, key),
            metrics,
        }));
        if fetches {
            // The gate decides when a fetch is due; the timer only asks.
            let _ = hostcalls::set_tick_period(Duration::from_secs(1));
            self.fetch_revocations();
        }
        true
    }

    fn on_tick(&mut self) {
        self.fetch_revocations();
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Without a configuration the filter refuses everything: never an open gateway.
        Some(Box::new(Filter {
            shared: self.shared.clone(),
            pending: None,
            facts: None,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    shared: Option<Rc<Shared>>,
    pending: Option<(u32, Pending)>,
    /// The request headers as they were when the request was decided.
    facts: Option<HostFacts>,
}

impl Filter {
    fn respond(&self, r: &Response) {
        let headers: Vec<(&str, &str)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = (!r.body.is_empty()).then_some(r.body.as_bytes());
        let _ = hostcalls::send_http_response(u32::from(r.status), headers, body);
    }

    /// Apply a decision; the returned action is what the request callback returns.
    fn apply(&mut self, shared: &Shared, decision: Decision) -> Action {
        match decision {
            Decision::Continue(edits) => {
                for (name, value) in &edits {
                    // Removing a header the request does not carry would be a wasted host call.
                    let absent =
                        value.is_none() && self.facts.as_ref().is_some_and(|f| !f.has(name));
                    if !absent {
                        let _ = hostcalls::set_map_value(
                            MapType::HttpRequestHeaders,
                            name,
                            value.as_deref(),
                        );
                    }
                }
                Action::Continue
            }
            Decision::Respond(r) => {
                self.respond(&r);
                Action::Pause
            }
            Decision::Call(call) => {
                let Some(AppPasswordSource::Remote(remote)) = shared
                    .gate
                    .config()
                    .app_passwords
                    .as_ref()
                    .map(|a| &a.source)
                else {
                    return self.apply(shared, Decision::Respond(refusal()));
                };
                match dispatch(remote, "POST", Some(&call.body)) {
                    Ok(token) => {
                        self.pending = Some((token, call.pending));
                        Action::Pause
                    }
                    Err(why) => {
                        log(
                            LogLevel::Warn,
                            &format!("mfa-proxy: cannot call cluster {}: {why}", remote.cluster),
                        );
                        let d = shared.gate.finish_call(
                            call.pending,
                            remote::Answer::Unavailable { why },
                            now_secs(),
                            &HostStore,
                            &shared.metrics,
                        );
                        self.apply(shared, d)
                    }
                }
            }
        }
    }
}

/// Status and body (at most `max_body` bytes) of the answer to a call.
fn call_answer(num_headers: usize, body_size: usize, max_body: usize) -> (Option<u16>, Vec<u8>) {
    let status = if num_headers == 0 {
        None
    } else {
        hostcalls::get_map_value(MapType::HttpCallResponseHeaders, ":status")
            .ok()
            .flatten()
            .and_then(|s| s.parse::<u16>().ok())
    };
    let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size.min(max_body))
        .ok()
        .flatten()
        .unwrap_or_default();
    (status, body)
}

fn dispatch(remote: &Remote, method: &str, body: Option<&[u8]>) -> Result<u32, String> {
    let mut headers = vec![
        (":method", method),
        (":path", remote.path.as_str()),
        (":authority", remote.authority.as_str()),
        ("accept", "application/json"),
    ];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    if let Some(token) = &remote.gateway_token {
        headers.push(("x-mfa-gateway-token", token.expose()));
    }
    hostcalls::dispatch_http_call(
        &remote.cluster,
        headers,
        body,
        Vec::new(),
        Duration::from_millis(remote.timeout_ms),
    )
    .map_err(|status| format!("{status:?}"))
}

fn refusal() -> Response {
    Response {
        status: 503,
        headers: vec![("content-type".into(), "application/json".into())],
        body: crate::http::error_body(
            "gateway_misconfigured",
            "the gateway's authentication filter has no valid configuration",
        ),
    }
}

impl Context for Filter {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let Some((expected, pending)) = self.pending.take() else {
            return;
        };
        if expected != token {
            self.pending = Some((expected, pending));
            return;
        }
        let (status, body) = call_answer(num_headers, body_size, 64 * 1024);
        let retry_after = hostcalls::get_map_value(MapType::HttpCallResponseHeaders, "retry-after")
            .ok()
            .flatten();
        let answer = remote::interpret(status, retry_after.as_deref(), &body);
        if let remote::Answer::Unavailable { why } = &answer {
            log(
                LogLevel::Warn,
                &format!("mfa-proxy: verify endpoint unusable: {why}"),
            );
        }
        let decision =
            shared
                .gate
                .finish_call(pending, answer, now_secs(), &HostStore, &shared.metrics);
        if let Action::Continue = self.apply(&shared, decision) {
            let _ = hostcalls::resume_http_request();
        }
    }
}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(shared) = self.shared.clone() else {
            self.respond(&refusal());
            return Action::Pause;
        };
        let facts = HostFacts::read();
        let decision = shared
            .gate
            .decide(&facts, now_secs(), &HostStore, &shared.metrics);
        self.facts = Some(facts);
        self.apply(&shared, decision)
    }
}
