//! The session revocations a gate holds: the server's feed
//! (`/.well-known/mfa-revocations.json`), fetched by the host every
//! `refresh_secs` and judged by `mfa_core::Revocations::judge`. Who may
//! feed it: only the host's call to the configured cluster. What an
//! attacker tries: a revoked session before the next fetch (bounded by
//! `max_age_secs`), a server that stops answering so old feeds stay in force
//! (past `max_age_secs` every session is refused), an oversized or malformed
//! answer (refused; the feed held stays and ages out).
use std::cell::{Cell, RefCell};

use mfa_core::{RevocationCheck, Revocations, SessionClaims};

use super::{Denial, Gate};
use crate::config::RevocationFeed;

/// The newest feed a gate holds, when it was fetched, and when a fetch was last started.
#[derive(Default)]
pub(super) struct Held {
    feed: RefCell<Option<(Revocations, u64)>>,
    last_attempt: Cell<Option<u64>>,
}

impl Gate {
    /// The feed to fetch now, if one is configured and due: the host calls
    /// this on its timer and, when it answers `Some`, calls the server and
    /// hands the answer to [`Gate::revocations_fetched`].
    pub fn revocations_due(&self, now: u64) -> Option<&RevocationFeed> {
        let feed = self.config.session.as_ref()?.revocations.as_ref()?;
        let due = self
            .held
            .last_attempt
            .get()
            .is_none_or(|at| now >= at.saturating_add(feed.refresh_secs));
        due.then(|| {
            self.held.last_attempt.set(Some(now));
            feed
        })
    }

    /// The fetch could not even be started: try again at the next tick.
    pub fn revocations_not_sent(&self) {
        self.held.last_attempt.set(None);
    }

    /// Take the server's answer: on a 200 with a readable feed it replaces
    /// the one held (the number of users listed is returned); anything else
    /// is an error to log, and the feed held keeps ageing.
    pub fn revocations_fetched(
        &self,
        status: Option<u16>,
        body: &[u8],
        now: u64,
    ) -> Result<usize, String> {
        match status {
            Some(200) => {}
            Some(s) => return Err(format!("the revocation feed answered {s}")),
            None => return Err("the revocation feed did not answer".into()),
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| "the revocation feed is not UTF-8 text".to_string())?;
        let feed = Revocations::parse(text).map_err(|e| e.to_string())?;
        let users = feed.epochs.len();
        *self.held.feed.borrow_mut() = Some((feed, now));
        Ok(users)
    }

    /// Whether a verified session may pass, by the feed held.
    pub(super) fn not_revoked(
        &self,
        claims: &SessionClaims,
        now: u64,
    ) -> Result<(), (Denial, String)> {
        let Some(cfg) = self
            .config
            .session
            .as_ref()
            .and_then(|s| s.revocations.as_ref())
        else {
            return Ok(());
        };
        let held = self.held.feed.borrow();
        let held = held.as_ref().map(|(f, at)| (f, *at));
        match Revocations::judge(held, claims, now, cfg.max_age_secs) {
            RevocationCheck::Current => Ok(()),
            RevocationCheck::Revoked => Err((
                Denial::SessionRevoked,
                "this session was ended (signed out everywhere, or reset by an admin); sign in again"
                    .into(),
            )),
            RevocationCheck::Unknown { .. } => Err((
                Denial::RevocationsUnavailable,
                "sessions cannot be checked right now; try again shortly".into(),
            )),
        }
    }
}
