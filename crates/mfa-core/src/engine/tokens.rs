//! Session and remembered-device tokens.

use crate::audit::{AuditEvent, AuditKind};
use crate::record::UserRecord;
use crate::token::{self, SessionClaims, TokenKind};
use crate::{Error, RandomSource, UnixTime};

use super::{Engine, Verified};

impl Engine {
    #[allow(
        clippy::too_many_arguments,
        reason = "private helper that fills every standard claim"
    )]
    pub(super) fn claims(
        &self,
        user: &str,
        amr: Vec<String>,
        now: UnixTime,
        lifetime: u64,
        kind: TokenKind,
        epoch: Option<u32>,
        rng: &mut dyn RandomSource,
    ) -> SessionClaims {
        SessionClaims {
            iss: self.policy.issuer.clone(),
            sub: user.to_string(),
            aud: self.policy.audience.clone(),
            iat: now,
            exp: now + lifetime,
            jti: token::new_jti(rng),
            amr,
            token_use: kind,
            dev_epoch: epoch,
            ses_epoch: None,
            auth_time: None,
        }
    }

    /// Issue an MFA session token after a verified second factor (the proof
    /// only the engine makes). Hosts use [`Engine::finish_sign_in`]. `primary_amr`
    /// lists how the first factor was done (e.g. `["pwd"]`).
    pub fn issue_session(
        &self,
        rec: &UserRecord,
        verified: &Verified,
        primary_amr: &[&str],
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> String {
        let mut amr: Vec<String> = primary_amr.iter().map(|s| s.to_string()).collect();
        for a in verified
            .amr()
            .iter()
            .chain(std::iter::once(&"mfa".to_string()))
        {
            if !amr.contains(a) {
                amr.push(a.clone());
            }
        }
        let mut claims = self.claims(
            &rec.user_id,
            amr,
            now,
            u64::from(self.policy.session_lifetime_secs),
            TokenKind::Session,
            None,
            rng,
        );
        claims.ses_epoch = Some(rec.session_epoch);
        claims.auth_time = Some(verified.verified_at(now));
        audit.push(issued(rec, verified, now, AuditKind::SessionIssued));
        token::sign(&self.keys, &claims)
    }

    /// Issue a remembered-device token ("don't ask again on this device") after
    /// a verified second factor (the proof only the engine makes), valid
    /// for the policy's number of days or until the admin restores MFA on all
    /// remembered devices. Returns the token and its expiry.
    pub fn issue_device_token(
        &self,
        rec: &UserRecord,
        verified: &Verified,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> (String, UnixTime) {
        let lifetime = u64::from(self.policy.remember_device_days) * 86_400;
        let claims = self.claims(
            &rec.user_id,
            vec!["mfa".into()],
            now,
            lifetime,
            TokenKind::Device,
            Some(rec.device_epoch),
            rng,
        );
        let kind = AuditKind::DeviceRemembered {
            expires_at: claims.exp,
        };
        audit.push(issued(rec, verified, now, kind));
        (token::sign(&self.keys, &claims), claims.exp)
    }

    /// Verify an MFA session token.
    pub fn verify_session(&self, token: &str, now: UnixTime) -> Result<SessionClaims, Error> {
        token::verify(
            &self.keys,
            token,
            &self.policy.issuer,
            &self.policy.audience,
            TokenKind::Session,
            now,
        )
    }

    /// Verify a remembered-device token for this user: refused after the admin
    /// restored MFA on all remembered devices, or when MFA was reset.
    pub fn verify_device_token(
        &self,
        rec: &UserRecord,
        token: &str,
        now: UnixTime,
    ) -> Result<SessionClaims, Error> {
        let claims = token::verify(
            &self.keys,
            token,
            &self.policy.issuer,
            &self.policy.audience,
            TokenKind::Device,
            now,
        )?;
        if claims.sub != rec.user_id || claims.dev_epoch != Some(rec.device_epoch) {
            return Err(Error::TokenRevoked);
        }
        Ok(claims)
    }
}

/// The audit event of a token issued after `verified`.
fn issued(rec: &UserRecord, verified: &Verified, now: UnixTime, kind: AuditKind) -> AuditEvent {
    AuditEvent {
        at: now,
        user_id: rec.user_id.clone(),
        actor: None,
        method: verified.method_type(),
        kind,
    }
}
