//! [`MfaHost`]: admin operations and the stateless helpers (OTP, contacts, JWKS).
use crate::api::{list, text, texts};
use crate::*;

impl MfaHost {
    /// Set the user's MFA state.
    pub fn set_mfa_state(
        &self,
        record: Record<'_>,
        state: MfaState,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_set_mfa_state(store, engine, user, state, actor, now)
                    .map(Ok)
            }),
            |()| (),
        )
    }

    /// Give (`true`) or take (`false`) the admin role; taking it ends the
    /// user's sessions.
    pub fn set_admin_role(
        &self,
        record: Record<'_>,
        admin: bool,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_set_admin_role(store, engine, user, admin, actor, now)
            }),
            |()| (),
        )
    }

    /// Require the user to provide contact methods again.
    pub fn require_reregistration(
        &self,
        record: Record<'_>,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_require_reregistration(store, engine, user, actor, now)
                    .map(Ok)
            }),
            |()| (),
        )
    }

    /// Delete every app password of the user; returns how many.
    pub fn delete_all_app_passwords(
        &self,
        record: Record<'_>,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<u32>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_delete_all_app_passwords(store, engine, user, actor, now)
                    .map(Ok)
            }),
            |n| n,
        )
    }

    /// Restore MFA on all remembered devices.
    pub fn restore_remembered_devices(
        &self,
        record: Record<'_>,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_restore_remembered_devices(store, engine, user, actor, now)
                    .map(Ok)
            }),
            |()| (),
        )
    }

    /// Issue a one-time pass (600 to 28800 seconds) for a user who cannot use
    /// any of their methods; a new pass replaces an earlier one.
    pub fn issue_one_time_pass(
        &self,
        record: Record<'_>,
        actor: &str,
        lifetime_secs: u32,
        now: UnixTime,
    ) -> Result<Outcome<OneTimePass>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin().call_issue_one_time_pass(
                    store,
                    engine,
                    user,
                    actor,
                    lifetime_secs,
                    now,
                )
            }),
            |p| OneTimePass {
                pass: secret(p.pass),
                expires_at: p.expires_at,
            },
        )
    }

    /// Lift every lock and back-off of the user.
    pub fn unlock(
        &self,
        record: Record<'_>,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_unlock(store, engine, user, actor, now)
                    .map(Ok)
            }),
            |()| (),
        )
    }

    /// Remove every method, recovery code and remembered device.
    pub fn reset_methods(
        &self,
        record: Record<'_>,
        actor: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("actor", actor)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin()
                    .call_reset_methods(store, engine, user, actor, now)
                    .map(Ok)
            }),
            |()| (),
        )
    }

    /// Seal every stored seed again under the active sealing key.
    pub fn reseal(&self, record: Record<'_>, now: UnixTime) -> Result<Outcome<u32>, Error> {
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_admin().call_reseal(store, engine, user, now)
            }),
            |n| n,
        )
    }

    // ----- stateless ------------------------------------------------------

    /// The TOTP code at `now`.
    pub fn totp_code(
        &self,
        secret: &[u8],
        params: TotpParams,
        now: UnixTime,
    ) -> Result<Secret, Error> {
        list("secret", secret)?;
        self.plain(
            |store, api| {
                api.mfa_engine_otp()
                    .call_totp_code(store, secret, params, now)
            },
            types::secret,
        )
    }

    /// The HOTP code for `counter`.
    pub fn hotp_code(
        &self,
        secret: &[u8],
        params: HotpParams,
        counter: u64,
    ) -> Result<Secret, Error> {
        list("secret", secret)?;
        self.plain(
            |store, api| {
                api.mfa_engine_otp()
                    .call_hotp_code(store, secret, params, counter)
            },
            types::secret,
        )
    }

    /// Check a TOTP code within `window` steps either side of `now`.
    pub fn check_totp(
        &self,
        secret: &[u8],
        params: TotpParams,
        code: &str,
        now: UnixTime,
        window: u8,
    ) -> Result<OtpMatch, Error> {
        list("secret", secret)?;
        text("code", code)?;
        self.plain(
            |store, api| {
                api.mfa_engine_otp()
                    .call_check_totp(store, secret, params, code, now, window)
            },
            |m| m,
        )
    }

    /// Check a HOTP code from `counter` up to `look_ahead` counters further.
    pub fn check_hotp(
        &self,
        secret: &[u8],
        params: HotpParams,
        code: &str,
        counter: u64,
        look_ahead: u32,
    ) -> Result<OtpMatch, Error> {
        list("secret", secret)?;
        text("code", code)?;
        self.plain(
            |store, api| {
                api.mfa_engine_otp()
                    .call_check_hotp(store, secret, params, code, counter, look_ahead)
            },
            |m| m,
        )
    }

    /// Parse an otpauth URI.
    pub fn parse_otpauth(&self, uri: &str) -> Result<Otpauth, Error> {
        text("otpauth URI", uri)?;
        self.plain(
            |store, api| api.mfa_engine_otp().call_parse_otpauth(store, uri),
            Otpauth::from,
        )
    }

    /// Check a phone number entered as country code and national number.
    pub fn parse_phone(&self, country_code: &str, national: &str) -> Result<Phone, Error> {
        text("country code", country_code)?;
        text("phone number", national)?;
        self.plain(
            |store, api| {
                api.mfa_engine_contacts()
                    .call_parse_phone(store, country_code, national)
            },
            |p| p,
        )
    }

    /// Check a full E.164 number.
    pub fn parse_e164(&self, number: &str) -> Result<Phone, Error> {
        text("phone number", number)?;
        self.plain(
            |store, api| api.mfa_engine_contacts().call_parse_e164(store, number),
            |p| p,
        )
    }

    /// Check an e-mail address against the organisation's own domains.
    pub fn parse_email(
        &self,
        address: &str,
        organisation_domains: &[String],
    ) -> Result<Email, Error> {
        text("e-mail address", address)?;
        texts("organisation domains", organisation_domains)?;
        self.plain(
            |store, api| {
                api.mfa_engine_contacts()
                    .call_parse_email(store, address, organisation_domains)
            },
            |e| e,
        )
    }
}
