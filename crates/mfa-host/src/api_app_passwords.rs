//! [`MfaHost`]: app passwords and token checks.
use crate::api::{text, texts};
use crate::*;

impl MfaHost {
    /// Create an app password.
    pub fn create_app_password(
        &self,
        record: Record<'_>,
        request: &AppPasswordRequest,
        now: UnixTime,
    ) -> Result<Outcome<NewAppPassword>, Error> {
        text("name", &request.name)?;
        texts("scopes", &request.scopes)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_app_passwords()
                    .call_create(store, engine, user, request, now)
            }),
            NewAppPassword::from,
        )
    }

    /// Check an app password presented by a client, optionally for a scope.
    pub fn verify_app_password(
        &self,
        record: Record<'_>,
        password: &str,
        scope: Option<&str>,
        now: UnixTime,
    ) -> Result<Outcome<AppPasswordMatch>, Error> {
        text("app password", password)?;
        text("scope", scope.unwrap_or_default())?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_app_passwords()
                    .call_verify(store, engine, user, password, scope, now)
            }),
            |m| m,
        )
    }

    /// Delete one app password.
    pub fn delete_app_password(
        &self,
        record: Record<'_>,
        id: &str,
        now: UnixTime,
    ) -> Result<Outcome<()>, Error> {
        text("app password id", id)?;
        self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_app_passwords()
                    .call_delete(store, engine, user, id, now)
            }),
            |()| (),
        )
    }

    /// The gateway credential of one live app password.
    pub fn app_password_credential(
        &self,
        record: Record<'_>,
        id: &str,
    ) -> Result<AppPasswordCredential, Error> {
        text("app password id", id)?;
        let out = self.with_record(
            record,
            None,
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_app_passwords()
                    .call_credential(store, engine, user, id)
            }),
            |c| c,
        )?;
        out.result.map_err(Error::Engine)
    }

    /// Check the format and checksum of an app password (no hashing); returns its id.
    pub fn parse_app_password(&self, password: &str) -> Result<String, Error> {
        text("app password", password)?;
        self.plain(
            |store, api| api.mfa_engine_app_passwords().call_parse(store, password),
            |id| id,
        )
    }

    /// Check a presented password against a credential, offline.
    pub fn verify_app_password_credential(
        &self,
        credential: &AppPasswordCredential,
        password: &str,
        scope: Option<&str>,
        now: UnixTime,
        argon2: Argon2Params,
    ) -> Result<AppPasswordMatch, Error> {
        text("app password", password)?;
        text("scope", scope.unwrap_or_default())?;
        text("credential hash", &credential.hash)?;
        texts("credential scopes", &credential.scopes)?;
        self.plain(
            |store, api| {
                api.mfa_engine_app_passwords()
                    .call_verify_credential(store, credential, password, scope, now, argon2)
            },
            |m| m,
        )
    }

    // ----- tokens ---------------------------------------------------------

    /// Verify an MFA session token.
    pub fn verify_session(&self, token: &str, now: UnixTime) -> Result<SessionClaims, Error> {
        text("token", token)?;
        self.rt
            .call(|slot| {
                slot.api.mfa_engine_tokens().call_verify_session(
                    &mut slot.store,
                    slot.engine,
                    token,
                    now,
                )
            })?
            .map_err(Error::from)
    }

    /// Verify a remembered-device token of this user.
    pub fn verify_device_token(
        &self,
        record: Record<'_>,
        token: &str,
        now: UnixTime,
    ) -> Result<SessionClaims, Error> {
        text("token", token)?;
        let out = self.with_record(
            record,
            Some(now),
            Box::new(move |store, api, engine, user| {
                api.mfa_engine_tokens()
                    .call_verify_device_token(store, engine, user, token, now)
            }),
            |c| c,
        )?;
        out.result.map_err(Error::Engine)
    }

    /// Verify a token against a published JWKS document.
    pub fn verify_token_with_jwks(
        &self,
        jwks: &str,
        issuer: &str,
        audience: &str,
        kind: TokenKind,
        token: &str,
        now: UnixTime,
    ) -> Result<SessionClaims, Error> {
        text("JWKS", jwks)?;
        text("issuer", issuer)?;
        text("audience", audience)?;
        text("token", token)?;
        self.plain(
            |store, api| {
                api.mfa_engine_tokens()
                    .call_verify_with_jwks(store, jwks, issuer, audience, kind, token, now)
            },
            |c| c,
        )
    }
}
