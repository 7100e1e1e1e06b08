//! The decision: request facts in, an action out.
//!
//! [`Gate::decide`] looks at one request and answers with a [`Decision`]:
//! continue upstream (with identity headers set and the credential removed),
//! answer locally (401, 403, 302, 429, 503), or call the server's verify
//! endpoint first and finish in [`Gate::finish_call`]. The host supplies the
//! request through [`Facts`], its shared data through [`SharedStore`] and its
//! counters through [`Metrics`]; the proxy-wasm glue maps those to host calls,
//! and tests map them to plain maps.
use std::cell::RefCell;
use std::collections::HashMap;

use mfa_core::{Argon2Params, Error as CoreError, SessionClaims, TokenKind, UserId};

use crate::cache::{self, CacheKey, Entry};
use crate::config::{AppPasswordSource, Config, Mode, Route, Session};
use crate::http::{self, Basic};
use crate::remote::{self, Answer};
use mfa_core::gateway::FailureCount;

mod facts;
mod revocations;
pub use facts::*;

/// Identity header: the verified user.
pub const HEADER_USER: &str = "x-mfa-user";
/// Identity header: `app_password` or `session`.
pub const HEADER_METHOD: &str = "x-mfa-method";
/// Identity header: the id of the app password used.
pub const HEADER_APP_PASSWORD_ID: &str = "x-mfa-app-password-id";

/// Most verified session tokens remembered per VM.
const SESSION_CACHE_MAX: usize = 4096;
/// Most credential answers remembered per VM in front of shared data.
const LOCAL_CACHE_MAX: usize = 4096;
/// Attempts at a compare-and-swap update of a failure counter.
const CAS_ATTEMPTS: usize = 8;
/// Longest user name taken from a Basic header.
const MAX_USER_LEN: usize = 256;
/// RFC 8176 `amr` values of a phishing-resistant sign-in: a key bound to the
/// site signed the challenge (`hwk` a device-bound passkey or security key,
/// `swk` a synced passkey). A code typed or read out (`otp`, `sms`, `tel`)
/// can be relayed by a look-alike page; these cannot.
const PHISHING_RESISTANT_AMR: [&str; 2] = ["hwk", "swk"];

/// Who was verified, and how.
struct Identity {
    user: String,
    method: &'static str,
    app_password_id: Option<String>,
}

#[derive(Default)]
struct SessionCache {
    verified: HashMap<String, (SessionClaims, u64)>,
}

/// Insert into a bounded map of entries that hold until a time: when full,
/// expired entries go first, and everything if that is not enough.
fn bounded_insert<V>(
    map: &mut HashMap<String, (V, u64)>,
    key: String,
    value: V,
    until: u64,
    now: u64,
    max: usize,
) {
    if map.len() >= max {
        map.retain(|_, (_, u)| now < *u);
        if map.len() >= max {
            map.clear();
        }
    }
    map.insert(key, (value, until));
}

/// The route's own rules for a verified session: on a phishing-resistant
/// route, the sign-in must have used a passkey or security key.
fn route_admits(route: &Route, claims: &SessionClaims) -> Result<(), (Denial, String)> {
    if route.phishing_resistant
        && !claims
            .amr
            .iter()
            .any(|a| PHISHING_RESISTANT_AMR.contains(&a.as_str()))
    {
        return Err((
            Denial::SessionInsufficient,
            "this route needs a sign-in with a passkey or security key; sign in again with one"
                .into(),
        ));
    }
    Ok(())
}

/// The filter's decision logic for one configuration.
pub struct Gate {
    config: Config,
    key: CacheKey,
    sessions: RefCell<SessionCache>,
    /// This VM's copy of credential answers from shared data (same names, same
    /// expiry), so that a hot credential costs no host call.
    local: RefCell<HashMap<String, (Entry, u64)>>,
    /// The server's session revocations, when the configuration fetches them.
    held: revocations::Held,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("routes", &self.config.routes.len())
            .finish_non_exhaustive()
    }
}

fn json_response(status: u16, denial: Denial, message: &str) -> Response {
    Response {
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        body: http::error_body(denial.as_str(), message),
    }
}

