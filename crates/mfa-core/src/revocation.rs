//! The revocation feed a gateway fetches beside the JWKS: which users'
//! sessions ended lately, as the session epoch now in force. A gateway that
//! verifies session tokens with the public keys alone refuses a token whose
//! `ses_epoch` is older than its user's entry. Only revocations younger than
//! the session lifetime are listed: every token issued before an older one
//! has expired anyway, so the feed stays small.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::token::SessionClaims;
use crate::{Error, UnixTime};

/// Largest feed accepted (bytes of JSON).
pub const MAX_REVOCATIONS_BYTES: usize = 4 << 20;

/// What [`Revocations::judge`] says about a session token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCheck {
    /// Not revoked, by a fresh feed.
    Current,
    /// Issued before its user's sessions were revoked.
    Revoked,
    /// No fresh feed to decide by (`age_secs`: how old the one held is, if
    /// any); the gateway refuses until it has one.
    Unknown {
        /// Seconds since the feed held was fetched.
        age_secs: Option<u64>,
    },
}

/// The feed: the session epoch in force for each user whose sessions were
/// revoked within one session lifetime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocations {
    /// When the issuer built it.
    pub issued_at: UnixTime,
    /// User id → the oldest session epoch still valid.
    pub epochs: BTreeMap<String, u32>,
}

impl Revocations {
    /// Build the feed from revocation events (user, new epoch), keeping the
    /// newest epoch of each user.
    pub fn from_events<'a>(
        events: impl IntoIterator<Item = (&'a str, u32)>,
        issued_at: UnixTime,
    ) -> Self {
        let mut epochs = BTreeMap::new();
        for (user, epoch) in events {
            let e: &mut u32 = epochs.entry(user.to_string()).or_default();
            *e = (*e).max(epoch);
        }
        Self { issued_at, epochs }
    }

    /// Parse a feed (e.g. from `/.well-known/mfa-revocations.json`).
    pub fn parse(json: &str) -> Result<Self, Error> {
        if json.len() > MAX_REVOCATIONS_BYTES {
            return Err(Error::InvalidInput {
                field: "revocations",
                reason: "the revocation feed is larger than 4 MiB".into(),
            });
        }
        serde_json::from_str(json).map_err(|e| Error::InvalidInput {
            field: "revocations",
            reason: format!(
                "the revocation feed is not the expected JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        })
    }

    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("revocations serialise")
    }

    /// Refuse a session token issued before its user's sessions were revoked.
    pub fn check(&self, claims: &SessionClaims) -> Result<(), Error> {
        match self.epochs.get(&claims.sub) {
            Some(&epoch) if claims.ses_epoch.unwrap_or(0) < epoch => Err(Error::TokenRevoked),
            _ => Ok(()),
        }
    }

    /// The gateway's rule for a verified session token, given the feed it
    /// holds (and when it fetched it): refused when the feed says the
    /// user's sessions were revoked after the token was issued, and
    /// unknown — the gateway fails closed — when it holds no feed or one
    /// older than `max_age_secs`. This is the bound on staleness: a revoked
    /// session passes a gateway for at most `max_age_secs` (plus the
    /// issuer's own feed cache).
    pub fn judge(
        held: Option<(&Self, UnixTime)>,
        claims: &SessionClaims,
        now: UnixTime,
        max_age_secs: u64,
    ) -> RevocationCheck {
        match held {
            Some((feed, fetched_at)) if Self::is_fresh(fetched_at, now, max_age_secs) => {
                match feed.check(claims) {
                    Ok(()) => RevocationCheck::Current,
                    Err(_) => RevocationCheck::Revoked,
                }
            }
            Some((_, fetched_at)) => RevocationCheck::Unknown {
                age_secs: Some(now.saturating_sub(fetched_at)),
            },
            None => RevocationCheck::Unknown { age_secs: None },
        }
    }

    /// Whether a feed fetched at `fetched_at` is still fresh enough to rely on
    /// at `now`: gateways refuse session tokens when it is older than `max_age_secs`
    /// (the bound on how long a revoked session may still pass).
    pub fn is_fresh(fetched_at: UnixTime, now: UnixTime, max_age_secs: u64) -> bool {
        now.saturating_sub(fetched_at) <= max_age_secs
    }
}
