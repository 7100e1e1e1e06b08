//! The exported sign-in flow: translates the WIT types and calls
//! `mfa_core::Engine`'s flow. Nothing here decides.
use mfa_core as core;

use crate::Component;
use crate::bindings::exports::mfa::engine::engine as wengine;
use crate::bindings::exports::mfa::engine::sign_in as ws;
use crate::bindings::exports::mfa::engine::types as w;
use crate::convert::{confirmed_out, next_step_out, passkey_options_out, res, verified_out};
use crate::exports_impl::{EngineRes, WasiRandom, with};

fn first_in(f: ws::FirstFactor) -> core::FirstFactor {
    match f {
        ws::FirstFactor::Password => core::FirstFactor::Password,
        ws::FirstFactor::External => core::FirstFactor::External,
        ws::FirstFactor::Passkey => core::FirstFactor::Passkey,
    }
}

fn first_out(f: core::FirstFactor) -> ws::FirstFactor {
    match f {
        core::FirstFactor::Password => ws::FirstFactor::Password,
        core::FirstFactor::External => ws::FirstFactor::External,
        core::FirstFactor::Passkey => ws::FirstFactor::Passkey,
    }
}

fn caller_out(c: core::SignInCaller) -> ws::Caller {
    ws::Caller {
        user_id: c.user_id,
        mfa: c.mfa,
        first_factor: first_out(c.first_factor),
        expires_at: c.expires_at,
        auth_time: c.auth_time,
    }
}

fn action_in(a: ws::Action) -> core::Action {
    use core::Action as A;
    match a {
        ws::Action::ViewAccount => A::ViewAccount,
        ws::Action::AddMethod => A::AddMethod,
        ws::Action::ContinueRegistration => A::ContinueRegistration,
        ws::Action::SetDefaultMethod => A::SetDefaultMethod,
        ws::Action::RemoveMethod => A::RemoveMethod,
        ws::Action::RegenerateRecoveryCodes => A::RegenerateRecoveryCodes,
        ws::Action::ListAppPasswords => A::ListAppPasswords,
        ws::Action::CreateAppPassword => A::CreateAppPassword,
        ws::Action::DeleteAppPassword => A::DeleteAppPassword,
        ws::Action::SignOutEverywhere => A::SignOutEverywhere,
        ws::Action::Administer => A::Administer,
    }
}

fn standing_in(s: &ws::Standing) -> core::Standing<'_> {
    match s {
        ws::Standing::Token(t) => core::Standing::Token(t),
        ws::Standing::External => core::Standing::External,
    }
}

fn proof_in(p: &ws::Proof) -> core::Proof<'_> {
    match p {
        ws::Proof::Code(c) => core::Proof::Code {
            method: c.method,
            code: &c.code,
        },
        ws::Proof::RecoveryCode(c) => core::Proof::RecoveryCode(c),
        ws::Proof::OneTimePass(c) => core::Proof::OneTimePass(c),
        ws::Proof::Passkey(r) => core::Proof::Passkey(r),
    }
}

fn registered_out(r: core::Registered) -> ws::Registered {
    ws::Registered {
        confirmed: confirmed_out(r.confirmed),
        signed_in: r.signed_in.map(signed_out),
    }
}

fn signed_out(s: core::SignedIn) -> ws::SignedIn {
    ws::SignedIn {
        verified: verified_out(s.verified),
        session: s.session.expose().to_string(),
        session_expires_at: s.session_expires_at,
        device: s.device.map(|d| ws::DeviceToken {
            token: d.token.expose().to_string(),
            expires_at: d.expires_at,
        }),
    }
}

impl ws::Guest for Component {
    fn start(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        first: ws::FirstFactor,
        device_token: Option<String>,
        now: u64,
    ) -> ws::Started {
        with(engine, user, |e, rec, audit| {
            match e.start_sign_in(
                rec,
                first_in(first),
                device_token.as_deref(),
                now,
                &mut WasiRandom,
                audit,
            ) {
                core::SignInStep::SignedIn(s) => ws::Started::SignedIn(signed_out(s)),
                core::SignInStep::Next(n) => ws::Started::Next(ws::LoginStep {
                    next: next_step_out(n.next),
                    token: n.token.expose().to_string(),
                    expires_at: n.expires_at,
                }),
            }
        })
    }

