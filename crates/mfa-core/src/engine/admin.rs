//! Admin operations on one user's record. Reset, re-registration, restore,
//! delete-all and disabling MFA also end the user's sessions.

use crate::audit::{AuditEvent, AuditKind};
use crate::one_time_pass::{OneTimePass, StoredPass};
use crate::record::{MfaState, StoredKind, UserRecord};
use crate::{Error, RandomSource, UnixTime};

use super::Engine;

impl Engine {
    /// Set the user's MFA state (disabled, enabled, enforced).
    pub fn set_mfa_state(
        &self,
        rec: &mut UserRecord,
        state: MfaState,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            if ctx.rec.state != state {
                let from = ctx.rec.state;
                ctx.rec.state = state;
                ctx.touch();
                ctx.admin_event(actor, AuditKind::MfaStateChanged { from, to: state });
                if state == MfaState::Disabled {
                    ctx.revoke_sessions(Some(actor));
                }
            }
            Ok(())
        });
    }

    /// Give or take the admin role. Taking it ends the user's sessions, so
    /// an admin page left open stops working at once. An admin cannot take
    /// their own role (`OwnAdminRole`): another admin must, so that the
    /// last one cannot lock everyone out by accident.
    pub fn set_admin_role(
        &self,
        rec: &mut UserRecord,
        admin: bool,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |_, ctx| {
            if !admin && ctx.rec.user_id == actor {
                return Err(Error::OwnAdminRole);
            }
            if ctx.rec.admin != admin {
                ctx.rec.admin = admin;
                ctx.touch();
                ctx.admin_event(actor, AuditKind::AdminRoleChanged { admin });
                if !admin {
                    ctx.revoke_sessions(Some(actor));
                }
            }
            Ok(())
        })
    }

    /// Require the user to provide contact methods again at the next sign-in.
    pub fn require_reregistration(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.reregister_since = Some(now);
            ctx.rec.pending = None;
            ctx.touch();
            ctx.admin_event(actor, AuditKind::ReregistrationRequired);
            ctx.revoke_sessions(Some(actor));
            Ok(())
        });
    }

    /// Delete every app password of the user.
    pub fn delete_all_app_passwords(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> u32 {
        let mut count = 0;
        let _ = self.with(rec, now, audit, |_, ctx| {
            for a in ctx
                .rec
                .app_passwords
                .iter_mut()
                .filter(|a| a.revoked_at.is_none())
            {
                a.revoked_at = Some(now);
                a.hash.clear();
                count += 1;
            }
            ctx.touch();
            ctx.admin_event(actor, AuditKind::AllAppPasswordsDeleted { count });
            ctx.revoke_sessions(Some(actor));
            Ok(())
        });
        count
    }

    /// Restore MFA on all remembered devices: every device token of the user stops working.
    pub fn restore_remembered_devices(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.device_epoch = ctx.rec.device_epoch.wrapping_add(1);
            ctx.touch();
            ctx.admin_event(actor, AuditKind::RememberedDevicesRestored);
            ctx.revoke_sessions(Some(actor));
            Ok(())
        });
    }

    /// Issue a one-time pass for a user who cannot use any of their methods
    /// (Entra's Temporary Access Pass): signing in with it once is a second
    /// factor, after which the user sets up a new method. A new pass replaces
    /// an earlier one. Shown once; only its keyed digest is stored.
    pub fn issue_one_time_pass(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        lifetime_secs: u32,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<OneTimePass, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let (stored, pass) =
                StoredPass::issue(&e.keys, &ctx.rec.user_id, actor, lifetime_secs, now, rng)?;
            ctx.rec.one_time_pass = Some(stored);
            ctx.touch();
            ctx.admin_event(
                actor,
                AuditKind::OneTimePassIssued {
                    expires_at: pass.expires_at,
                },
            );
            Ok(pass)
        })
    }

    /// Lift every lock and back-off of the user.
    pub fn unlock(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.throttle.clear();
            ctx.touch();
            ctx.admin_event(actor, AuditKind::Unlocked);
            Ok(())
        });
    }

    /// Remove every method, recovery code and remembered device: the user registers again.
    pub fn reset_methods(
        &self,
        rec: &mut UserRecord,
        actor: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) {
        let _ = self.with(rec, now, audit, |_, ctx| {
            ctx.rec.methods.clear();
            ctx.rec.default_method = None;
            ctx.rec.pending = None;
            ctx.rec.challenge = None;
            ctx.rec.recovery = None;
            ctx.rec.reregister_since = None;
            ctx.rec.throttle.clear();
            ctx.rec.device_epoch = ctx.rec.device_epoch.wrapping_add(1);
            ctx.touch();
            ctx.admin_event(actor, AuditKind::MethodsReset);
            ctx.revoke_sessions(Some(actor));
            Ok(())
        });
    }

    /// Seal every stored seed again under the active sealing key (after rotation).
    pub fn reseal(
        &self,
        rec: &mut UserRecord,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<u32, Error> {
        self.with(rec, now, audit, |e, ctx| {
            let user = ctx.rec.user_id.clone();
            let active = e.keys.active_sealing_id().to_string();
            let mut n = 0;
            let mut kinds: Vec<&mut StoredKind> =
                ctx.rec.methods.iter_mut().map(|m| &mut m.kind).collect();
            if let Some(p) = ctx.rec.pending.as_mut() {
                kinds.push(&mut p.kind);
            }
            for kind in kinds {
                if let StoredKind::Totp { seed, .. } | StoredKind::Hotp { seed, .. } = kind
                    && seed.kid != active
                {
                    let secret = e.keys.unseal(&user, seed)?;
                    *seed = e.keys.seal(&user, secret.expose(), rng);
                    n += 1;
                }
            }
            if n > 0 {
                ctx.touch();
                ctx.event(AuditKind::SecretsResealed, None);
            }
            Ok(n)
        })
    }
}
