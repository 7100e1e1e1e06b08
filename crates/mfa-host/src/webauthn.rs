//! The contract's `webauthn` interface: a recorded ceremony's registration
//! or assertion checked by the component, outside the sign-in flow (which
//! keeps its ceremonies itself, [`MfaHost::begin_passkey_sign_in`]).
use crate::api::{list, text};
use crate::bindings::exports::mfa::engine::webauthn as ww;
use crate::{Error, MfaHost, UnixTime};

pub use ww::{
    AssertionResult, AttestationType, NewCredential, RecordedCeremony, RelyingParty,
    StoredCredential,
};

fn sizes(rp: &RelyingParty, ceremony: &RecordedCeremony, response: &str) -> Result<(), Error> {
    text("relying party id", &rp.id)?;
    text("relying party name", &rp.name)?;
    list("origins", &rp.origins)?;
    list("top origins", &rp.top_origins)?;
    list("challenge", &ceremony.challenge)?;
    list("allowed credentials", &ceremony.allow)?;
    text("passkey response", response)
}

impl MfaHost {
    /// Verify a registration (`RegistrationResponseJSON`) against a ceremony
    /// the caller recorded; refused with `passkey-refused` and the failed check.
    pub fn verify_passkey_registration(
        &self,
        rp: &RelyingParty,
        ceremony: &RecordedCeremony,
        response: &str,
        now: UnixTime,
    ) -> Result<NewCredential, Error> {
        sizes(rp, ceremony, response)?;
        self.plain(
            |store, api| {
                api.mfa_engine_webauthn()
                    .call_verify_registration(store, rp, ceremony, response, now)
            },
            |c| c,
        )
    }

    /// Verify an assertion (`AuthenticationResponseJSON`) against a recorded
    /// ceremony and the stored credential.
    pub fn verify_passkey_assertion(
        &self,
        rp: &RelyingParty,
        ceremony: &RecordedCeremony,
        credential: &StoredCredential,
        response: &str,
        now: UnixTime,
    ) -> Result<AssertionResult, Error> {
        sizes(rp, ceremony, response)?;
        list("public key", &credential.public_key)?;
        self.plain(
            |store, api| {
                api.mfa_engine_webauthn()
                    .call_verify_assertion(store, rp, ceremony, credential, response, now)
            },
            |r| r,
        )
    }
}
