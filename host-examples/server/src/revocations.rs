//! The revocation feed gateways fetch beside the JWKS
//! (`/.well-known/mfa-revocations.json`): the session epoch in force for each
//! user whose sessions ended within one session lifetime, read from the audit
//! log and built by `mfa_core::Revocations`. Who may call: gateways, with
//! the gateway token when one is configured (the feed names users). What an
//! attacker tries: reading which accounts were reset (the token), flooding
//! the endpoint (answers come from a one-second cache, one query a second).
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::ApiError;
use crate::store::AuditQuery;
use crate::{AppState, store_err, unix_now};

/// How long one built feed is served before it is read again.
pub const FEED_CACHE: Duration = Duration::from_secs(1);
/// Most revocation events read into one feed.
pub const MAX_FEED_EVENTS: i64 = 100_000;
/// The audit event that ends a user's sessions.
const EVENT: &str = "sessions_revoked";

/// The feed last built, and when.
pub type FeedCache = std::sync::Mutex<Option<(Instant, Arc<str>)>>;

impl AppState {
    /// The feed as JSON, from the cache when it is younger than [`FEED_CACHE`].
    pub async fn revocations_json(&self) -> Result<Arc<str>, ApiError> {
        if let Ok(g) = self.revocations.lock()
            && let Some((at, json)) = &*g
            && at.elapsed() < FEED_CACHE
        {
            return Ok(json.clone());
        }
        let now = unix_now();
        let lifetime = u64::from(self.engine().policy().session_lifetime_secs);
        let rows = self
            .store
            .audit(&AuditQuery {
                event: Some(EVENT.to_string()),
                since: Some(i64::try_from(now.saturating_sub(lifetime)).unwrap_or(0)),
                limit: MAX_FEED_EVENTS,
                ..AuditQuery::default()
            })
            .await
            .map_err(|e| store_err(&e))?;
        if rows.len() as i64 >= MAX_FEED_EVENTS {
            tracing::warn!(
                events = rows.len(),
                "more session revocations within one session lifetime than the feed holds; the oldest are left out"
            );
        }
        let events = rows.iter().filter_map(|r| {
            let epoch = r.detail.get("epoch")?.as_u64()?;
            Some((r.user.as_str(), u32::try_from(epoch).ok()?))
        });
        let json: Arc<str> = mfa_core::Revocations::from_events(events, now)
            .to_json()
            .into();
        if let Ok(mut g) = self.revocations.lock() {
            *g = Some((Instant::now(), json.clone()));
        }
        Ok(json)
    }

    /// Drop the cached feed: a revocation was committed.
    pub fn forget_revocations(&self) {
        if let Ok(mut g) = self.revocations.lock() {
            *g = None;
        }
    }
}
