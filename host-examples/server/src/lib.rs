//! `mfa-server`: the reference HTTP server of mfa-wasm.
//!
//! An HTTP JSON API (`/api/v1`) over the engine: sign-in, "Set it up now",
//! second-factor verification with remembered devices, app passwords with a
//! verify endpoint for gateways, an admin API, `/.well-known/jwks.json`,
//! OpenAPI, Prometheus metrics and the widget's static files.
//!
//! The engine runs inside the WebAssembly component, embedded with
//! `mfa-host` (wasmtime), and is reached only through
//! [`engine::EngineHandle`]. Each user's
//! engine record is stored with compare-and-swap on its revision ([`store`]),
//! and operations on one user are serialised inside the process, so two
//! concurrent uses of one code give exactly one success.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod csrf;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod hash_pool;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod password_throttle;
pub mod passwords;
pub mod revocations;
pub mod store;

pub use keys::{
    generate_key_file, replace_private, retire_signing_key, rotate_key_file, write_private,
};
use keys::{load_keys, random_b64};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use config::{Cidr, Config};
use delivery::Deliverer;
use engine::{
    AuditEvent, ComponentSettings, EngineError, EngineHandle, MfaState, Policy, PolicySettings,
    UserRecord,
};
use error::ApiError;
use metrics::Metrics;
use password_throttle::FailClosed;
use store::{AuditRow, Commit, RecordUpdate, Store};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

const LOCK_SHARDS: usize = 4096;
const MAX_CAS_ATTEMPTS: usize = 32;
const RECORD_CACHE_MAX: usize = 200_000;

/// A remembered successful app-password check.
#[derive(Clone)]
struct ApCacheEntry {
    digest: [u8; 32],
    hash: String,
    scope: Option<String>,
    at: u64,
}

/// The result of an operation on a user's record, after it was stored.
#[derive(Debug)]
pub struct Done<T> {
    /// The operation's answer.
    pub result: Result<T, EngineError>,
    /// The record as stored.
    pub record: Arc<UserRecord>,
    /// The time the operation ran with.
    pub now: u64,
}

impl<T> Done<T> {
    /// The answer, with engine errors turned into API errors.
    pub fn into_api(self) -> Result<(T, Arc<UserRecord>, u64), ApiError> {
        match self.result {
            Ok(v) => Ok((v, self.record, self.now)),
            Err(e) => Err(ApiError::from_engine(&e, self.now)),
        }
    }
}

