//! The sign-in flow of the contract (`sign-in`): one call per user action,
//! with the tokens it issues kept as [`Secret`]s.
use crate::api::text;
use crate::bindings::exports::mfa::engine::sign_in as ws;
use crate::types::secret;
use crate::{
    Action, Confirmed, Error, FirstFactor, MfaHost, NextStep, Outcome, PasskeyDiscovery,
    PasskeyOptions, Record, Secret, SignInCaller, UnixTime, Verified,
};

/// Who is taking a sign-in step.
#[derive(Clone, Copy)]
pub enum Standing<'a> {
    /// A login token from [`MfaHost::start_sign_in`], or a session token.
    Token(&'a str),
    /// The host's authenticating proxy vouches for the user on this request.
    External,
}

impl std::fmt::Debug for Standing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token(redacted)"),
            Self::External => f.write_str("External"),
        }
    }
}

/// The second factor presented.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    /// A code from a registered method (the default method when `None`).
    Code {
        /// The method.
        method: Option<u32>,
        /// The code as typed.
        code: &'a str,
    },
    /// A recovery code.
    RecoveryCode(&'a str),
    /// A one-time pass an admin issued.
    OneTimePass(&'a str),
    /// A passkey's answer (`AuthenticationResponseJSON`) to the ceremony
    /// [`MfaHost::begin_passkey_sign_in`] started.
    Passkey(&'a str),
}

impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code { method, .. } => write!(f, "Code {{ method: {method:?}, code: redacted }}"),
            Self::RecoveryCode(_) => f.write_str("RecoveryCode(redacted)"),
            Self::OneTimePass(_) => f.write_str("OneTimePass(redacted)"),
            Self::Passkey(_) => f.write_str("Passkey(..)"),
        }
    }
}

/// A remembered-device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken {
    /// The token (a bearer secret).
    pub token: Secret,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// A finished sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The second factor.
    pub verified: Verified,
    /// The MFA session token (a bearer secret).
    pub session: Secret,
    /// When the session expires.
    pub session_expires_at: UnixTime,
    /// The remembered-device token, when "don't ask again" was chosen.
    pub device: Option<DeviceToken>,
}

impl From<ws::SignedIn> for SignedIn {
    fn from(s: ws::SignedIn) -> Self {
        Self {
            verified: s.verified,
            session: secret(s.session),
            session_expires_at: s.session_expires_at,
            device: s.device.map(|d| DeviceToken {
                token: secret(d.token),
                expires_at: d.expires_at,
            }),
        }
    }
}

/// What [`MfaHost::start_sign_in`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStarted {
    /// A remembered device skipped the second factor.
    SignedIn(SignedIn),
    /// The user must take the next step with the login token.
    Next {
        /// What the user must do next.
        next: NextStep,
        /// The login token (a bearer secret).
        token: Secret,
        /// When it expires.
        expires_at: UnixTime,
    },
}

/// A confirmed registration, and the sign-in it finished during "Set it up now".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The new method.
    pub confirmed: Confirmed,
    /// The session, when the registration was the second factor.
    pub signed_in: Option<SignedIn>,
}

fn standing_out(s: Standing<'_>) -> ws::Standing {
    match s {
        Standing::Token(t) => ws::Standing::Token(t.to_string()),
        Standing::External => ws::Standing::External,
    }
}

fn proof_out(p: Proof<'_>) -> ws::Proof {
    match p {
        Proof::Code { method, code } => ws::Proof::Code(ws::CodeProof {
            method,
            code: code.to_string(),
        }),
        Proof::RecoveryCode(c) => ws::Proof::RecoveryCode(c.to_string()),
        Proof::OneTimePass(c) => ws::Proof::OneTimePass(c.to_string()),
        Proof::Passkey(r) => ws::Proof::Passkey(r.to_string()),
    }
}

fn standing_text(s: Standing<'_>) -> Result<(), Error> {
    match s {
        Standing::Token(t) => text("token", t),
        Standing::External => Ok(()),
    }
}

