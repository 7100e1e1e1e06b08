//! The exported `webauthn` interface: a recorded ceremony's registration or
//! assertion, checked by `mfa_core::webauthn` (the code the sign-in flow
//! uses). Nothing here decides: translate in, call, translate out.
use mfa_core as core;
use mfa_core::webauthn as wa;

use crate::Component;
use crate::bindings::exports::mfa::engine::types as w;
use crate::bindings::exports::mfa::engine::webauthn as ww;
use crate::convert::res;

fn relying_party(rp: &ww::RelyingParty) -> Result<wa::RelyingParty, core::Error> {
    let origins: Vec<&str> = rp.origins.iter().map(String::as_str).collect();
    let mut out = wa::RelyingParty::new(&rp.id, &rp.name, &origins)?;
    out.top_origins = rp.top_origins.clone();
    Ok(out)
}

fn uv(c: &ww::RecordedCeremony) -> wa::UserVerification {
    if c.user_verification_required {
        wa::UserVerification::Required
    } else {
        wa::UserVerification::Preferred
    }
}

fn policy(c: &ww::RecordedCeremony) -> wa::CeremonyPolicy {
    wa::CeremonyPolicy {
        user_verification: uv(c),
        ..wa::CeremonyPolicy::default()
    }
}

fn attestation_out(a: wa::AttestationType) -> ww::AttestationType {
    match a {
        wa::AttestationType::None => ww::AttestationType::None,
        wa::AttestationType::SelfAttested => ww::AttestationType::SelfAttested,
        wa::AttestationType::Basic => ww::AttestationType::Basic,
        wa::AttestationType::Trusted => ww::AttestationType::Trusted,
    }
}

impl ww::Guest for Component {
    fn verify_registration(
        rp: ww::RelyingParty,
        ceremony: ww::RecordedCeremony,
        response: String,
        now: u64,
    ) -> Result<ww::NewCredential, w::Error> {
        let checked = relying_party(&rp).and_then(|rp| {
            let recorded = wa::Ceremony::recorded_registration(
                &ceremony.challenge,
                ceremony.expires_at,
                uv(&ceremony),
            );
            let parsed = wa::RegistrationResponse::from_json(&response)?;
            Ok(wa::finish_registration(
                &rp,
                &recorded,
                &policy(&ceremony),
                &[],
                &parsed,
                now,
            )?)
        });
        res(checked, |c| ww::NewCredential {
            credential_id: c.credential_id,
            public_key: c.public_key,
            algorithm: c.algorithm.id(),
            aaguid: c.aaguid.to_vec(),
            sign_count: c.sign_count,
            user_verified: c.user_verified,
            backup_eligible: c.backup_eligible,
            backed_up: c.backed_up,
            attestation: attestation_out(c.attestation),
        })
    }

    fn verify_assertion(
        rp: ww::RelyingParty,
        ceremony: ww::RecordedCeremony,
        credential: ww::StoredCredential,
        response: String,
        now: u64,
    ) -> Result<ww::AssertionResult, w::Error> {
        let checked = relying_party(&rp).and_then(|rp| {
            let allow: Vec<&[u8]> = ceremony.allow.iter().map(Vec::as_slice).collect();
            let recorded = wa::Ceremony::recorded_authentication(
                &ceremony.challenge,
                ceremony.expires_at,
                uv(&ceremony),
                &allow,
            );
            let parsed = wa::AssertionResponse::from_json(&response)?;
            let stored = wa::StoredCredential {
                credential_id: &credential.credential_id,
                public_key: &credential.public_key,
                sign_count: credential.sign_count,
                user_handle: &credential.user_handle,
                backup_eligible: credential.backup_eligible,
            };
            Ok(wa::finish_authentication(
                &rp,
                &recorded,
                &policy(&ceremony),
                stored,
                &parsed,
                now,
            )?)
        });
        res(checked, |r| ww::AssertionResult {
            sign_count: r.sign_count,
            user_verified: r.user_verified,
            backed_up: r.backed_up,
        })
    }
}
