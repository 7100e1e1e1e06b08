//! [`MfaHost`]: the typed API, one method per function of the contract.
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::Component as Bindings;
use crate::bindings::exports::mfa::engine::types as w;
use crate::runtime::{Runtime, Settings, Slot, StoreState};
use crate::*;

/// Largest stored record accepted (the engine's own limit).
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Largest text argument accepted (codes, names, tokens, URIs, JWKS documents).
pub const MAX_TEXT_BYTES: usize = 64 << 10;
/// Most items accepted in a list argument.
pub const MAX_LIST_ITEMS: usize = 1024;

/// Builds an [`MfaHost`].
#[derive(Clone)]
pub struct MfaHostBuilder {
    wasm: Option<WasmSource>,
    keys: Option<String>,
    policy: Option<Policy>,
    cache_dir: Option<PathBuf>,
    max_instances: Option<u32>,
    memory_limit: usize,
    call_timeout: Duration,
    pooling: bool,
    reset_in_place: bool,
}

#[derive(Clone)]
enum WasmSource {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

impl std::fmt::Debug for MfaHostBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaHostBuilder")
            .field("keys", &self.keys.as_ref().map(|_| "redacted"))
            .field("policy", &self.policy)
            .field("cache_dir", &self.cache_dir)
            .field("max_instances", &self.max_instances)
            .field("memory_limit", &self.memory_limit)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

impl MfaHostBuilder {
    /// Load the component from this `.wasm` file.
    pub fn component_file(mut self, path: impl AsRef<Path>) -> Self {
        self.wasm = Some(WasmSource::File(path.as_ref().to_path_buf()));
        self
    }

    /// Use these component bytes.
    pub fn component_bytes(mut self, wasm: impl Into<Vec<u8>>) -> Self {
        self.wasm = Some(WasmSource::Bytes(wasm.into().into()));
        self
    }

    /// The key file (JSON, as written by the admin tool). Required. Secret.
    pub fn keys(mut self, key_file: impl Into<String>) -> Self {
        self.keys = Some(key_file.into());
        self
    }

    /// The policy. Default: the engine's default policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Cache the compiled component in this directory (created if missing;
    /// it must be writable only by the service's user). Default: no cache.
    pub fn cache_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cache_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Most instances alive at once, i.e. most concurrent calls; further calls
    /// wait for a free instance. Default: twice the available parallelism, at least 4.
    pub fn max_instances(mut self, n: u32) -> Self {
        self.max_instances = Some(n);
        self
    }

    /// Memory limit of one instance in bytes. Default 128 MiB (argon2id with the
    /// default parameters needs 19 MiB).
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Deadline of one call. Default 5 s.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Use wasmtime's pooling allocator (default `true`): instances come from
    /// pre-reserved slots, which makes creating one several times cheaper.
    /// `false` uses the on-demand allocator.
    pub fn pooling_allocator(mut self, on: bool) -> Self {
        self.pooling = on;
        self
    }

    /// With the pooling allocator, reset a slot's memory in place when an
    /// instance is replaced (default `true`): only the pages it wrote are
    /// zeroed (Linux 6.7+ `PAGEMAP_SCAN`; up to 2 MiB of each memory by
    /// `memset` elsewhere) and stay resident, so the next instance is made
    /// without page faults. `false` gives the pages back to the kernel
    /// (`madvise`), so idle slots hold no memory. Either way nothing of one
    /// instance is visible to the next.
    pub fn reset_memory_in_place(mut self, on: bool) -> Self {
        self.reset_in_place = on;
        self
    }