impl MfaHost {
    /// The first factor was accepted: the next step with a login token, or
    /// signed in at once by a valid remembered-device token of this user.
    pub fn start_sign_in(
        &self,
        record: Record<'_>,
        first: FirstFactor,
        device_token: Option<&str>,
        now: UnixTime,
    ) -> Result<Outcome<SignInStarted>, Error> {
        text("device token", device_token.unwrap_or_default())?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in()
                    .call_start(store, engine, user, first, device_token, now)
                    .map(Ok)
            }),
            |s| match s {
                ws::Started::SignedIn(s) => SignInStarted::SignedIn(s.into()),
                ws::Started::Next(n) => SignInStarted::Next {
                    next: n.next,
                    token: secret(n.token),
                    expires_at: n.expires_at,
                },
            },
        )
    }

    /// Who a login or session token belongs to.
    pub fn sign_in_caller(&self, token: &str, now: UnixTime) -> Result<SignInCaller, Error> {
        text("token", token)?;
        self.rt
            .call(|slot| {
                slot.api
                    .mfa_engine_sign_in()
                    .call_who_is(&mut slot.store, slot.engine, token, now)
            })?
            .map_err(Error::from)
    }

    /// May this caller take this action on this record (session epoch,
    /// MFA, a recent second factor for sensitive changes)?
    pub fn authorize(
        &self,
        record: Record<'_>,
        standing: Standing<'_>,
        action: Action,
        now: UnixTime,
    ) -> Result<SignInCaller, Error> {
        standing_text(standing)?;
        let standing = standing_out(standing);
        let out = self.with_record(
            record,
            None,
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in()
                    .call_authorize(store, engine, user, &standing, action, now)
            }),
            |c| c,
        )?;
        out.result.map_err(Error::Engine)
    }

    /// End every session and sign-in in progress of the user. `actor`: the
    /// admin, or `None` for the user's own "sign out everywhere".
    pub fn revoke_sessions(
        &self,
        record: Record<'_>,
        actor: Option<&str>,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        if let Some(a) = actor {
            text("actor", a)?;
        }
        let actor = actor.map(str::to_string);
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in()
                    .call_revoke_sessions(store, engine, user, actor.as_deref(), now)
                    .map(Ok)
            }),
            |()| (),
        )
    }

    /// Whether a caller who passed only the first factor may add a method now.
    pub fn check_may_register(&self, record: Record<'_>, now: UnixTime) -> Result<(), Error> {
        let out = self.with_record(
            record,
            None,
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in()
                    .call_check_may_register(store, engine, user, now)
            }),
            |()| (),
        )?;
        out.result.map_err(Error::Engine)
    }

    /// The second factor of a sign-in, and the session issued for it.
    pub fn finish_sign_in(
        &self,
        record: Record<'_>,
        standing: Standing<'_>,
        proof: Proof<'_>,
        remember_device: bool,
        now: UnixTime,
    ) -> Result<Outcome<SignedIn>, Error> {
        standing_text(standing)?;
        match proof {
            Proof::Code { code, .. } | Proof::RecoveryCode(code) | Proof::OneTimePass(code) => {
                text("code", code)?
            }
            Proof::Passkey(response) => text("passkey response", response)?,
        }
        let (standing, proof) = (standing_out(standing), proof_out(proof));
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in().call_finish(
                    store,
                    engine,
                    user,
                    &standing,
                    &proof,
                    remember_device,
                    now,
                )
            }),
            SignedIn::from,
        )
    }

    /// Prove the registration in progress; during "Set it up now" it also
    /// signs the user in.
    pub fn finish_registration(
        &self,
        record: Record<'_>,
        standing: Standing<'_>,
        code: &str,
        remember_device: bool,
        now: UnixTime,
    ) -> Result<Outcome<Registered>, Error> {
        standing_text(standing)?;
        text("code", code)?;
        let standing = standing_out(standing);
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in().call_finish_registration(
                    store,
                    engine,
                    user,
                    &standing,
                    code,
                    remember_device,
                    now,
                )
            }),
            Registered::from,
        )
    }

    /// Start a sign-in with one of the user's passkeys: the options for
    /// `navigator.credentials.get`. The caller presents this user's login
    /// token (or a session); the answer goes to [`MfaHost::finish_sign_in`]
    /// as [`Proof::Passkey`].
    pub fn begin_passkey_sign_in(
        &self,
        record: Record<'_>,
        standing: Standing<'_>,
        now: UnixTime,
    ) -> Result<Outcome<PasskeyOptions>, Error> {
        standing_text(standing)?;
        let standing = standing_out(standing);
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in()
                    .call_begin_passkey(store, engine, user, &standing, now)
            }),
            |o| o,
        )
    }

    /// Finish registering a passkey with the browser's
    /// `RegistrationResponseJSON` and name it (empty: "Passkey N"); during
    /// "Set it up now" it also signs the user in.
    pub fn finish_passkey_registration(
        &self,
        record: Record<'_>,
        standing: Standing<'_>,
        response: &str,
        name: &str,
        remember_device: bool,
        now: UnixTime,
    ) -> Result<Outcome<Registered>, Error> {
        standing_text(standing)?;
        text("passkey response", response)?;
        text("passkey name", name)?;
        let standing = standing_out(standing);
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in().call_finish_passkey_registration(
                    store,
                    engine,
                    user,
                    &standing,
                    response,
                    name,
                    remember_device,
                    now,
                )
            }),
            Registered::from,
        )
    }

    /// Start a passwordless sign-in, before anyone is known: options any of
    /// the site's passkeys may answer (user verification required) and the
    /// signed ceremony to present with the answer. Keeps nothing.
    pub fn begin_passkey_discovery(&self, now: UnixTime) -> Result<PasskeyDiscovery, Error> {
        self.rt
            .call(|slot| {
                slot.api.mfa_engine_sign_in().call_begin_passkey_discovery(
                    &mut slot.store,
                    slot.engine,
                    now,
                )
            })?
            .map_err(Error::from)
    }

    /// The user handle (base64url) a passwordless answer names: find the
    /// user whose [`crate::RecordSummary::passkey_handle`] it is. Verifies nothing.
    pub fn passkey_user_handle(&self, response: &str) -> Result<String, Error> {
        text("passkey response", response)?;
        self.rt
            .call(|slot| {
                slot.api.mfa_engine_sign_in().call_passkey_user_handle(
                    &mut slot.store,
                    slot.engine,
                    response,
                )
            })?
            .map_err(Error::from)
    }

    /// Finish a passwordless sign-in for the user the answer named
    /// ([`MfaHost::passkey_user_handle`]): the engine checks the ceremony,
    /// that it was not answered before, the key and user verification, and
    /// issues the session.
    pub fn finish_passkey_discovery(
        &self,
        record: Record<'_>,
        ceremony: &str,
        response: &str,
        remember_device: bool,
        now: UnixTime,
    ) -> Result<Outcome<SignedIn>, Error> {
        text("passkey ceremony", ceremony)?;
        text("passkey response", response)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_sign_in().call_finish_passkey_discovery(
                    store,
                    engine,
                    user,
                    ceremony,
                    response,
                    remember_device,
                    now,
                )
            }),
            SignedIn::from,
        )
    }
}

impl From<ws::Registered> for Registered {
    fn from(r: ws::Registered) -> Self {
        Self {
            confirmed: r.confirmed.into(),
            signed_in: r.signed_in.map(Into::into),
        }
    }
}
