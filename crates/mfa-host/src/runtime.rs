//! wasmtime set-up: one engine with the pooling allocator and epoch
//! interruption, the component pre-linked once (`InstancePre`), and a pool of
//! ready instances, each with its `engine` resource already created.
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use wasmtime::component::{Linker, ResourceAny, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{Component as Bindings, ComponentPre};
use crate::cache::{self, CacheStatus};
use crate::{Error, bindings};

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const TICK: Duration = Duration::from_millis(5);

/// Memory and table limits of one instance; remembers a refused growth so that
/// the trap that follows is reported as a memory limit.
pub(crate) struct Limits {
    max_memory: usize,
    refused_growth: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_memory && maximum.is_none_or(|m| desired <= m);
        if !allowed {
            self.refused_growth = true;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.refused_growth = true;
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= 100_000 && maximum.is_none_or(|m| desired <= m);
        if !allowed {
            self.refused_growth = true;
        }
        Ok(allowed)
    }
}

/// What each store holds: WASI (randomness for the guest) and the limits.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One ready instance.
pub(crate) struct Slot {
    pub(crate) store: Store<StoreState>,
    pub(crate) api: Bindings,
    pub(crate) engine: ResourceAny,
}

/// Settings of the runtime (see [`crate::MfaHostBuilder`]).
pub(crate) struct Settings {
    pub(crate) cache_dir: Option<PathBuf>,
    pub(crate) max_instances: u32,
    pub(crate) memory_limit: usize,
    pub(crate) call_timeout: Duration,
    pub(crate) pooling: bool,
    pub(crate) reset_in_place: bool,
}

struct Pool {
    idle: Vec<Slot>,
    live: u32,
}

/// Everything shared by the clones of an `MfaHost`.
pub(crate) struct Runtime {
    engine: Engine,
    pre: ComponentPre<StoreState>,
    config: bindings::exports::mfa::engine::engine::Config,
    settings: Settings,
    pool: Mutex<Pool>,
    freed: Condvar,
    pub(crate) cache_status: CacheStatus,
    /// Calls into the component so far (each on one pooled instance).
    calls: std::sync::atomic::AtomicU64,
    /// Dropping this stops the epoch thread.
    _ticker: mpsc::Sender<()>,
}

/// Bytes of each linear memory reset in place when its slot is reused.
const KEEP_RESIDENT_MEMORY: usize = 2 << 20;
/// Bytes of each table reset in place when its slot is reused.
const KEEP_RESIDENT_TABLE: usize = 64 << 10;

fn wasmtime_config(settings: &Settings) -> Config {
    let mut pooling = PoolingAllocationConfig::new();
    let n = settings.max_instances;
    pooling
        .total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        .total_stacks(n)
        .max_memories_per_component(2)
        .max_tables_per_component(4)
        .max_core_instance_size(1 << 20)
        .max_component_instance_size(1 << 20)
        .max_memory_size(settings.memory_limit);
    if settings.reset_in_place {
        // A slot given back is zeroed in place up to these sizes instead of
        // with `madvise` (the pages stay resident: no syscall and no page
        // faults for the next instance; the memory is still reset, so
        // nothing of one instance is visible to the next). Where the kernel
        // has PAGEMAP_SCAN (Linux 6.7+), only the pages the instance wrote are reset.
        pooling
            .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
            .table_keep_resident(KEEP_RESIDENT_TABLE)
            .pagemap_scan(Enabled::Auto);
    }
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed);
    if settings.pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    }
    config
}

/// A stand-in replaced before any instance is created (the real default comes
/// from the component itself, so that it is defined in one place).
fn placeholder_policy() -> crate::Policy {
    use crate::{Algorithm, Argon2Params, TotpParams};
    crate::Policy {
        issuer: String::new(),
        audience: String::new(),
        allowed_methods: Vec::new(),
        app_passwords_allowed: false,
        max_app_passwords: 0,
        remember_device_days: 0,
        session_lifetime_secs: 0,
        totp: TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 0,
            period: 0,
        },
        totp_window: 0,
        hotp_look_ahead: 0,
        hotp_resync_window: 0,
        allow_short_secrets: false,
        code_digits: 0,
        code_lifetime_secs: 0,
        code_attempts: 0,
        registration_lifetime_secs: 0,
        recovery_code_count: 0,
        free_failures: 0,
        backoff_base_secs: 0,
        backoff_max_secs: 0,
        lockout_threshold: 0,
        lockout_secs: 0,
        argon2: Argon2Params {
            m_kib: 0,
            t: 0,
            p: 0,
        },
        organisation_domains: Vec::new(),
        send_gap_secs: 0,
        sends_per_hour: 0,
        sends_per_day: 0,
        phone_country_codes: Vec::new(),
        failure_cap: 0,
        reauth_window_secs: 0,
        passkeys: crate::PasskeyPolicy {
            rp_id: String::new(),
            rp_name: String::new(),
            origins: Vec::new(),
            require_user_verification: false,
            allowed_aaguids: Vec::new(),
            accept_sign_count_regression: false,
            max_per_user: 0,
        },
    }
}

