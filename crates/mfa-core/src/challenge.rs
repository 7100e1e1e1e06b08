//! Codes sent by text message, voice call and e-mail.
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::encoding::serde_b64;
use crate::policy::MethodType;
use crate::record::MethodId;
use crate::secret::SecretString;
use crate::{Keys, RandomSource, UnixTime};

/// What a sent code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "for", content = "method_id")]
pub(crate) enum Target {
    /// The registration in progress.
    Registration,
    /// A sign-in with this method.
    SignIn(MethodId),
}

/// A sent code, stored only as a keyed digest (HMAC under a key derived from
/// the sealing key `kid`, over a random salt, the user id and the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub(crate) target: Target,
    pub(crate) channel: MethodType,
    /// The sealing key the digest was made under; absent in challenges stored
    /// before digests were keyed, which are treated as expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(with = "serde_b64")]
    salt: Vec<u8>,
    #[serde(with = "serde_b64")]
    digest: Vec<u8>,
    pub(crate) issued_at: UnixTime,
    pub(crate) expires_at: UnixTime,
    pub(crate) attempts_left: u8,
}

/// A code to deliver. The host sends `message` to `destination` by `channel`;
/// `code` and `message` are secret and redacted in `Debug`.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Text, call or e-mail.
    pub channel: MethodType,
    /// E.164 phone number or e-mail address.
    pub destination: String,
    /// The destination with most of it hidden, for the sign-in page.
    pub masked_destination: String,
    /// The code itself.
    pub code: SecretString,
    /// Subject line for e-mail.
    pub subject: String,
    /// The text to send or read out; contains the code.
    pub message: SecretString,
    /// When the code stops working.
    pub expires_at: UnixTime,
}

/// A uniformly random code of `digits` digits.
pub(crate) fn random_code(rng: &mut dyn RandomSource, digits: u8) -> String {
    let modulus = 10u32.pow(u32::from(digits));
    let v = crate::rand::below(rng, modulus);
    format!("{v:0width$}", width = usize::from(digits))
}

impl Challenge {
    #[expect(
        clippy::too_many_arguments,
        reason = "what a sent code is bound to: its target, channel, user and key, its lifetime and attempts, and the salt's source"
    )]
    pub(crate) fn new(
        target: Target,
        channel: MethodType,
        code: &str,
        user_id: &str,
        keys: &Keys,
        now: UnixTime,
        lifetime: u32,
        attempts: u8,
        rng: &mut dyn RandomSource,
    ) -> Self {
        let mut salt = vec![0u8; 16];
        rng.fill(&mut salt);
        let (kid, digest) = keys.active_code_digest(&[&salt, user_id.as_bytes(), code.as_bytes()]);
        Self {
            target,
            channel,
            kid: Some(kid),
            salt,
            digest,
            issued_at: now,
            expires_at: now + u64::from(lifetime),
            attempts_left: attempts,
        }
    }

    /// Whether the digest can be checked with the configured keys (`false`
    /// for a challenge stored before digests were keyed, or under a sealing
    /// key that was removed).
    pub(crate) fn checkable(&self, keys: &Keys) -> bool {
        self.kid
            .as_deref()
            .is_some_and(|kid| keys.code_digest(kid, &[]).is_some())
    }

    /// Whether `code` (already normalised) is this challenge's code for `user_id`.
    pub(crate) fn matches(&self, keys: &Keys, user_id: &str, code: &str) -> bool {
        let Some(kid) = self.kid.as_deref() else {
            return false;
        };
        keys.code_digest(kid, &[&self.salt, user_id.as_bytes(), code.as_bytes()])
            .is_some_and(|d| bool::from(d.ct_eq(&self.digest)))
    }
}

/// The message text for a code.
pub(crate) fn compose(
    channel: MethodType,
    code: &str,
    issuer: &str,
    lifetime_secs: u32,
) -> (String, String) {
    let minutes = lifetime_secs.div_ceil(60);
    let subject = format!("Your {issuer} verification code");
    let message = match channel {
        MethodType::Call => {
            let spoken: Vec<String> = code.chars().map(|c| c.to_string()).collect();
            let spoken = spoken.join(", ");
            format!(
                "Hello. This is {issuer}. Your verification code is: {spoken}. Again, your code is: {spoken}. If you did not try to sign in, you can hang up."
            )
        }
        MethodType::Email => format!(
            "Use verification code {code} to sign in to {issuer}. It expires in {minutes} minutes.\n\nIf you did not try to sign in, someone may know your password: change it."
        ),
        _ => format!("Use verification code {code} for {issuer}. It expires in {minutes} minutes."),
    };
    (subject, message)
}
