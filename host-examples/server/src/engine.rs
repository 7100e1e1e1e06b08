//! The one place where the server calls the engine.
//!
//! Every rule of MFA lives in the engine; the server only loads a user's
//! record, hands it to one of the operations below together with the
//! arguments and the current time, and stores what comes back (the updated
//! record, with compare-and-swap on its revision, and the audit events).
//! Handlers never reach the engine any other way, so the engine can run
//! natively or inside the WebAssembly component by changing this file only.
//!
//! Operations are pure functions of `(record, arguments, now)` plus fresh
//! randomness from the operating system: they never mutate the caller's
//! record, they return a [`Step`].
use std::sync::Arc;

pub use mfa_core::{
    AppPasswordCredential, AppPasswordInfo, AppPasswordMatch, AuditEvent, AuditKind, Confirmed,
    Delivery, Error as EngineError, Factor, Jwks, Method, MethodId, MethodType, MfaState,
    NewAppPassword, NextStep, PhoneChannel, Policy, RecoveryCodes, Registration, SecretString,
    SessionClaims, UserRecord, Verified,
};
use mfa_core::{Engine, Keys, ParsedAppPassword, PhoneNumber, RandomSource};

/// Randomness from the operating system.
struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        if let Err(e) = getrandom::fill(dest) {
            // Without randomness no secret can be made safely: stop rather than go on weakly.
            tracing::error!(error = %e, "the operating system's random number generator failed");
            std::process::abort();
        }
    }
}

/// The outcome of one operation: the record as the engine left it, the audit
/// events it produced, and the operation's answer.
#[derive(Debug)]
pub struct Step<T> {
    /// The record after the operation (same revision when nothing changed).
    pub record: UserRecord,
    /// Audit events, in order.
    pub audit: Vec<AuditEvent>,
    /// The answer.
    pub result: Result<T, EngineError>,
}

impl<T> Step<T> {
    /// Whether the record must be written back.
    pub fn changed(&self, before: &UserRecord) -> bool {
        self.record.revision() != before.revision()
    }
}

/// A token issued for a record (the record itself does not change).
#[derive(Debug)]
pub struct Issued<T> {
    /// The token.
    pub value: T,
    /// Audit events.
    pub audit: Vec<AuditEvent>,
}

impl<T> Issued<T> {
    /// As a [`Step`] over an unchanged record.
    pub fn into_step(self, rec: &UserRecord) -> Step<T> {
        Step {
            record: rec.clone(),
            audit: self.audit,
            result: Ok(self.value),
        }
    }
}

/// An app password as presented, checked for format only.
pub struct PresentedAppPassword(ParsedAppPassword);

impl PresentedAppPassword {
    /// The public id (first four symbols).
    pub fn id(&self) -> &str {
        &self.0.id
    }
    /// The canonical form (no separators, lower case): a secret.
    pub fn canonical(&self) -> &str {
        self.0.canonical().expose()
    }
}

impl std::fmt::Debug for PresentedAppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedAppPassword")
            .field("id", &self.0.id)
            .finish_non_exhaustive()
    }
}

/// The engine, configured with a policy and keys.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    engine: Arc<Engine>,
}

fn run<T>(
    rec: &UserRecord,
    f: impl FnOnce(&mut UserRecord, &mut Vec<AuditEvent>) -> Result<T, EngineError>,
) -> Step<T> {
    let mut record = rec.clone();
    let mut audit = Vec::new();
    let result = f(&mut record, &mut audit);
    Step {
        record,
        audit,
        result,
    }
}

impl EngineHandle {
    /// An engine for this policy and the key file's JSON.
    pub fn new(policy: Policy, keys_json: &str) -> Result<Self, EngineError> {
        let keys = Keys::from_json(keys_json)?;
        Ok(Self {
            engine: Arc::new(Engine::new(policy, keys)?),
        })
    }