fn lock(pool: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    // A poisoned pool only means another thread panicked while holding the
    // lock; the pool itself (a list and a count) is still consistent.
    pool.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runtime {
    pub(crate) fn new(
        wasm: &[u8],
        policy: Option<crate::Policy>,
        keys: &str,
        settings: Settings,
    ) -> Result<Arc<Self>, Error> {
        if settings.max_instances == 0 {
            return Err(Error::Config {
                reason: "max_instances must be at least 1".into(),
            });
        }
        if settings.memory_limit < (2 << 20) {
            return Err(Error::Config {
                reason: "memory_limit must be at least 2 MiB".into(),
            });
        }
        let engine = Engine::new(&wasmtime_config(&settings)).map_err(|e| Error::Config {
            reason: format!("wasmtime refused the configuration: {e:#}"),
        })?;
        let (component, cache_status) = cache::load(&engine, wasm, settings.cache_dir.as_deref())?;
        let mut linker: Linker<StoreState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| Error::Load {
            reason: format!("cannot link WASI: {e:#}"),
        })?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Load {
                reason: format!("the component does not fit this host: {e:#}"),
            })?;
        let pre = ComponentPre::new(instance_pre).map_err(|e| Error::Load {
            reason: format!("the component does not export mfa:engine/component@0.1.0: {e:#}"),
        })?;
        let (tx, rx) = mpsc::channel::<()>();
        let ticking = engine.clone();
        thread::Builder::new()
            .name("mfa-host-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(TICK) {
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| Error::Config {
                reason: format!("cannot start the deadline thread: {e}"),
            })?;
        let mut runtime = Self {
            engine,
            pre,
            config: bindings::exports::mfa::engine::engine::Config {
                policy: placeholder_policy(),
                keys: keys.to_string(),
            },
            settings,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                live: 0,
            }),
            freed: Condvar::new(),
            cache_status,
            calls: std::sync::atomic::AtomicU64::new(0),
            _ticker: tx,
        };
        let policy = match policy {
            Some(p) => p,
            None => runtime.default_policy()?,
        };
        runtime.config.policy = policy;
        // Create the first instance now: a bad policy or key file fails here, at start-up.
        let slot = runtime.new_slot()?;
        let runtime = Arc::new(runtime);
        {
            let mut pool = lock(&runtime.pool);
            pool.live = 1;
            pool.idle.push(slot);
        }
        Ok(runtime)
    }

    fn new_store(&self) -> Store<StoreState> {
        let state = StoreState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: Limits {
                max_memory: self.settings.memory_limit,
                refused_growth: false,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.deadline_ticks());
        store
    }

    fn deadline_ticks(&self) -> u64 {
        let ticks = self.settings.call_timeout.as_nanos() / TICK.as_nanos();
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1) + 1
    }

    /// The component's default policy, from a throw-away instance.
    fn default_policy(&self) -> Result<crate::Policy, Error> {
        let mut store = self.new_store();
        let api = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(&store, e))?;
        api.mfa_engine_engine()
            .engine()
            .call_default_policy(&mut store)
            .map_err(|e| self.classify(&store, e))
    }

    fn new_slot(&self) -> Result<Slot, Error> {
        let mut store = self.new_store();
        let api = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.classify(&store, e))?;
        let engine = api
            .mfa_engine_engine()
            .engine()
            .call_create(&mut store, &self.config)
            .map_err(|e| self.classify(&store, e))?
            .map_err(Error::from)?;
        Ok(Slot { store, api, engine })
    }

    /// A fresh store and instance from the `InstancePre`, dropped at once
    /// (for measuring instantiation).
    pub(crate) fn instantiate_fresh(&self, with_engine: bool) -> Result<(), Error> {
        if with_engine {
            self.new_slot().map(drop)
        } else {
            let mut store = self.new_store();
            self.pre
                .instantiate(&mut store)
                .map_err(|e| self.classify(&store, e))?;
            Ok(())
        }
    }

    /// Turn a wasmtime error into a typed one.
    fn classify(&self, store: &Store<StoreState>, e: wasmtime::Error) -> Error {
        if store.data().limits.refused_growth {
            return Error::MemoryLimit {
                limit_bytes: self.settings.memory_limit,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Error::Timeout {
                limit: self.settings.call_timeout,
            },
            Some(trap) => Error::Trap {
                message: trap.to_string(),
            },
            None => Error::Trap {
                message: format!("{e:#}"),
            },
        }
    }

    fn acquire(&self) -> Result<Slot, Error> {
        let mut pool = lock(&self.pool);
        loop {
            if let Some(slot) = pool.idle.pop() {
                return Ok(slot);
            }
            if pool.live < self.settings.max_instances {
                pool.live += 1;
                drop(pool);
                return self.new_slot().inspect_err(|_| self.forget_slot());
            }
            pool = self.freed.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn release(&self, slot: Slot) {
        lock(&self.pool).idle.push(slot);
        self.freed.notify_one();
    }

    fn forget_slot(&self) {
        let mut pool = lock(&self.pool);
        pool.live = pool.live.saturating_sub(1);
        drop(pool);
        self.freed.notify_one();
    }

    /// Run one call on a pooled instance, under the deadline and the memory
    /// limit. An instance that trapped is dropped, never reused.
    pub(crate) fn call<T>(
        &self,
        f: impl FnOnce(&mut Slot) -> wasmtime::Result<T>,
    ) -> Result<T, Error> {
        let mut slot = self.acquire()?;
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        slot.store.set_epoch_deadline(self.deadline_ticks());
        match f(&mut slot) {
            Ok(v) => {
                self.release(slot);
                Ok(v)
            }
            Err(e) => {
                let err = self.classify(&slot.store, e);
                drop(slot);
                self.forget_slot();
                Err(err)
            }
        }
    }

    pub(crate) fn policy(&self) -> &crate::Policy {
        &self.config.policy
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn idle_instances(&self) -> usize {
        lock(&self.pool).idle.len()
    }
}

/// One call on a fresh, unpooled instance of `wasm` (for key-file tools).
fn one_shot<T>(
    wasm: &[u8],
    f: impl FnOnce(&mut Store<StoreState>, &Bindings) -> wasmtime::Result<T>,
) -> Result<T, Error> {
    let settings = Settings {
        cache_dir: None,
        max_instances: 1,
        memory_limit: 64 << 20,
        call_timeout: Duration::from_secs(10),
        pooling: false,
        reset_in_place: false,
    };
    let engine = Engine::new(&wasmtime_config(&settings)).map_err(|e| Error::Config {
        reason: format!("wasmtime refused the configuration: {e:#}"),
    })?;
    let (component, _) = cache::load(&engine, wasm, None)?;
    let mut linker: Linker<StoreState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| Error::Load {
        reason: format!("cannot link WASI: {e:#}"),
    })?;
    let state = StoreState {
        wasi: WasiCtx::builder().build(),
        table: ResourceTable::new(),
        limits: Limits {
            max_memory: settings.memory_limit,
            refused_growth: false,
        },
    };
    let mut store = Store::new(&engine, state);
    store.limiter(|s| &mut s.limits);
    // No epoch thread here: the deadline is never reached for this one call.
    store.set_epoch_deadline(u64::MAX);
    let api = Bindings::instantiate(&mut store, &component, &linker).map_err(|e| Error::Load {
        reason: format!("the component does not fit this host: {e:#}"),
    })?;
    f(&mut store, &api).map_err(|e| Error::Trap {
        message: format!("{e:#}"),
    })
}

/// A new key file from the component (see [`crate::generate_key_file`]).
pub(crate) fn generate_key_file(wasm: &[u8]) -> Result<String, Error> {
    one_shot(wasm, |store, api| {
        api.mfa_engine_engine().engine().call_generate_keys(store)
    })
}

/// A key file with a new active key of `kind` (see [`crate::rotate_key`]).
pub(crate) fn rotate_key(
    wasm: &[u8],
    keys: &str,
    kind: crate::KeyKind,
) -> Result<(String, String), Error> {
    let r = one_shot(wasm, |store, api| {
        api.mfa_engine_engine()
            .engine()
            .call_rotate_key(store, keys, kind)
    })?;
    r.map(|k| (k.keys, k.kid)).map_err(Error::from)
}

/// A key file without a retired signing key (see [`crate::retire_signing_key`]).
pub(crate) fn retire_signing_key(wasm: &[u8], keys: &str, kid: &str) -> Result<String, Error> {
    let r = one_shot(wasm, |store, api| {
        api.mfa_engine_engine()
            .engine()
            .call_retire_signing_key(store, keys, kid)
    })?;
    r.map_err(Error::from)
}