/// Everything the handlers share.
pub struct AppState {
    /// The checked configuration.
    pub cfg: Config,
    /// The database.
    pub store: Store,
    engine: RwLock<EngineHandle>,
    keys_json: String,
    wasm: Arc<[u8]>,
    component: ComponentSettings,
    /// Code delivery.
    pub deliverer: Deliverer,
    /// Metrics.
    pub metrics: Metrics,
    locks: Vec<tokio::sync::Mutex<()>>,
    records: Option<Mutex<HashMap<String, Arc<UserRecord>>>>,
    ap_cache: Mutex<HashMap<(String, String), ApCacheEntry>>,
    cache_key: Vec<u8>,
    pw_failures: password_throttle::FailureTable,
    pw_failures_by_address: password_throttle::FailureTable,
    /// Failed app passwords per client address (never per user: security item 5).
    ap_failures_by_address: password_throttle::FailureTable,
    /// The engine's throttle settings for those three tables.
    pw_window: mfa_host::FailureWindow,
    pw_address_window: mfa_host::FailureWindow,
    /// Codes sent over all users, per address and destination.
    pub(crate) send_guard: Mutex<mfa_core::SendGuard>,
    /// The threads that hash primary passwords (a bounded number at once).
    pub(crate) hashing: hash_pool::HashPool,
    pub(crate) admin_token: Option<String>,
    pub(crate) trusted: Vec<Cidr>,
    pub(crate) metrics_readers: Vec<Cidr>,
    revocations: revocations::FeedCache,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// What start-up produced besides the state: things to tell the person who started a demo.
#[derive(Debug, Default)]
pub struct StartInfo {
    /// The admin token, when it was generated for this run (demo).
    pub generated_admin_token: Option<String>,
    /// The demo user and password, when seeded.
    pub demo_user: Option<(String, String)>,
    /// The demo's admin user and password.
    pub demo_admin: Option<(String, String)>,
    /// Whether the key file was created now.
    pub keys_created: bool,
}

const POLICY_SETTING: &str = "policy";

fn audit_rows(events: &[AuditEvent]) -> Vec<AuditRow> {
    events
        .iter()
        .map(|e| AuditRow {
            at: i64::try_from(e.at).unwrap_or(i64::MAX),
            user_id: e.user_id.clone(),
            actor: e.actor.clone(),
            event: engine::audit_event_name(&e.kind).to_string(),
            method: e.method.map(|m| m.as_str().to_string()),
            detail: engine::audit_json(e).to_string(),
        })
        .collect()
}

fn hmac32(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut out = [0u8; 32];
    if let Ok(mut m) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        m.update(data);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

impl AppState {
    /// Start: keys, database, settings, delivery; in demo mode also the demo user.
    pub async fn start(cfg: Config) -> Result<(Arc<Self>, StartInfo), String> {
        let wasm_path = cfg.engine.component_path();
        let wasm: Arc<[u8]> = engine::read_component(&wasm_path)?.into();
        let (keys_json, cache_key, keys_created) = load_keys(&cfg, &wasm)?;
        let mut salt = [0u8; 16];
        keys::random_bytes(&mut salt);
        let send_guard = mfa_core::SendGuard::new(cfg.delivery.limits, salt)
            .map_err(|e| format!("[delivery.limits]: {e}"))?;
        let component = ComponentSettings {
            wasm: wasm_path,
            cache_dir: cfg.engine.cache_path(&cfg.keys.file),
            max_instances: cfg.engine.max_instances,
        };
        let store = Store::connect(&cfg.storage)
            .await
            .map_err(|e| e.to_string())?;
        let settings = match store
            .get_setting(POLICY_SETTING)
            .await
            .map_err(|e| e.to_string())?
        {
            Some(json) => serde_json::from_str::<PolicySettings>(&json)
                .map_err(|e| format!("stored service settings are unreadable: {e}"))?,
            None => cfg.policy.clone(),
        };
        let defaults = EngineHandle::new(&component, &wasm, None, &keys_json)
            .map_err(|e| format!("engine component {}: {e}", component.wasm.display()))?;
        let mut policy = defaults.policy().clone();
        drop(defaults);
        settings.apply(&mut policy);
        if let Some(site) = cfg.passkey_site() {
            site.apply(&mut policy.passkeys);
        }
        let engine = EngineHandle::new(&component, &wasm, Some(policy), &keys_json)
            .map_err(|e| format!("[policy] or key file refused by the engine: {e}"))?;
        tracing::info!(component = %component.wasm.display(), cache = %component.cache_dir.display(), "engine component loaded");
        // Failed passwords from one user, and from one address (primary and
        // app passwords): the engine's throttle, checked by the engine.
        let window = |max_failures: u32| mfa_host::FailureWindow {
            max_failures,
            window_secs: cfg.auth.password_lockout_secs,
            block_secs: cfg.auth.password_lockout_secs,
        };
        let pw_window = window(cfg.auth.max_password_failures);
        let pw_address_window = window(cfg.auth.max_password_failures_per_address);
        for (name, w) in [
            ("max_password_failures", pw_window),
            ("max_password_failures_per_address", pw_address_window),
        ] {
            engine
                .call(|h| h.check_failure_window(w))
                .map_err(|e| format!("[auth] {name} or password_lockout_secs: {e}"))?;
        }
        let deliverer = Deliverer::new(&cfg)?;
        let mut info = StartInfo {
            keys_created,
            ..StartInfo::default()
        };
        let admin_token = match (&cfg.admin.token, cfg.demo) {
            (Some(t), _) => Some(t.clone()),
            (None, true) => {
                let t = random_b64(24);
                info.generated_admin_token = Some(t.clone());
                Some(t)
            }
            (None, false) => None,
        };
        let cidrs = |list: &[String]| {
            list.iter()
                .map(|a| config::parse_cidr(a))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())
        };
        let trusted = cidrs(&cfg.auth.trusted_addresses)?;
        let metrics_readers = cidrs(&cfg.metrics.allowed_addresses)?;
        let hashing = hash_pool::HashPool::new(match cfg.auth.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        })
        .map_err(|e| format!("cannot start the password hashing threads: {e}"))?;
        // The engine checks the primary passwords' parameters (one check
        // without a stored hash: it also warms an instance's argon2 memory).
        engine
            .call(|h| h.check_password(None, "parameters check", cfg.auth.argon2.into()))
            .map_err(|e| format!("auth.argon2: {}", e.message()))?;
        let records = (cfg.storage.record_cache && store.kind() == "sqlite")
            .then(|| Mutex::new(HashMap::new()));
        let state = Arc::new(Self {
            store,
            engine: RwLock::new(engine),
            keys_json,
            wasm,
            component,
            deliverer,
            metrics: Metrics::default(),
            locks: (0..LOCK_SHARDS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            records,
            ap_cache: Mutex::new(HashMap::new()),
            cache_key,
            pw_failures: password_throttle::FailureTable::new(password_throttle::MAX_ENTRIES),
            pw_failures_by_address: password_throttle::FailureTable::new(
                password_throttle::MAX_ENTRIES,
            ),
            ap_failures_by_address: password_throttle::FailureTable::new(
                password_throttle::MAX_ENTRIES,
            ),
            pw_window,
            pw_address_window,
            send_guard: Mutex::new(send_guard),
            hashing,
            admin_token,
            trusted,
            metrics_readers,
            revocations: Default::default(),
            cfg,
        });
        if state.cfg.demo {
            let user = "demo@example.com".to_string();
            let password = "demo-password".to_string();
            state
                .seed_demo_user(&user, &password, MfaState::Enabled, false)
                .await?;
            info.demo_user = Some((user, password));
            let admin = "admin@example.com".to_string();
            let password = "admin-password".to_string();
            state
                .seed_demo_user(&admin, &password, MfaState::Enforced, true)
                .await?;
            info.demo_admin = Some((admin, password));
        }
        Ok((state, info))
    }

    /// A demo user with this password, MFA state and role, unless it exists.
    async fn seed_demo_user(
        &self,
        user: &str,
        password: &str,
        state: MfaState,
        admin: bool,
    ) -> Result<(), String> {
        let exists = self
            .store
            .get_user(user)
            .await
            .map_err(|e| e.to_string())?
            .is_some();
        if exists {
            return Ok(());
        }
        let hash = self
            .hash_new_password(password.to_string())
            .await
            .map_err(|e| e.message)?;
        let now = unix_now();
        self.store
            .insert_user(user, String::new(), 0, "disabled", Some(hash), now as i64)
            .await
            .map_err(|e| e.to_string())?;
        self.run_op(user, false, false, move |h, r, now| {
            h.set_mfa_state(r.as_record(), state, "demo-setup", now)
        })
        .await
        .map_err(|e| e.to_string())?;
        if admin {
            self.run_op(user, false, false, |h, r, now| {
                h.set_admin_role(r.as_record(), true, "demo-setup", now)
            })
            .await
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The engine in force (service settings may replace it).
    pub fn engine(&self) -> EngineHandle {
        match self.engine.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replace the service settings: validated by the engine, stored, then in force.
    pub async fn set_policy(&self, policy: Policy) -> Result<(), ApiError> {
        let (component, wasm, keys) = (
            self.component.clone(),
            self.wasm.clone(),
            self.keys_json.clone(),
        );
        let p = policy.clone();
        let engine = tokio::task::spawn_blocking(move || {
            EngineHandle::new(&component, &wasm, Some(p), &keys)
        })
        .await
        .map_err(|_| ApiError::internal("loading the engine stopped unexpectedly"))?
        .map_err(|e| match e {
            mfa_host::Error::Engine(e) => ApiError::invalid("invalid_policy", e.to_string()),
            other => ApiError::internal(format!("engine component: {other}")),
        })?;
        let json = serde_json::to_string(&PolicySettings::from_policy(&policy))
            .map_err(|e| ApiError::internal(format!("settings: {e}")))?;
        self.store
            .put_setting(POLICY_SETTING, json, unix_now() as i64)
            .await
            .map_err(|e| store_err(&e))?;
        match self.engine.write() {
            Ok(mut g) => *g = engine,
            Err(p) => *p.into_inner() = engine,
        }
        Ok(())
    }

    fn lock_for(&self, user: &str) -> &tokio::sync::Mutex<()> {
        let h = hmac32(&self.cache_key, user.as_bytes());
        let i = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]) as usize
            % LOCK_SHARDS;
        &self.locks[i]
    }

    fn cached(&self, user: &str) -> Option<Arc<UserRecord>> {
        self.records.as_ref()?.lock().ok()?.get(user).cloned()
    }

    fn remember(&self, user: &str, rec: Arc<UserRecord>) {
        if let Some(m) = &self.records
            && let Ok(mut g) = m.lock()
        {
            if g.len() >= RECORD_CACHE_MAX && !g.contains_key(user) {
                g.clear();
            }
            g.insert(user.to_string(), rec);
        }
    }

    fn forget(&self, user: &str) {
        if let Some(m) = &self.records
            && let Ok(mut g) = m.lock()
        {
            g.remove(user);
        }
    }

    /// Read a user's record (from memory when the SQLite cache is on).
    pub async fn load(&self, user: &str) -> Result<Option<Arc<UserRecord>>, ApiError> {
        if let Some(r) = self.cached(user) {
            return Ok(Some(r));
        }
        let row = self.store.get_user(user).await.map_err(|e| store_err(&e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let rec = self
            .engine()
            .record_from_stored(user, &row.record_json, unix_now())
            .map_err(|e| ApiError::from_engine(&e, unix_now()))?;
        let rec = Arc::new(rec);
        self.remember(user, rec.clone());
        Ok(Some(rec))
    }

    /// Read a user's record, creating an empty one when `create` is set.
    pub async fn load_or_create(
        &self,
        user: &str,
        create: bool,
    ) -> Result<Arc<UserRecord>, ApiError> {
        if let Some(r) = self.load(user).await? {
            return Ok(r);
        }
        if !create {
            return Err(ApiError::not_found(
                "unknown_user",
                format!("no user {user}"),
            ));
        }
        let now = unix_now();
        self.store
            .insert_user(
                user,
                String::new(),
                0,
                MfaState::Disabled.as_str(),
                None,
                now as i64,
            )
            .await
            .map_err(|e| store_err(&e))?;
        self.load(user)
            .await?
            .ok_or_else(|| ApiError::internal(format!("user {user} vanished after it was created")))
    }

    /// Run one engine operation on a user's record and store the result:
    /// serialised per user in this process, compare-and-swap on the revision
    /// against other processes (retried on a fresh record when it loses).
    /// `blocking`: the operation hashes with argon2id and runs off the async workers.
    pub async fn run_op<T, F>(
        &self,
        user: &str,
        create: bool,
        blocking: bool,
        op: F,
    ) -> Result<Done<T>, ApiError>
    where
        T: Send + 'static,
        F: Fn(
                &mfa_host::MfaHost,
                &UserRecord,
                u64,
            ) -> Result<mfa_host::Outcome<T>, mfa_host::Error>
            + Send
            + Sync
            + 'static,
    {
        let op = Arc::new(op);
        let _guard = self.lock_for(user).lock().await;
        for attempt in 0..MAX_CAS_ATTEMPTS {
            let before = self.load_or_create(user, create).await?;
            let now = unix_now();
            let engine = self.engine();
            let step = if blocking {
                let (op, before, engine) = (op.clone(), before.clone(), engine.clone());
                tokio::task::spawn_blocking(move || {
                    engine.step(&before, op(engine.host(), &before, now))
                })
                .await
                .map_err(|_| ApiError::internal("an engine operation stopped unexpectedly"))?
            } else {
                engine.step(&before, op(engine.host(), &before, now))
            };
            if step.saved.stored.is_none() && step.saved.events.is_empty() {
                return Ok(Done {
                    result: step.result,
                    record: before,
                    now,
                });
            }
            let after = match step.saved.stored {
                Some(bytes) => Some(Arc::new(
                    engine
                        .record_after(&before, bytes, step.saved.summary, now)
                        .map_err(|e| ApiError::from_engine(&e, now))?,
                )),
                None => None,
            };
            let update = after.as_ref().map(|r| RecordUpdate {
                json: r
                    .stored()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
                revision: r.revision() as i64,
                state: r.summary().state.as_str().to_string(),
                passkey_handle: r.summary().passkey_handle.clone(),
            });
            let commit = Commit {
                user_id: user.to_string(),
                expected_revision: before.revision() as i64,
                update,
                audit: audit_rows(&step.saved.events),
                now: now as i64,
            };
            match self.store.commit(commit).await {
                Ok(true) => {
                    for e in &step.saved.events {
                        match &e.kind {
                            mfa_host::AuditKind::Locked(l) => {
                                self.metrics.lockout(l.factor.as_str())
                            }
                            mfa_host::AuditKind::SessionsRevoked(_) => self.forget_revocations(),
                            _ => {}
                        }
                    }
                    let record = after.unwrap_or(before);
                    self.remember(user, record.clone());
                    return Ok(Done {
                        result: step.result,
                        record,
                        now,
                    });
                }
                Ok(false) => {
                    self.metrics.conflict();
                    self.forget(user);
                    tracing::debug!(
                        attempt,
                        "record changed concurrently; retrying on the fresh record"
                    );
                    tokio::time::sleep(Duration::from_millis(1 + (attempt as u64 % 8))).await;
                }
                Err(e) => {
                    self.forget(user);
                    return Err(store_err(&e));
                }
            }
        }
        Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "busy",
            "the account is being changed by many requests at once; try again",
        ))
    }

    // ----- primary password throttling ---------------------------------

    /// Seconds to wait before another password attempt for `user` from
    /// `address`, if either is blocked.
    pub fn password_wait(&self, user: &str, address: &str, now: u64) -> Option<u64> {
        let engine = self.engine();
        let e = FailClosed(engine.host());
        let u = e.retry_after(self.pw_failures.count(user), now);
        let a = e.retry_after(self.pw_failures_by_address.count(address), now);
        u.max(a)
    }

    /// Count a failed password for `user` from `address`.
    pub fn password_failed(&self, user: &str, address: &str, now: u64) {
        let engine = self.engine();
        let e = FailClosed(engine.host());
        self.pw_failures
            .fail(user, now, |c| e.failed(c, self.pw_window, now));
        self.pw_failures_by_address
            .fail(address, now, |c| e.failed(c, self.pw_address_window, now));
    }

    /// Forget a user's failures after a correct password (or an admin's unlock).
    pub fn password_ok(&self, user: &str) {
        self.pw_failures.forget(user);
    }

    /// Seconds the client `address` must wait before its next app password.
    pub fn app_password_wait(&self, address: &str, now: u64) -> Option<u64> {
        FailClosed(self.engine().host())
            .retry_after(self.ap_failures_by_address.count(address), now)
    }

    /// Count a refused app password from `address`, when the engine says the
    /// refusal is a guess.
    pub fn app_password_refused(&self, address: &str, refusal: &EngineError, now: u64) {
        let engine = self.engine();
        let e = FailClosed(engine.host());
        if e.counts_against_address(refusal) {
            self.ap_failures_by_address
                .fail(address, now, |c| e.failed(c, self.pw_address_window, now));
        }
    }

    // ----- app-password cache ------------------------------------------

    fn ap_digest(&self, user: &str, canonical: &str) -> [u8; 32] {
        let mut data = Vec::with_capacity(user.len() + canonical.len() + 1);
        data.extend_from_slice(user.as_bytes());
        data.push(0);
        data.extend_from_slice(canonical.as_bytes());
        hmac32(&self.cache_key, &data)
    }

    /// Remember a successful check (hash = the stored PHC it matched).
    pub fn ap_cache_put(
        &self,
        presented: &mfa_host::Presented,
        scope: Option<&str>,
        hash: String,
        now: u64,
    ) {
        if self.cfg.gateway.cache_secs == 0 {
            return;
        }
        let entry = ApCacheEntry {
            digest: self.ap_digest(&presented.user, presented.canonical.expose()),
            hash,
            scope: scope.map(str::to_string),
            at: now,
        };
        if let Ok(mut g) = self.ap_cache.lock() {
            if g.len() >= self.cfg.gateway.cache_entries {
                g.clear();
            }
            g.insert((presented.user.clone(), presented.id.clone()), entry);
        }
    }

    /// Whether this exact password was verified for this scope against this
    /// stored hash recently enough that the engine's rule
    /// (`gateway.cache-until`: the cache's lifetime, the password's expiry,
    /// and "last used" still current) lets the answer stand without argon2.
    pub fn ap_cache_hit(
        &self,
        presented: &mfa_host::Presented,
        scope: Option<&str>,
        credential: &mfa_host::AppPasswordCredential,
        last_used_at: Option<u64>,
        now: u64,
    ) -> bool {
        if self.cfg.gateway.cache_secs == 0 {
            return false;
        }
        let key = (presented.user.clone(), presented.id.clone());
        let Some((at, matches)) = self.ap_cache.lock().ok().and_then(|g| {
            g.get(&key).map(|e| {
                use subtle::ConstantTimeEq;
                let same = e.scope.as_deref() == scope
                    && e.hash == credential.hash
                    && bool::from(
                        e.digest
                            .ct_eq(&self.ap_digest(&presented.user, presented.canonical.expose())),
                    );
                (e.at, same)
            })
        }) else {
            return false;
        };
        matches
            && FailClosed(self.engine().host())
                .cache_until(
                    at,
                    self.cfg.gateway.cache_secs,
                    credential.expires_at,
                    last_used_at,
                )
                .is_some_and(|until| now < until)
    }

    /// Drop every remembered check of a user (after deletions).
    pub fn ap_cache_forget_user(&self, user: &str) {
        if let Ok(mut g) = self.ap_cache.lock() {
            g.retain(|(u, _), _| u != user);
        }
    }

    /// Time an argon2 operation into the metrics.
    pub fn time_argon2(&self, op: &'static str, started: Instant) {
        self.metrics.argon2(op, started.elapsed());
    }
}

/// A storage error as an API answer (503: the database is the problem, not the request).
pub fn store_err(e: &store::StoreError) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::unavailable(
        "storage_unavailable",
        "the database is not available; try again shortly",
    )
}

/// Listen and serve until Ctrl-C or SIGTERM.
pub async fn serve(state: Arc<AppState>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = api::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