    /// Load, compile (or load from the cache) and create the first instance;
    /// a bad component, policy or key file is refused here.
    pub fn build(self) -> Result<MfaHost, Error> {
        let keys = self.keys.ok_or_else(|| Error::Config {
            reason: "no key file: call .keys(...) with the engine's key file".into(),
        })?;
        let wasm: Arc<[u8]> = match self.wasm {
            None => {
                return Err(Error::Config {
                    reason: "no component: call .component_file(...) or .component_bytes(...)"
                        .into(),
                });
            }
            Some(WasmSource::Bytes(b)) => b,
            Some(WasmSource::File(path)) => std::fs::read(&path)
                .map_err(|e| Error::Load {
                    reason: format!("cannot read {}: {e}", path.display()),
                })?
                .into(),
        };
        let max_instances = self.max_instances.unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
            u32::try_from(cpus * 2).unwrap_or(u32::MAX).max(4)
        });
        if self.call_timeout.is_zero() {
            return Err(Error::Config {
                reason: "call_timeout must be more than zero".into(),
            });
        }
        let settings = Settings {
            cache_dir: self.cache_dir,
            max_instances,
            memory_limit: self.memory_limit,
            call_timeout: self.call_timeout,
            pooling: self.pooling,
            reset_in_place: self.reset_in_place,
        };
        let rt = Runtime::new(&wasm, self.policy, &keys, settings)?;
        Ok(MfaHost { rt })
    }
}

/// The engine component, ready to serve calls from any thread. Clones share
/// the same instances.
#[derive(Clone)]
pub struct MfaHost {
    pub(crate) rt: Arc<Runtime>,
}

impl std::fmt::Debug for MfaHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaHost")
            .field("cache", &self.rt.cache_status)
            .field("max_instances", &self.rt.settings().max_instances)
            .field("memory_limit", &self.rt.settings().memory_limit)
            .field("call_timeout", &self.rt.settings().call_timeout)
            .finish_non_exhaustive()
    }
}

pub(crate) fn text(what: &'static str, s: &str) -> Result<(), Error> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(Error::InputTooLarge {
            what,
            max: MAX_TEXT_BYTES,
        });
    }
    Ok(())
}

pub(crate) fn list<T>(what: &'static str, items: &[T]) -> Result<(), Error> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(Error::InputTooLarge {
            what,
            max: MAX_LIST_ITEMS,
        });
    }
    Ok(())
}

pub(crate) fn texts(what: &'static str, items: &[String]) -> Result<(), Error> {
    list(what, items)?;
    items.iter().try_for_each(|s| text(what, s))
}

pub(crate) type Op<'a, W> = dyn FnOnce(
        &mut Store<StoreState>,
        &Bindings,
        ResourceAny,
        ResourceAny,
    ) -> wasmtime::Result<Result<W, w::Error>>
    + 'a;

impl MfaHost {
    /// A builder with the defaults.
    pub fn builder() -> MfaHostBuilder {
        MfaHostBuilder {
            wasm: None,
            keys: None,
            policy: None,
            cache_dir: None,
            max_instances: None,
            memory_limit: 128 << 20,
            call_timeout: Duration::from_secs(5),
            pooling: true,
            reset_in_place: true,
        }
    }

    /// Whether the compiled component came from the cache.
    pub fn cache_status(&self) -> CacheStatus {
        self.rt.cache_status
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        self.rt.policy()
    }

    /// Calls made into the component so far, each on one instance (for
    /// metrics: one user action should be one call).
    pub fn calls(&self) -> u64 {
        self.rt.calls()
    }

    /// Instances ready in the pool (for metrics).
    pub fn idle_instances(&self) -> usize {
        self.rt.idle_instances()
    }

    /// Create a fresh store and instance from the pre-linked component and
    /// drop them, with the `engine` resource too when `with_engine` (for
    /// measuring instantiation; calls reuse pooled instances instead).
    pub fn instantiate_fresh(&self, with_engine: bool) -> Result<(), Error> {
        self.rt.instantiate_fresh(with_engine)
    }