impl Gate {
    /// A gate for this configuration and cache key.
    pub fn new(config: Config, key: CacheKey) -> Self {
        Self {
            config,
            key,
            sessions: RefCell::new(SessionCache::default()),
            local: RefCell::new(HashMap::new()),
            held: revocations::Held::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Decide what to do with a request at `now` (unix seconds).
    pub fn decide(
        &self,
        req: &dyn Facts,
        now: u64,
        store: &dyn SharedStore,
        metrics: &dyn Metrics,
    ) -> Decision {
        let path = req.header(":path").unwrap_or_default();
        let host = req.header(":authority").unwrap_or_default();
        let Some(route) = self.config.route(&host, &path) else {
            return self.deny(
                metrics,
                json_response(
                    403,
                    Denial::NoRoute,
                    "no route rule of the gateway covers this request",
                ),
                Denial::NoRoute,
            );
        };
        let strip = self.credential_strip(req, route);
        match route.mode {
            Mode::Public => self.allow(metrics, None, strip),
            Mode::Session => match self.session(req, route, now) {
                Ok(identity) => self.allow(metrics, Some(identity), strip),
                Err((denial, message)) => {
                    self.session_denied(req, &path, denial, &message, false, metrics)
                }
            },
            Mode::AppPassword => self.app_password(req, route, strip, now, store, metrics),
            Mode::Either => match self.session(req, route, now) {
                Ok(identity) => self.allow(metrics, Some(identity), strip),
                Err((denial, message)) => {
                    let has_basic = req
                        .header("authorization")
                        .is_some_and(|a| http::basic(&a).is_some());
                    if has_basic {
                        self.app_password(req, route, strip, now, store, metrics)
                    } else {
                        self.session_denied(req, &path, denial, &message, true, metrics)
                    }
                }
            },
        }
    }

    /// Finish a request after the verify endpoint answered.
    pub fn finish_call(
        &self,
        pending: Pending,
        answer: Answer,
        now: u64,
        store: &dyn SharedStore,
        metrics: &dyn Metrics,
    ) -> Decision {
        match answer {
            Answer::Verified { user, id } => {
                if user.chars().any(char::is_control) {
                    metrics.count(Event::CalloutFailure);
                    return self.unavailable(metrics);
                }
                let entry = Entry::Verified {
                    user: user.clone(),
                    id: id.clone(),
                };
                self.remember(store, pending.credential_slot.as_deref(), &entry, now, None);
                let identity = Identity {
                    user,
                    method: "app_password",
                    app_password_id: Some(id),
                };
                self.allow(metrics, Some(identity), pending.strip)
            }
            Answer::Rejected { code } => {
                let err = match code.as_str() {
                    "malformed_app_password" => CoreError::MalformedAppPassword,
                    "unknown_app_password" => CoreError::UnknownAppPassword,
                    "app_password_revoked" => CoreError::AppPasswordRevoked,
                    "app_password_expired" => CoreError::AppPasswordExpired,
                    _ => CoreError::WrongAppPassword,
                };
                self.app_password_failed(store, metrics, &err, pending.address_slot.as_deref(), now)
            }
            Answer::OutOfScope => {
                self.remember(
                    store,
                    pending.credential_slot.as_deref(),
                    &Entry::OutOfScope,
                    now,
                    None,
                );
                self.out_of_scope(metrics)
            }
            Answer::Throttled { retry_after } => self.throttled(metrics, retry_after),
            Answer::Unavailable { .. } => {
                metrics.count(Event::CalloutFailure);
                self.unavailable(metrics)
            }
        }
    }

    fn allow(
        &self,
        metrics: &dyn Metrics,
        identity: Option<Identity>,
        mut edits: Vec<HeaderEdit>,
    ) -> Decision {
        metrics.count(Event::Allowed);
        for h in &self.config.strip_request_headers {
            edits.push((h.clone(), None));
        }
        match identity {
            Some(id) => {
                edits.push((HEADER_USER.into(), Some(id.user)));
                edits.push((HEADER_METHOD.into(), Some(id.method.into())));
                edits.push((HEADER_APP_PASSWORD_ID.into(), id.app_password_id));
            }
            None => {
                edits.push((HEADER_USER.into(), None));
                edits.push((HEADER_METHOD.into(), None));
                edits.push((HEADER_APP_PASSWORD_ID.into(), None));
            }
        }
        Decision::Continue(edits)
    }

    fn deny(&self, metrics: &dyn Metrics, response: Response, denial: Denial) -> Decision {
        metrics.count(Event::Denied(denial));
        Decision::Respond(response)
    }

    fn basic_challenge(&self) -> (String, String) {
        (
            "www-authenticate".into(),
            format!("Basic realm=\"{}\", charset=\"UTF-8\"", self.config.realm),
        )
    }

    fn bearer_challenge(&self) -> (String, String) {
        (
            "www-authenticate".into(),
            format!("Bearer realm=\"{}\"", self.config.realm),
        )
    }

    fn unauthorized(&self, metrics: &dyn Metrics, denial: Denial, message: &str) -> Decision {
        let mut r = json_response(401, denial, message);
        r.headers.push(self.basic_challenge());
        self.deny(metrics, r, denial)
    }

    fn out_of_scope(&self, metrics: &dyn Metrics) -> Decision {
        self.deny(
            metrics,
            json_response(
                403,
                Denial::OutOfScope,
                "this app password may not be used here; create one for this use",
            ),
            Denial::OutOfScope,
        )
    }

    fn throttled(&self, metrics: &dyn Metrics, retry_after: u64) -> Decision {
        let mut r = json_response(
            429,
            Denial::Throttled,
            &format!("too many failed sign-ins; try again in {retry_after} seconds"),
        );
        r.headers
            .push(("retry-after".into(), retry_after.to_string()));
        self.deny(metrics, r, Denial::Throttled)
    }

    fn unavailable(&self, metrics: &dyn Metrics) -> Decision {
        let mut r = json_response(
            503,
            Denial::VerifierUnavailable,
            "the app password could not be checked right now; try again shortly",
        );
        r.headers.push(("retry-after".into(), "5".into()));
        self.deny(metrics, r, Denial::VerifierUnavailable)
    }

    // ----- sessions -------------------------------------------------------

    fn session(
        &self,
        req: &dyn Facts,
        route: &Route,
        now: u64,
    ) -> Result<Identity, (Denial, String)> {
        let Some(cfg) = &self.config.session else {
            return Err((Denial::SessionMissing, "no session is accepted here".into()));
        };
        let token = self
            .session_token(cfg, req)
            .ok_or_else(|| (Denial::SessionMissing, "sign in with MFA first".to_string()))?;
        let user = self.verify_session(cfg, &token, route, now)?;
        Ok(Identity {
            user,
            method: "session",
            app_password_id: None,
        })
    }

    /// Removals of every credential this gateway reads, when the route (or
    /// the configuration) strips them: the upstream gets the identity
    /// headers, never a password or token, whichever one decided (security
    /// review item 9: a Basic app password beside a winning session, or
    /// anything sent to a public route, went upstream before).
    fn credential_strip(&self, req: &dyn Facts, route: &Route) -> Vec<HeaderEdit> {
        if !route
            .strip_credentials
            .unwrap_or(self.config.strip_credentials)
        {
            return Vec::new();
        }
        let mut edits = Vec::new();
        if req.header("authorization").is_some() {
            edits.push(("authorization".to_string(), None));
        }
        if let Some(cfg) = &self.config.session {
            if let Some(h) = &cfg.header
                && h != "authorization"
                && req.header(h).is_some()
            {
                edits.push((h.clone(), None));
            }
            if let Some(name) = cfg.cookie.as_deref()
                && let Some(header) = req.header("cookie")
                && http::cookie(&header, name).is_some()
            {
                edits.push(("cookie".into(), http::cookie_without(&header, name)));
            }
        }
        edits
    }

    fn session_token(&self, cfg: &Session, req: &dyn Facts) -> Option<String> {
        if let Some(h) = &cfg.header
            && let Some(value) = req.header(h)
        {
            let token = if h == "authorization" {
                http::bearer(&value).map(str::to_string)
            } else {
                Some(value.trim().to_string()).filter(|t| !t.is_empty())
            };
            if let Some(token) = token {
                return Some(token);
            }
        }
        let name = cfg.cookie.as_deref()?;
        let header = req.header("cookie")?;
        http::cookie(&header, name)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }

    /// The session's user, when the token is valid for this gateway and
    /// admitted on `route`. The cache remembers that a token verified, never
    /// that a route admitted it: the route's own rules are checked on every
    /// request, so a session cached on an ordinary route does not pass a
    /// phishing-resistant one.
    fn verify_session(
        &self,
        cfg: &Session,
        token: &str,
        route: &Route,
        now: u64,
    ) -> Result<String, (Denial, String)> {
        // A cached verification still meets the revocation feed: a session
        // revoked after it was first seen is refused from the next feed on.
        if let Some((claims, until)) = self.sessions.borrow().verified.get(token)
            && now < *until
        {
            self.not_revoked(claims, now)?;
            route_admits(route, claims)?;
            return Ok(claims.sub.clone());
        }
        let claims = cfg
            .jwks
            .verify(token, &cfg.issuer, &cfg.audience, TokenKind::Session, now)
            .map_err(|e| (Denial::of_core(&e), e.to_string()))?;
        if let Some(missing) = cfg.required_amr.iter().find(|a| !claims.amr.contains(a)) {
            return Err((
                Denial::SessionInsufficient,
                format!("this session did not sign in with \"{missing}\"; verify again"),
            ));
        }
        if claims.sub.is_empty() || claims.sub.chars().any(char::is_control) {
            return Err((
                Denial::SessionInvalid,
                "the token names no usable user".into(),
            ));
        }
        self.not_revoked(&claims, now)?;
        let admitted = route_admits(route, &claims);
        let sub = claims.sub.clone();
        let exp = claims.exp;
        bounded_insert(
            &mut self.sessions.borrow_mut().verified,
            token.to_string(),
            claims,
            exp,
            now,
            SESSION_CACHE_MAX,
        );
        admitted.map(|()| sub)
    }

    fn session_denied(
        &self,
        req: &dyn Facts,
        path: &str,
        denial: Denial,
        message: &str,
        also_basic: bool,
        metrics: &dyn Metrics,
    ) -> Decision {
        if denial == Denial::RevocationsUnavailable {
            // Not the caller's fault: no sign-in page would help.
            let mut r = json_response(503, denial, message);
            r.headers.push(("retry-after".into(), "5".into()));
            return self.deny(metrics, r, denial);
        }
        let method = req.header(":method").unwrap_or_default();
        let wants_html = req
            .header("accept")
            .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"));
        if let Some(cfg) = &self.config.session
            && (method == "GET" || method == "HEAD")
            && wants_html
        {
            let sep = if cfg.redirect_url.contains('?') {
                '&'
            } else {
                '?'
            };
            let location = format!(
                "{}{sep}{}={}",
                cfg.redirect_url,
                cfg.return_param,
                http::query_encode(path)
            );
            let response = Response {
                status: 302,
                headers: vec![
                    ("location".into(), location),
                    ("cache-control".into(), "no-store".into()),
                ],
                body: String::new(),
            };
            return self.deny(metrics, response, denial);
        }
        let mut r = json_response(401, denial, message);
        r.headers.push(self.bearer_challenge());
        if also_basic {
            r.headers.push(self.basic_challenge());
        }
        self.deny(metrics, r, denial)
    }

    // ----- app passwords --------------------------------------------------

    fn app_password(
        &self,
        req: &dyn Facts,
        route: &Route,
        strip: Vec<HeaderEdit>,
        now: u64,
        store: &dyn SharedStore,
        metrics: &dyn Metrics,
    ) -> Decision {
        let Some(cfg) = &self.config.app_passwords else {
            return self.unauthorized(
                metrics,
                Denial::MissingCredentials,
                "no app passwords are accepted here",
            );
        };
        let basic = req.header("authorization").and_then(|a| http::basic(&a));
        let scope = route.scope.as_deref();
        // A well-formed credential that verified within the TTL is answered from
        // the cache first: a recently proven credential is not a guess, so it
        // passes even while its user or address is blocked for others' failures.
        // The engine reads the credentials (`gateway::present`): the user id
        // in canonical form (`Alice` and `alice` share one cache slot and one
        // credential; an impossible name is an unknown password) and the
        // password's form and checksum.
        let presented = match &basic {
            Some(Basic::Credentials { user, password }) if user.len() <= MAX_USER_LEN => {
                mfa_core::gateway::present(user, password)
            }
            Some(Basic::Credentials { .. }) => Err(CoreError::UnknownAppPassword),
            _ => Err(CoreError::MalformedAppPassword),
        };
        let (canonical, parsed) = match presented {
            Ok((user, parsed)) => (Some(user), Ok(parsed)),
            Err(e) => (None, Err(e)),
        };
        let user = canonical.as_ref().map(UserId::as_str);
        // Inline credentials carry their scopes, so one entry per credential
        // serves every route (the scope is checked per request, without
        // hashing); the server decides scopes in remote mode, so there the
        // entry is per scope.
        let inline = match &cfg.source {
            AppPasswordSource::Inline(creds) => Some(creds),
            AppPasswordSource::Remote(_) => None,
        };
        let slot_scope = if inline.is_some() { None } else { scope };
        let credential_slot = match (user, &parsed) {
            (Some(user), Ok(parsed)) if cfg.cache_ttl_secs > 0 => Some(self.key.credential_slot(
                &self.config.fingerprint,
                user,
                parsed.canonical().expose(),
                slot_scope,
            )),
            _ => None,
        };
        if let (Some(slot), Some(user)) = (&credential_slot, user) {
            match self.cached(store, slot, now) {
                Some(Entry::Verified { user: cached, id }) if cached == user => {
                    metrics.count(Event::CacheHit);
                    // The scope rule applies to every route, also one that
                    // names no scope (a scoped password is refused there).
                    if let Some(creds) = inline
                        && !creds
                            .iter()
                            .find(|c| c.user == cached && c.id == id)
                            .is_some_and(|c| c.allows_scope(scope))
                    {
                        return self.out_of_scope(metrics);
                    }
                    let identity = Identity {
                        user: cached,
                        method: "app_password",
                        app_password_id: Some(id),
                    };
                    return self.allow(metrics, Some(identity), strip);
                }
                Some(Entry::OutOfScope) => {
                    metrics.count(Event::CacheHit);
                    return self.out_of_scope(metrics);
                }
                _ => metrics.count(Event::CacheMiss),
            }
        }
        let address_slot = req
            .client_address()
            .map(|a| self.key.address_slot(http::address_without_port(&a)));
        if let Some(slot) = &address_slot
            && let Some(wait) = self.counter(store, slot).retry_after(now)
        {
            return self.throttled(metrics, wait);
        }
        let (user, parsed) = match (&basic, user, parsed) {
            (None, _, _) => {
                return self.unauthorized(
                    metrics,
                    Denial::MissingCredentials,
                    "sign in with your user name and an app password",
                );
            }
            (Some(_), Some(user), Ok(parsed)) => (user.to_string(), parsed),
            // Format and checksum first: garbage and typos never reach argon2 or the server.
            (Some(_), _, parsed) => {
                let err = parsed.err().unwrap_or(CoreError::MalformedAppPassword);
                return self.app_password_failed(
                    store,
                    metrics,
                    &err,
                    address_slot.as_deref(),
                    now,
                );
            }
        };
        // No budget per user (security item 5): a user's failures never
        // refuse that user's correct app password (a 130-bit secret is not
        // guessed; a lock would only let anyone lock a victim's mail out).
        // Guessing is bounded per client address, before any hash.
        match &cfg.source {
            AppPasswordSource::Remote(_) => Decision::Call(Callout {
                body: remote::request_body(
                    &user,
                    parsed.canonical().expose(),
                    scope,
                    req.client_address()
                        .as_deref()
                        .map(http::address_without_port),
                ),
                pending: Pending {
                    credential_slot,
                    address_slot,
                    strip,
                },
            }),
            AppPasswordSource::Inline(creds) => {
                let Some(cred) = creds.iter().find(|c| c.user == user && c.id == parsed.id) else {
                    return self.app_password_failed(
                        store,
                        metrics,
                        &CoreError::UnknownAppPassword,
                        address_slot.as_deref(),
                        now,
                    );
                };
                // The engine checks the scope after the hash matched, so an
                // out-of-scope answer still proves the password: it is
                // remembered as verified, and the cached answer serves every
                // route of this credential (the scope is checked per request).
                // The policy parameters only decide `needs_rehash`, which a gateway cannot act on.
                let result = cred.verify(
                    parsed.canonical().expose(),
                    scope,
                    now,
                    &Argon2Params::default(),
                );
                if !matches!(result, Err(CoreError::AppPasswordExpired)) {
                    metrics.count(Event::HashComputed);
                }
                let proven = match &result {
                    Ok(_) | Err(CoreError::OutOfScope { .. }) => true,
                    Err(_) => false,
                };
                if proven {
                    let entry = Entry::Verified {
                        user: cred.user.clone(),
                        id: cred.id.clone(),
                    };
                    self.remember(
                        store,
                        credential_slot.as_deref(),
                        &entry,
                        now,
                        cred.expires_at,
                    );
                }
                match result {
                    Ok(m) => {
                        let identity = Identity {
                            user: cred.user.clone(),
                            method: "app_password",
                            app_password_id: Some(m.id),
                        };
                        self.allow(metrics, Some(identity), strip)
                    }
                    Err(CoreError::OutOfScope { .. }) => self.out_of_scope(metrics),
                    Err(e) => {
                        self.app_password_failed(store, metrics, &e, address_slot.as_deref(), now)
                    }
                }
            }
        }
    }

    /// Refuse an app password: 401 (or 503 when the check itself failed),
    /// counting guesses and unreadable credentials against the client address.
    fn app_password_failed(
        &self,
        store: &dyn SharedStore,
        metrics: &dyn Metrics,
        err: &CoreError,
        address_slot: Option<&str>,
        now: u64,
    ) -> Decision {
        let denial = Denial::of_core(err);
        if mfa_core::gateway::counts_against_address(err)
            && let Some(slot) = address_slot
        {
            self.fail(store, slot, now);
        }
        if denial == Denial::VerifierUnavailable {
            return self.unavailable(metrics);
        }
        self.unauthorized(metrics, denial, &err.to_string())
    }

    fn counter(&self, store: &dyn SharedStore, slot: &str) -> FailureCount {
        store
            .get(slot)
            .map(|(v, _)| FailureCount::decode(&v))
            .unwrap_or_default()
    }

    fn fail(&self, store: &dyn SharedStore, slot: &str, now: u64) {
        for _ in 0..CAS_ATTEMPTS {
            let (bytes, cas) = store.get(slot).unwrap_or_default();
            let next = FailureCount::decode(&bytes).failed(now, &self.config.throttle);
            if store.set(slot, &next.encode(), cas) {
                return;
            }
        }
    }

    fn remember(
        &self,
        store: &dyn SharedStore,
        slot: Option<&str>,
        entry: &Entry,
        now: u64,
        expires_at: Option<u64>,
    ) {
        let Some(slot) = slot else { return };
        let Some(cfg) = &self.config.app_passwords else {
            return;
        };
        if let Some(until) =
            mfa_core::gateway::cache_until(now, cfg.cache_ttl_secs, expires_at, None)
        {
            store.set(slot, &cache::encode(entry, until), None);
            bounded_insert(
                &mut self.local.borrow_mut(),
                slot.to_string(),
                entry.clone(),
                until,
                now,
                LOCAL_CACHE_MAX,
            );
        }
    }

    /// A credential's cached answer: this VM's copy first, then shared data.
    fn cached(&self, store: &dyn SharedStore, slot: &str, now: u64) -> Option<Entry> {
        if let Some((entry, until)) = self.local.borrow().get(slot)
            && now < *until
        {
            return Some(entry.clone());
        }
        let (entry, until) = store.get(slot).and_then(|(v, _)| cache::decode(&v, now))?;
        bounded_insert(
            &mut self.local.borrow_mut(),
            slot.to_string(),
            entry.clone(),
            until,
            now,
            LOCAL_CACHE_MAX,
        );
        Some(entry)
    }
}
