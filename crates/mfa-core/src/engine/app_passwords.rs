//! App passwords: creation, verification, deletion and the gateway credential.

use crate::app_password::{
    self, AppPasswordCredential, AppPasswordMatch, NewAppPassword, ParsedAppPassword,
};
use crate::audit::{AuditEvent, AuditKind, FailureReason};
use crate::hash::hash_password;
use crate::record::UserRecord;
use crate::throttle::Factor;
use crate::{Error, RandomSource, UnixTime};

use super::{Ctx, Engine};

impl Engine {
    /// Create an app password. The password is in the result only: it is never
    /// stored, only its argon2id hash.
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the user's form: name, scopes and expiry, plus the engine's time, randomness and audit"
    )]
    pub fn create_app_password(
        &self,
        rec: &mut UserRecord,
        name: &str,
        scopes: &[String],
        expires_at: Option<UnixTime>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<NewAppPassword, Error> {
        self.with(rec, now, audit, |e, ctx| {
            if !e.policy.app_passwords_allowed {
                return Err(Error::AppPasswordsDisabled);
            }
            let name = app_password::check_name(name)?;
            let scopes = app_password::check_scopes(scopes)?;
            if expires_at.is_some_and(|x| x <= now) {
                return Err(Error::input("expires_at", "must be in the future"));
            }
            let live: Vec<_> = ctx
                .rec
                .app_passwords
                .iter()
                .filter(|a| a.revoked_at.is_none())
                .collect();
            if live.len() as u32 >= e.policy.max_app_passwords {
                return Err(Error::AppPasswordLimit {
                    max: e.policy.max_app_passwords,
                });
            }
            if live
                .iter()
                .any(|a| a.name.to_lowercase() == name.to_lowercase())
            {
                return Err(Error::DuplicateName);
            }
            let taken: Vec<&str> = ctx
                .rec
                .app_passwords
                .iter()
                .map(|a| a.id.as_str())
                .collect();
            let (entry, password) = app_password::new_entry(
                &e.policy.argon2,
                name.clone(),
                scopes.clone(),
                expires_at,
                now,
                &taken,
                rng,
            )?;
            let credential = AppPasswordCredential {
                user: ctx.rec.user_id.clone(),
                id: entry.id.clone(),
                hash: entry.hash.clone(),
                scopes: scopes.clone(),
                expires_at,
            };
            let id = entry.id.clone();
            // Deleted entries are kept for their "revoked" answer; drop the oldest beyond the limit.
            ctx.rec.app_passwords.push(entry);
            let revoked = ctx
                .rec
                .app_passwords
                .iter()
                .filter(|a| a.revoked_at.is_some())
                .count();
            if revoked > e.policy.max_app_passwords as usize
                && let Some(pos) = ctx
                    .rec
                    .app_passwords
                    .iter()
                    .position(|a| a.revoked_at.is_some())
            {
                ctx.rec.app_passwords.remove(pos);
            }
            ctx.touch();
            ctx.event(
                AuditKind::AppPasswordCreated {
                    id: id.clone(),
                    name: name.clone(),
                },
                None,
            );
            Ok(NewAppPassword {
                id,
                name,
                password,
                scopes,
                created_at: now,
                expires_at,
                credential,
            })
        })
    }

    /// Check an app password presented by a client, optionally for a scope.
    /// Garbage and typos are refused before any hashing. On success records
    /// "last used" (to the minute) and rehashes a hash made with old parameters.
    pub fn verify_app_password(
        &self,
        rec: &mut UserRecord,
        presented: &str,
        scope: Option<&str>,
        now: UnixTime,
        rng: &mut dyn RandomSource,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<AppPasswordMatch, Error> {
        self.with(rec, now, audit, |e, ctx| {
            // No lock (security item 5): a 130-bit secret is not guessed,
            // and a lock after failures lets anyone who knows a user name
            // lock that user's mail clients out. A correct password always
            // passes; hosts bound guessing (and hashing) per client address.
            let reject = |ctx: &mut Ctx<'_>, err: Error| {
                ctx.event(
                    AuditKind::AppPasswordRejected {
                        reason: FailureReason::from(&err),
                    },
                    None,
                );
                Err(err)
            };
            let parsed = match ParsedAppPassword::parse(presented) {
                Ok(p) => p,
                Err(err) => return reject(ctx, err),
            };
            let Some(idx) = ctx.rec.app_passwords.iter().position(|a| a.id == parsed.id) else {
                return reject(ctx, Error::UnknownAppPassword);
            };
            let entry = &ctx.rec.app_passwords[idx];
            if entry.revoked_at.is_some() {
                return reject(ctx, Error::AppPasswordRevoked);
            }
            if entry.expires_at.is_some_and(|x| now >= x) {
                return reject(ctx, Error::AppPasswordExpired);
            }
            let check = match parsed.verify_hash(&entry.hash, &e.policy.argon2)? {
                Some(c) => c,
                None => return reject(ctx, Error::WrongAppPassword),
            };
            if !app_password::scope_allows(&entry.scopes, scope) {
                return reject(
                    ctx,
                    Error::OutOfScope {
                        scope: scope.unwrap_or_default().to_string(),
                    },
                );
            }
            let result = AppPasswordMatch {
                id: entry.id.clone(),
                name: entry.name.clone(),
                scopes: entry.scopes.clone(),
                needs_rehash: check.needs_rehash,
            };
            // Clears what a lock of before left in the record.
            let mut changed = ctx.rec.throttle.succeed(Factor::AppPassword);
            let entry = &mut ctx.rec.app_passwords[idx];
            changed |= entry.mark_used(now);
            if check.needs_rehash {
                entry.hash = hash_password(
                    &e.policy.argon2,
                    parsed.canonical().expose().as_bytes(),
                    rng,
                )?;
                changed = true;
            }
            if changed {
                ctx.touch();
            }
            ctx.event(
                AuditKind::AppPasswordUsed {
                    id: result.id.clone(),
                },
                None,
            );
            Ok(result)
        })
    }

    /// Delete one app password: it stops working at once (gateways caching
    /// verified credentials stop within their cache lifetime).
    pub fn delete_app_password(
        &self,
        rec: &mut UserRecord,
        id: &str,
        now: UnixTime,
        audit: &mut Vec<AuditEvent>,
    ) -> Result<(), Error> {
        self.with(rec, now, audit, |_, ctx| {
            let entry = ctx
                .rec
                .app_passwords
                .iter_mut()
                .find(|a| a.id == id && a.revoked_at.is_none())
                .ok_or(Error::UnknownAppPassword)?;
            entry.revoked_at = Some(now);
            entry.hash.clear();
            ctx.touch();
            ctx.event(AuditKind::AppPasswordDeleted { id: id.to_string() }, None);
            Ok(())
        })
    }

    /// The gateway credential (hash, scopes, expiry) of one live app password.
    pub fn app_password_credential(
        &self,
        rec: &UserRecord,
        id: &str,
    ) -> Result<AppPasswordCredential, Error> {
        let a = rec
            .app_passwords
            .iter()
            .find(|a| a.id == id && a.revoked_at.is_none())
            .ok_or(Error::UnknownAppPassword)?;
        Ok(AppPasswordCredential {
            user: rec.user_id.clone(),
            id: a.id.clone(),
            hash: a.hash.clone(),
            scopes: a.scopes.clone(),
            expires_at: a.expires_at,
        })
    }
}