    /// One operation on a record: open (or create) it, run `op`, save, drop.
    pub(crate) fn with_record<W, T>(
        &self,
        record: Record<'_>,
        summary_at: Option<UnixTime>,
        op: Box<Op<'_, W>>,
        map: impl FnOnce(W) -> T,
    ) -> Result<Outcome<T>, Error> {
        match record {
            Record::Stored(b) if b.len() > MAX_RECORD_BYTES => {
                return Err(Error::InputTooLarge {
                    what: "stored record",
                    max: MAX_RECORD_BYTES,
                });
            }
            Record::New { user_id, .. } => text("user id", user_id)?,
            Record::Stored(_) => {}
        }
        let (result, saved, summary) = self.rt.call(|slot: &mut Slot| {
            let Slot { store, api, engine } = slot;
            let records = api.mfa_engine_engine().user_record();
            let opened = match record {
                Record::New { user_id, now } => records.call_create(&mut *store, user_id, now)?,
                Record::Stored(bytes) => records.call_open(&mut *store, bytes)?,
            };
            let user = match opened {
                Ok(user) => user,
                Err(e) => return Ok(Err(e)),
            };
            let result = op(store, api, *engine, user)?;
            let saved = records.call_save(&mut *store, user)?;
            let summary = match summary_at {
                Some(now) if saved.stored.is_some() => {
                    Some(records.call_summary(&mut *store, user, now)?)
                }
                _ => None,
            };
            user.resource_drop(&mut *store)?;
            Ok(Ok((result, saved, summary)))
        })??;
        let mut saved: Saved = saved.into();
        saved.summary = summary;
        Ok(Outcome {
            result: result.map(map).map_err(EngineError::from),
            saved,
        })
    }

    /// A call that needs neither record nor engine resource.
    pub(crate) fn plain<W, T>(
        &self,
        f: impl FnOnce(&mut Store<StoreState>, &Bindings) -> wasmtime::Result<Result<W, w::Error>>,
        map: impl FnOnce(W) -> T,
    ) -> Result<T, Error> {
        let r = self.rt.call(|slot| f(&mut slot.store, &slot.api))?;
        r.map(map).map_err(Error::from)
    }

    // ----- engine ---------------------------------------------------------

    /// The public signing keys (publish them with [`jwks_json`]).
    pub fn jwks(&self) -> Result<Vec<Jwk>, Error> {
        self.rt.call(|slot| {
            slot.api
                .mfa_engine_engine()
                .engine()
                .call_jwks(&mut slot.store, slot.engine)
        })
    }