    /// New keys (a sealing key and a signing key) as key-file JSON.
    pub fn generate_keys_json() -> String {
        Keys::generate(&mut OsRandom).to_json()
    }

    /// Rotate a key file: `what` is `signing` or `sealing`. Returns the new JSON and key id.
    pub fn rotate_keys_json(keys_json: &str, what: &str) -> Result<(String, String), EngineError> {
        let mut keys = Keys::from_json(keys_json)?;
        let id = match what {
            "signing" => keys.rotate_signing(&mut OsRandom),
            "sealing" => keys.rotate_sealing(&mut OsRandom),
            _ => {
                return Err(EngineError::InvalidKeys {
                    reason: format!("unknown key kind {what:?}: use signing or sealing"),
                });
            }
        };
        Ok((keys.to_json(), id))
    }

    /// Remove a retired signing key from a key file.
    pub fn retire_signing_key_json(keys_json: &str, id: &str) -> Result<String, EngineError> {
        let mut keys = Keys::from_json(keys_json)?;
        keys.retire_signing(id)?;
        Ok(keys.to_json())
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        self.engine.policy()
    }

    /// The public token signing keys.
    pub fn jwks(&self) -> Jwks {
        self.engine.jwks()
    }

    // ----- records -------------------------------------------------------

    /// A fresh record for a user.
    pub fn new_record(&self, user_id: &str, now: u64) -> UserRecord {
        UserRecord::new(user_id, now)
    }

    /// Read a stored record.
    pub fn record_from_json(&self, json: &str) -> Result<UserRecord, EngineError> {
        UserRecord::from_json(json)
    }

    /// The stored form of a record.
    pub fn record_to_json(&self, rec: &UserRecord) -> String {
        rec.to_json()
    }

    // ----- enrolment -----------------------------------------------------

    /// What the sign-in must do next.
    pub fn enrollment_check(&self, rec: &UserRecord, now: u64) -> NextStep {
        self.engine.enrollment_check(rec, now)
    }

    /// Start registering an authenticator app.
    pub fn begin_authenticator(
        &self,
        rec: &UserRecord,
        account: Option<&str>,
        now: u64,
    ) -> Step<Registration> {
        run(rec, |r, a| {
            self.engine
                .begin_authenticator(r, account, now, &mut OsRandom, a)
        })
    }

    /// Start registering an authentication phone (`country_code` like `+44` or `44`).
    pub fn begin_phone(
        &self,
        rec: &UserRecord,
        country_code: &str,
        national: &str,
        channel: PhoneChannel,
        now: u64,
    ) -> Step<Registration> {
        run(rec, |r, a| {
            let number = PhoneNumber::parse(country_code, national)?;
            self.engine
                .begin_phone(r, number, channel, now, &mut OsRandom, a)
        })
    }

    /// Start registering an authentication e-mail address.
    pub fn begin_email(&self, rec: &UserRecord, address: &str, now: u64) -> Step<Registration> {
        run(rec, |r, a| {
            self.engine.begin_email(r, address, now, &mut OsRandom, a)
        })
    }

    /// Import an existing generator from its otpauth URI.
    pub fn begin_import(&self, rec: &UserRecord, uri: &str, now: u64) -> Step<()> {
        run(rec, |r, a| {
            self.engine.begin_import(r, uri, now, &mut OsRandom, a)
        })
    }

    /// Send the registration code again.
    pub fn resend_registration_code(&self, rec: &UserRecord, now: u64) -> Step<Delivery> {
        run(rec, |r, a| {
            self.engine
                .resend_registration_code(r, now, &mut OsRandom, a)
        })
    }

    /// Prove the registration in progress with a code.
    pub fn confirm_registration(&self, rec: &UserRecord, code: &str, now: u64) -> Step<Confirmed> {
        run(rec, |r, a| {
            self.engine
                .confirm_registration(r, code, now, &mut OsRandom, a)
        })
    }