    fn who_is(
        engine: wengine::EngineBorrow<'_>,
        token: String,
        now: u64,
    ) -> Result<ws::Caller, w::Error> {
        let engine = &engine.get::<EngineRes>().engine;
        res(engine.sign_in_caller(&token, now), caller_out)
    }

    fn authorize(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        standing: ws::Standing,
        action: ws::Action,
        now: u64,
    ) -> Result<ws::Caller, w::Error> {
        with(engine, user, |e, rec, _| {
            res(
                e.authorize(rec, standing_in(&standing), action_in(action), now),
                caller_out,
            )
        })
    }

    fn revoke_sessions(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        actor: Option<String>,
        now: u64,
    ) {
        with(engine, user, |e, rec, audit| {
            e.revoke_sessions(rec, actor.as_deref(), now, audit)
        })
    }

    fn check_may_register(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        now: u64,
    ) -> Result<(), w::Error> {
        with(engine, user, |e, rec, _| {
            res(e.check_may_register(rec, now), |()| ())
        })
    }

    fn finish(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        standing: ws::Standing,
        proof: ws::Proof,
        remember_device: bool,
        now: u64,
    ) -> Result<ws::SignedIn, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.finish_sign_in(
                    rec,
                    standing_in(&standing),
                    proof_in(&proof),
                    remember_device,
                    now,
                    &mut WasiRandom,
                    audit,
                ),
                signed_out,
            )
        })
    }

    fn finish_registration(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        standing: ws::Standing,
        code: String,
        remember_device: bool,
        now: u64,
    ) -> Result<ws::Registered, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.finish_registration(
                    rec,
                    standing_in(&standing),
                    &code,
                    remember_device,
                    now,
                    &mut WasiRandom,
                    audit,
                ),
                registered_out,
            )
        })
    }

    fn begin_passkey(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        standing: ws::Standing,
        now: u64,
    ) -> Result<w::PasskeyOptions, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.begin_passkey_sign_in(rec, standing_in(&standing), now, &mut WasiRandom, audit),
                passkey_options_out,
            )
        })
    }

    fn begin_passkey_discovery(
        engine: wengine::EngineBorrow<'_>,
        now: u64,
    ) -> Result<w::PasskeyDiscovery, w::Error> {
        let engine = &engine.get::<EngineRes>().engine;
        res(engine.begin_passkey_discovery(now, &mut WasiRandom), |d| {
            w::PasskeyDiscovery {
                options: d.options,
                expires_at: d.expires_at,
                ceremony: d.ceremony,
            }
        })
    }

    fn passkey_user_handle(
        engine: wengine::EngineBorrow<'_>,
        response: String,
    ) -> Result<String, w::Error> {
        let engine = &engine.get::<EngineRes>().engine;
        res(engine.passkey_user_handle(&response), |h| h)
    }

    fn finish_passkey_discovery(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        ceremony: String,
        response: String,
        remember_device: bool,
        now: u64,
    ) -> Result<ws::SignedIn, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.finish_passkey_discovery(
                    rec,
                    &ceremony,
                    &response,
                    remember_device,
                    now,
                    &mut WasiRandom,
                    audit,
                ),
                signed_out,
            )
        })
    }

    fn finish_passkey_registration(
        engine: wengine::EngineBorrow<'_>,
        user: wengine::UserRecordBorrow<'_>,
        standing: ws::Standing,
        response: String,
        name: String,
        remember_device: bool,
        now: u64,
    ) -> Result<ws::Registered, w::Error> {
        with(engine, user, |e, rec, audit| {
            res(
                e.finish_passkey_registration(
                    rec,
                    standing_in(&standing),
                    &response,
                    &name,
                    remember_device,
                    now,
                    &mut WasiRandom,
                    audit,
                ),
                registered_out,
            )
        })
    }
}