    /// The record as a host or admin page shows it.
    pub fn summary(&self, record: Record<'_>, now: UnixTime) -> Result<RecordSummary, Error> {
        let out = self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, _, user| {
                api.mfa_engine_engine()
                    .user_record()
                    .call_summary(store, user, now)
                    .map(Ok)
            }),
            |s| s,
        )?;
        out.result.map_err(Error::Engine)
    }

    // ----- enrolment ------------------------------------------------------

    /// What the sign-in must do next. Does not change the record.
    pub fn enrollment_check(&self, record: Record<'_>, now: UnixTime) -> Result<NextStep, Error> {
        let out = self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_enrollment_check(store, engine, user, now)
                    .map(Ok)
            }),
            |n| n,
        )?;
        out.result.map_err(Error::Engine)
    }

    /// Start registering an authenticator app; `account` defaults to the user id.
    pub fn begin_authenticator(
        &self,
        record: Record<'_>,
        account: Option<&str>,
        now: UnixTime,
    ) -> Result<Outcome<AuthenticatorSetup>, Error> {
        text("account", account.unwrap_or_default())?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_begin_authenticator(store, engine, user, account, now)
            }),
            AuthenticatorSetup::from,
        )
    }

    /// Start registering an existing generator from its otpauth URI.
    pub fn begin_import(
        &self,
        record: Record<'_>,
        uri: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("otpauth URI", uri)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_begin_import(store, engine, user, uri, now)
            }),
            |()| (),
        )
    }

    /// Start registering an authentication phone; deliver the returned code.
    pub fn begin_phone(
        &self,
        record: Record<'_>,
        phone: &PhoneNumber,
        channel: PhoneChannel,
        now: UnixTime,
    ) -> Result<Outcome<Delivery>, Error> {
        text("country code", &phone.country_code)?;
        text("phone number", &phone.national)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_begin_phone(store, engine, user, phone, channel, now)
            }),
            Delivery::from,
        )
    }

    /// Change the authentication phone `replaces` to another number or
    /// channel; deliver the returned code. The old phone is removed when
    /// the new one is confirmed.
    pub fn change_phone(
        &self,
        record: Record<'_>,
        replaces: u32,
        phone: &PhoneNumber,
        channel: PhoneChannel,
        now: UnixTime,
    ) -> Result<Outcome<Delivery>, Error> {
        text("country code", &phone.country_code)?;
        text("phone number", &phone.national)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_change_phone(store, engine, user, replaces, phone, channel, now)
            }),
            Delivery::from,
        )
    }

    /// Start registering an authentication e-mail address; deliver the returned code.
    pub fn begin_email(
        &self,
        record: Record<'_>,
        address: &str,
        now: UnixTime,
    ) -> Result<Outcome<Delivery>, Error> {
        text("e-mail address", address)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_begin_email(store, engine, user, address, now)
            }),
            Delivery::from,
        )
    }

    /// Start registering a passkey or security key: the options for
    /// `navigator.credentials.create`. Authorise the caller first
    /// ([`Action::AddMethod`](crate::Action)); the browser's answer goes to
    /// [`MfaHost::finish_passkey_registration`].
    pub fn begin_passkey(
        &self,
        record: Record<'_>,
        now: UnixTime,
    ) -> Result<Outcome<PasskeyOptions>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_begin_passkey(store, engine, user, now)
            }),
            |o| o,
        )
    }

    /// Send the registration code again.
    pub fn resend_registration_code(
        &self,
        record: Record<'_>,
        now: UnixTime,
    ) -> Result<Outcome<Delivery>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_resend_registration_code(store, engine, user, now)
            }),
            Delivery::from,
        )
    }

    /// Prove the registration in progress with a code.
    pub fn confirm_registration(
        &self,
        record: Record<'_>,
        code: &str,
        now: UnixTime,
    ) -> Result<Outcome<Confirmed>, Error> {
        text("code", code)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_confirm_registration(store, engine, user, code, now)
            }),
            Confirmed::from,
        )
    }

    /// Choose the default method.
    pub fn set_default_method(
        &self,
        record: Record<'_>,
        id: u32,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_set_default_method(store, engine, user, id, now)
            }),
            |()| (),
        )
    }

    /// Remove a method.
    pub fn remove_method(
        &self,
        record: Record<'_>,
        id: u32,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_enrolment()
                    .call_remove_method(store, engine, user, id, now)
            }),
            |()| (),
        )
    }

    // ----- verification ---------------------------------------------------

    /// Send a sign-in code to a phone or e-mail method (the default when `None`).
    pub fn send_code(
        &self,
        record: Record<'_>,
        method: Option<u32>,
        now: UnixTime,
    ) -> Result<Outcome<Delivery>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_verification()
                    .call_send_code(store, engine, user, method, now)
            }),
            Delivery::from,
        )
    }

    /// Verify a code from a registered method (the default when `None`).
    pub fn verify(
        &self,
        record: Record<'_>,
        method: Option<u32>,
        code: &str,
        now: UnixTime,
    ) -> Result<Outcome<Verified>, Error> {
        text("code", code)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_verification()
                    .call_verify(store, engine, user, method, code, now)
            }),
            |v| v,
        )
    }

    /// Use a recovery code as the second factor.
    pub fn verify_recovery_code(
        &self,
        record: Record<'_>,
        code: &str,
        now: UnixTime,
    ) -> Result<Outcome<Verified>, Error> {
        text("recovery code", code)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_verification()
                    .call_verify_recovery_code(store, engine, user, code, now)
            }),
            |v| v,
        )
    }

    /// Issue a new set of recovery codes.
    pub fn regenerate_recovery_codes(
        &self,
        record: Record<'_>,
        now: UnixTime,
    ) -> Result<Outcome<RecoveryCodes>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_verification()
                    .call_regenerate_recovery_codes(store, engine, user, now)
            }),
            RecoveryCodes::from,
        )
    }

    /// Resynchronise a HOTP method from two consecutive codes.
    pub fn resync_hotp(
        &self,
        record: Record<'_>,
        id: u32,
        first: &str,
        second: &str,
        now: UnixTime,
    ) -> Result<Outcome<OtpMatch>, Error> {
        text("code", first)?;
        text("code", second)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_verification()
                    .call_resync_hotp(store, engine, user, id, first, second, now)
            }),
            |m| m,
        )
    }
}