    /// Choose the default method.
    pub fn set_default_method(&self, rec: &UserRecord, id: MethodId, now: u64) -> Step<()> {
        run(rec, |r, a| self.engine.set_default_method(r, id, now, a))
    }

    /// Remove a method.
    pub fn remove_method(&self, rec: &UserRecord, id: MethodId, now: u64) -> Step<()> {
        run(rec, |r, a| self.engine.remove_method(r, id, now, a))
    }

    // ----- verification --------------------------------------------------

    /// Send a sign-in code (default method when `None`).
    pub fn send_code(
        &self,
        rec: &UserRecord,
        method: Option<MethodId>,
        now: u64,
    ) -> Step<Delivery> {
        run(rec, |r, a| {
            self.engine.send_code(r, method, now, &mut OsRandom, a)
        })
    }

    /// Verify a second factor.
    pub fn verify(
        &self,
        rec: &UserRecord,
        method: Option<MethodId>,
        code: &str,
        now: u64,
    ) -> Step<Verified> {
        run(rec, |r, a| self.engine.verify(r, method, code, now, a))
    }

    /// Use a recovery code as the second factor.
    pub fn verify_recovery_code(&self, rec: &UserRecord, code: &str, now: u64) -> Step<Verified> {
        run(rec, |r, a| {
            self.engine.verify_recovery_code(r, code, now, a)
        })
    }

    /// Issue a new set of recovery codes.
    pub fn regenerate_recovery_codes(&self, rec: &UserRecord, now: u64) -> Step<RecoveryCodes> {
        run(rec, |r, a| {
            self.engine
                .regenerate_recovery_codes(r, now, &mut OsRandom, a)
        })
    }

    // ----- tokens --------------------------------------------------------

    /// Issue an MFA session token after a verified second factor.
    pub fn issue_session(
        &self,
        rec: &UserRecord,
        verified: &Verified,
        primary_amr: &[&str],
        now: u64,
    ) -> Issued<String> {
        let mut audit = Vec::new();
        let value =
            self.engine
                .issue_session(rec, verified, primary_amr, now, &mut OsRandom, &mut audit);
        Issued { value, audit }
    }

    /// Issue an MFA session token right after the user proved a new method
    /// during set-up (the proof is the second factor).
    pub fn issue_session_after_registration(
        &self,
        rec: &UserRecord,
        confirmed: &Confirmed,
        primary_amr: &[&str],
        now: u64,
    ) -> Issued<String> {
        let method_type = rec
            .methods()
            .into_iter()
            .find(|m| m.id == confirmed.method_id)
            .map(|m| m.method_type);
        let verified = Verified {
            method_id: Some(confirmed.method_id),
            method_type,
            matched: confirmed.matched,
            amr: method_type.map(amr_of).into_iter().collect(),
            recovery_codes_left: None,
        };
        self.issue_session(rec, &verified, primary_amr, now)
    }

    /// Issue an MFA session token on a remembered device (its token verified).
    pub fn issue_session_for_device(
        &self,
        rec: &UserRecord,
        primary_amr: &[&str],
        now: u64,
    ) -> Issued<String> {
        let verified = Verified {
            method_id: None,
            method_type: None,
            matched: None,
            amr: Vec::new(),
            recovery_codes_left: None,
        };
        self.issue_session(rec, &verified, primary_amr, now)
    }

    /// Issue a remembered-device token; returns it with its expiry.
    pub fn issue_device_token(&self, rec: &UserRecord, now: u64) -> Issued<(String, u64)> {
        let mut audit = Vec::new();
        let value = self
            .engine
            .issue_device_token(rec, now, &mut OsRandom, &mut audit);
        Issued { value, audit }
    }

    /// Verify an MFA session token.
    pub fn verify_session(&self, token: &str, now: u64) -> Result<SessionClaims, EngineError> {
        self.engine.verify_session(token, now)
    }

