//! Who may change what on their own account, and ending every session of a
//! user. Every route of a host names its [`Action`]; the engine decides from
//! the caller's token and the record: the token must be of this user and of
//! the record's session epoch (revoked sessions are refused at once), and
//! sensitive changes need a second factor verified within the policy's
//! `reauth_window_secs` (step-up: the user verifies again and repeats).
use serde::Serialize;

use crate::audit::{AuditEvent, AuditKind};
use crate::record::UserRecord;
use crate::{Error, UnixTime};

use super::{Ctx, Engine, SignInCaller, Standing};

/// What a signed-in user asks to do on their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See their session, methods and state: after the first factor.
    ViewAccount,
    /// Start registering a method: a recent second factor, or only the first
    /// factor while the sign-in asks to set one up ("Set it up now").
    AddMethod,
    /// Go on with a registration already started (resend its code): an MFA
    /// session, or the first factor during set-up.
    ContinueRegistration,
    /// Change the default method: an MFA session.
    SetDefaultMethod,
    /// Remove a method: a recent second factor.
    RemoveMethod,
    /// Issue new recovery codes (the old ones stop working): a recent second factor.
    RegenerateRecoveryCodes,
    /// List app passwords: an MFA session.
    ListAppPasswords,
    /// Create an app password: a recent second factor.
    CreateAppPassword,
    /// Delete an app password: an MFA session.
    DeleteAppPassword,
    /// End every session of the user: an MFA session.
    SignOutEverywhere,
    /// Administer every user and the service settings: an MFA session of a
    /// user holding the admin role (`NotAdmin` otherwise).
    Administer,
}

/// What an action needs.
enum Needs {
    FirstFactor,
    Session,
    Recent,
    SessionOrSetUp,
    RecentOrSetUp,
}

impl Action {
    fn needs(self) -> Needs {
        match self {
            Self::ViewAccount => Needs::FirstFactor,
            Self::AddMethod => Needs::RecentOrSetUp,
            Self::ContinueRegistration => Needs::SessionOrSetUp,
            Self::SetDefaultMethod
            | Self::ListAppPasswords
            | Self::DeleteAppPassword
            | Self::SignOutEverywhere
            | Self::Administer => Needs::Session,
            Self::RemoveMethod | Self::RegenerateRecoveryCodes | Self::CreateAppPassword => {
                Needs::Recent
            }
        }
    }
}

impl Engine {
    /// May this caller take this action on this record? Returns who they
    /// are. Refused: a token of another user or of an older session epoch
    /// (`TokenRevoked`), forged, expired or device tokens, only the first
    /// factor where a session is needed (`MfaRequired`), and a second
    /// factor older than the policy's window where a recent one is needed
    /// (`ReauthRequired`); administering by a user without the admin role
    /// (`NotAdmin`, checked after the session so that a stranger learns
    /// nothing about who is an admin).
    pub fn authorize(
        &self,
        rec: &UserRecord,
        standing: Standing<'_>,
        action: Action,
        now: UnixTime,
    ) -> Result<SignInCaller, Error> {
        let caller = self.standing_caller(rec, standing, now)?;
        let recent = caller
            .auth_time
            .is_some_and(|t| now.saturating_sub(t) <= u64::from(self.policy.reauth_window_secs));
        let set_up = || self.check_may_register(rec, now);
        let stale = || Error::ReauthRequired {
            window_secs: self.policy.reauth_window_secs,
        };
        match (action.needs(), caller.mfa) {
            (Needs::FirstFactor, _) | (Needs::Session | Needs::SessionOrSetUp, true) => {}
            (Needs::Session | Needs::Recent, false) => return Err(Error::MfaRequired),
            (Needs::SessionOrSetUp | Needs::RecentOrSetUp, false) => set_up()?,
            (Needs::Recent | Needs::RecentOrSetUp, true) if !recent => return Err(stale()),
            (Needs::Recent | Needs::RecentOrSetUp, true) => {}
        }
        if action == Action::Administer && !rec.admin {
            return Err(Error::NotAdmin);
        }
        Ok(caller)
    }

    /// End every session and sign-in in progress of the user: their
    /// session and login tokens stop working here at once, and at gateways
    /// that follow [`Revocations`](crate::Revocations) within their refresh
    /// interval. Hosts call it when the primary password changes. `actor`
    /// is the admin, or `None` when the user asked ("sign out everywhere",
    /// which also forgets the remembered devices).
    pub fn revoke_sessions(
        &self,
        rec: &mut UserRecord,
        actor: Option<&str>,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            if actor.is_none() {
                ctx.rec.device_epoch = ctx.rec.device_epoch.wrapping_add(1);
            }
            ctx.revoke_sessions(actor);
            Ok(())
        });
    }
}

impl Ctx<'_> {
    /// Bump the session epoch and audit it.
    pub(super) fn revoke_sessions(&mut self, actor: Option<&str>) {
        self.rec.session_epoch = self.rec.session_epoch.wrapping_add(1);
        self.touch();
        let kind = AuditKind::SessionsRevoked {
            epoch: self.rec.session_epoch,
        };
        match actor {
            Some(a) => self.admin_event(a, kind),
            None => self.event(kind, None),
        }
    }
}
