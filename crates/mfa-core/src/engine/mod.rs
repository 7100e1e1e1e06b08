//! The engine: every rule of enrolment, verification, app passwords, tokens and
//! admin operations, over a [`UserRecord`].
use crate::audit::{AuditEvent, AuditKind};
use crate::keys::Keys;
use crate::policy::{MethodType, Policy};
use crate::record::{StoredKind, StoredMethod, UserRecord};
use crate::throttle::Factor;
use crate::token::Jwks;
use crate::{Error, UnixTime};

/// The engine: a validated [`Policy`] and the [`Keys`]. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    policy: Policy,
    keys: Keys,
}

struct Ctx<'a> {
    rec: &'a mut UserRecord,
    audit: &'a mut Vec<AuditEvent>,
    now: UnixTime,
}

impl Ctx<'_> {
    fn event(&mut self, kind: AuditKind, method: Option<MethodType>) {
        self.audit.push(AuditEvent {
            at: self.now,
            user_id: self.rec.user_id.clone(),
            actor: None,
            method,
            kind,
        });
    }
    fn admin_event(&mut self, actor: &str, kind: AuditKind) {
        self.audit.push(AuditEvent {
            at: self.now,
            user_id: self.rec.user_id.clone(),
            actor: Some(actor.to_string()),
            method: None,
            kind,
        });
    }
    fn touch(&mut self) {
        self.rec.touch(self.now);
    }
}

fn factor_of(kind: &StoredKind) -> Factor {
    match kind {
        StoredKind::Totp { .. } | StoredKind::Hotp { .. } => Factor::Authenticator,
        StoredKind::Phone { .. } => Factor::Phone,
        StoredKind::Email { .. } => Factor::Email,
        StoredKind::Passkey(_) => Factor::Passkey,
    }
}

impl Engine {
    /// An engine for this policy and these keys; the policy is validated.
    pub fn new(policy: Policy, keys: Keys) -> Result<Self, Error> {
        policy.validate()?;
        Ok(Self { policy, keys })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The public signing keys as a JWKS.
    pub fn jwks(&self) -> Jwks {
        Jwks::from_keys(&self.keys)
    }

    fn with<T>(
        &self,
        rec: &mut UserRecord,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
        f: impl FnOnce(&Self, &mut Ctx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut ctx = Ctx { rec, audit, now };
        let r = f(self, &mut ctx);
        ctx.rec.finish();
        r
    }

    fn allowed(&self) -> Vec<MethodType> {
        MethodType::ALL
            .iter()
            .copied()
            .filter(|m| self.policy.allows(*m))
            .collect()
    }

    /// Whether `m` may prove who the user is: a usable method, or any of the
    /// user's methods while none is usable (to replace them, see
    /// [`NextStep::Replace`]).
    fn provable(&self, rec: &UserRecord, m: &StoredMethod) -> bool {
        self.usable(m) || !rec.methods.iter().any(|x| self.usable(x))
    }

    fn usable(&self, m: &StoredMethod) -> bool {
        self.policy.allows(m.kind.method_type())
            || matches!(m.kind, StoredKind::Phone { .. })
                && (self.policy.allows(MethodType::Text) || self.policy.allows(MethodType::Call))
    }
}

mod enrolment;
pub use enrolment::{Confirmed, MAX_HOTP_COUNTER, MAX_METHODS, NextStep, Registration};
mod verification;
pub use verification::Verified;
mod access;
pub use access::Action;
mod admin;
mod app_passwords;
mod passkeys;
pub use passkeys::{MAX_PASSKEY_NAME_CHARS, PasskeyOptions};
mod passwordless;
pub use passwordless::{MAX_RECENT_PASSKEY_SIGN_INS, PasskeyDiscovery};
mod sign_in;
mod tokens;
pub use sign_in::{
    DeviceToken, FirstFactor, LOGIN_LIFETIME_SECS, LoginStep, Proof, Registered, SignInCaller,
    SignInStep, SignedIn, Standing,
};