    /// Verify a remembered-device token for this user.
    pub fn verify_device_token(
        &self,
        rec: &UserRecord,
        token: &str,
        now: u64,
    ) -> Result<SessionClaims, EngineError> {
        self.engine.verify_device_token(rec, token, now)
    }

    // ----- app passwords -------------------------------------------------

    /// Create an app password (the password is in the answer only).
    pub fn create_app_password(
        &self,
        rec: &UserRecord,
        name: &str,
        scopes: &[String],
        expires_at: Option<u64>,
        now: u64,
    ) -> Step<NewAppPassword> {
        run(rec, |r, a| {
            self.engine
                .create_app_password(r, name, scopes, expires_at, now, &mut OsRandom, a)
        })
    }

    /// Check an app password presented by a client.
    pub fn verify_app_password(
        &self,
        rec: &UserRecord,
        presented: &str,
        scope: Option<&str>,
        now: u64,
    ) -> Step<AppPasswordMatch> {
        run(rec, |r, a| {
            self.engine
                .verify_app_password(r, presented, scope, now, &mut OsRandom, a)
        })
    }

    /// Check the format and checksum of a presented app password (no hashing).
    pub fn parse_app_password(&self, presented: &str) -> Result<PresentedAppPassword, EngineError> {
        ParsedAppPassword::parse(presented).map(PresentedAppPassword)
    }

    /// The credential (hash, scopes, expiry) of one live app password.
    pub fn app_password_credential(
        &self,
        rec: &UserRecord,
        id: &str,
    ) -> Result<AppPasswordCredential, EngineError> {
        self.engine.app_password_credential(rec, id)
    }

    /// Delete one app password.
    pub fn delete_app_password(&self, rec: &UserRecord, id: &str, now: u64) -> Step<()> {
        run(rec, |r, a| self.engine.delete_app_password(r, id, now, a))
    }

    // ----- admin ---------------------------------------------------------

    /// Set the MFA state (disabled, enabled, enforced).
    pub fn set_mfa_state(
        &self,
        rec: &UserRecord,
        state: MfaState,
        actor: &str,
        now: u64,
    ) -> Step<()> {
        run(rec, |r, a| {
            self.engine.set_mfa_state(r, state, actor, now, a);
            Ok(())
        })
    }

    /// Require the user to provide contact methods again.
    pub fn require_reregistration(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        run(rec, |r, a| {
            self.engine.require_reregistration(r, actor, now, a);
            Ok(())
        })
    }

    /// Delete every app password of the user; returns how many.
    pub fn delete_all_app_passwords(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<u32> {
        run(rec, |r, a| {
            Ok(self.engine.delete_all_app_passwords(r, actor, now, a))
        })
    }

    /// Restore MFA on all remembered devices.
    pub fn restore_remembered_devices(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        run(rec, |r, a| {
            self.engine.restore_remembered_devices(r, actor, now, a);
            Ok(())
        })
    }

    /// Lift every lock and back-off.
    pub fn unlock(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        run(rec, |r, a| {
            self.engine.unlock(r, actor, now, a);
            Ok(())
        })
    }

    /// Remove every method, recovery code and remembered device.
    pub fn reset_methods(&self, rec: &UserRecord, actor: &str, now: u64) -> Step<()> {
        run(rec, |r, a| {
            self.engine.reset_methods(r, actor, now, a);
            Ok(())
        })
    }

    /// Seal stored seeds again under the active sealing key.
    pub fn reseal(&self, rec: &UserRecord, now: u64) -> Step<u32> {
        run(rec, |r, a| self.engine.reseal(r, now, &mut OsRandom, a))
    }
}

/// RFC 8176 `amr` value of a method, as the engine reports it for verifications.
fn amr_of(t: MethodType) -> String {
    match t {
        MethodType::Text => "sms",
        MethodType::Call => "tel",
        _ => "otp",
    }
    .to_string()
}

/// Fill a buffer from the operating system's random number generator.
pub fn random_bytes(dest: &mut [u8]) {
    OsRandom.fill(dest);
}
