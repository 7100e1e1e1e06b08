//! A user's record as a host holds it for one request: the stored bytes (none
//! yet for a new user) with the engine's summary of them, and the outcome of
//! one operation — or of a chain of them — on it.
//!
//! A host loads the bytes once ([`MfaHost::hold`]), hands [`HeldRecord::as_record`]
//! to each operation, chains the next operation on [`Outcome::record`], and
//! stores the last outcome's bytes once, with compare-and-swap on
//! [`HeldRecord::revision`]. [`MfaHost::held_after`] turns what was stored into
//! the record held for the next request, without opening it again when the
//! operation already returned its summary.
use std::sync::Arc;

use crate::{
    EngineError, Error, Factor, MethodType, MfaHost, Outcome, Record, RecordSummary, UnixTime,
};

/// A user's record as a host holds it (bytes and summary). Cheap to clone.
#[derive(Clone)]
pub struct HeldRecord {
    user_id: String,
    created_at: UnixTime,
    stored: Option<Arc<[u8]>>,
    summary: RecordSummary,
}

impl core::fmt::Debug for HeldRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeldRecord")
            .field("user_id", &self.user_id)
            .field("revision", &self.summary.revision)
            .finish_non_exhaustive()
    }
}

impl HeldRecord {
    /// The record as an operation's argument.
    pub fn as_record(&self) -> Record<'_> {
        match &self.stored {
            Some(b) => Record::Stored(b),
            None => Record::New {
                user_id: &self.user_id,
                now: self.created_at,
            },
        }
    }

    /// The stored bytes (`None` while the user has no stored record).
    pub fn stored(&self) -> Option<&[u8]> {
        self.stored.as_deref()
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The revision read (0 for a user without a stored record).
    pub fn revision(&self) -> u64 {
        self.summary.revision
    }

    /// The engine's summary of the record.
    pub fn summary(&self) -> &RecordSummary {
        &self.summary
    }

    /// When the factor's lock ends, if it is locked at `now`.
    pub fn locked_until(&self, factor: Factor, now: UnixTime) -> Option<UnixTime> {
        self.summary
            .factors
            .iter()
            .find(|s| s.factor == factor)
            .and_then(|s| s.locked_until)
            .filter(|&t| t > now)
    }

    /// Failures in a row of the factor.
    pub fn consecutive_failures(&self, factor: Factor) -> u32 {
        self.summary
            .factors
            .iter()
            .find(|s| s.factor == factor)
            .map_or(0, |s| s.failures)
    }

    /// The type of a registered method.
    pub fn method_type(&self, id: u32) -> Option<MethodType> {
        self.summary
            .methods
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.method_type)
    }
}

impl MfaHost {
    /// Hold a user's record: `stored` as read from storage (`None`: the user
    /// has none yet, and one made at `created_at` stands in), summarised by
    /// the engine.
    pub fn hold(
        &self,
        user_id: &str,
        stored: Option<Arc<[u8]>>,
        created_at: UnixTime,
        now: UnixTime,
    ) -> Result<HeldRecord, Error> {
        let record = match &stored {
            Some(b) => Record::Stored(b),
            None => Record::New {
                user_id,
                now: created_at,
            },
        };
        let summary = self.summary(record, now)?;
        Ok(HeldRecord {
            user_id: user_id.to_string(),
            created_at,
            stored,
            summary,
        })
    }

    /// The record held after `before` changed into `stored`: `summary` is the
    /// one the operation returned with it; without one the engine reads the
    /// new bytes.
    pub fn held_after(
        &self,
        before: &HeldRecord,
        stored: Vec<u8>,
        summary: Option<RecordSummary>,
        now: UnixTime,
    ) -> Result<HeldRecord, Error> {
        match summary {
            Some(summary) => Ok(HeldRecord {
                user_id: before.user_id.clone(),
                created_at: before.created_at,
                stored: Some(stored.into()),
                summary,
            }),
            None => self.hold(&before.user_id, Some(stored.into()), before.created_at, now),
        }
    }
}

impl<T> Outcome<T> {
    /// The record to hand to the next operation of a chain: the new bytes
    /// when this one changed it, else the record it started from.
    pub fn record<'a>(&'a self, before: &'a HeldRecord) -> Record<'a> {
        match &self.saved.stored {
            Some(b) => Record::Stored(b),
            None => before.as_record(),
        }
    }

    /// The same outcome with the answer made from this one's.
    pub fn then<U>(
        self,
        f: impl FnOnce(Result<T, EngineError>) -> Result<U, EngineError>,
    ) -> Outcome<U> {
        Outcome {
            result: f(self.result),
            saved: self.saved,
        }
    }

    /// The same outcome with another answer.
    pub fn with<U>(self, result: Result<U, EngineError>) -> Outcome<U> {
        self.then(|_| result)
    }

    /// The answer, a refusal included, as the successful answer (so a host
    /// can still describe a refusal with what it read before).
    pub fn settle(self) -> Outcome<Result<T, EngineError>> {
        self.then(Ok)
    }

    /// Map the answer.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        self.then(|r| r.map(f))
    }
}
