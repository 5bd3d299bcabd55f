//! The most recent slow and failed queries, in a bounded ring, for a status page and
//! for tools of the application's own ([`recent_queries`]).
//!
//! A query lands here when it fails or when it takes at least the slow-query threshold
//! ([`db_slow_query_threshold`](crate::ObservabilityBuilder::db_slow_query_threshold),
//! 1 s by default). Only those pay for the ring's lock; the ring keeps the last
//! [`CAPACITY`] and drops the oldest.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// How many slow or failed queries the ring keeps.
pub const CAPACITY: usize = 64;

/// A slow or failed query, as [`recent_queries`] reports it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecentQuery {
    /// When it ended.
    pub at: SystemTime,
    /// `db.system.name`: `postgresql`, `sqlite`, `mysql`.
    pub system: &'static str,
    /// `db.namespace`, when known.
    pub namespace: Option<&'static str>,
    /// The pool it ran on (`db.client.connection.pool.name`), when it ran through one.
    pub pool: Option<&'static str>,
    /// `db.query.summary`: `SELECT orders`.
    pub summary: &'static str,
    /// How long the call took, waiting for a connection included.
    pub duration: Duration,
    /// `error.type` when it failed: the SQLSTATE or SQLite result code, else the kind
    /// of `sqlx::Error` (`pool_timed_out`, `io`, …).
    pub error_type: Option<String>,
    /// `db.response.status_code`, when the database returned one.
    pub status_code: Option<String>,
    /// The sanitised statement (`db.query.text`), only when query text is turned on
    /// ([`db_query_text`](crate::ObservabilityBuilder::db_query_text)).
    pub text: Option<String>,
    /// The trace id of its span, when OpenTelemetry is on (feature `otlp`).
    pub trace_id: Option<String>,
}

impl RecentQuery {
    /// Whether it failed (else it was slow).
    pub fn failed(&self) -> bool {
        self.error_type.is_some()
    }
}

static RING: Mutex<VecDeque<RecentQuery>> = Mutex::new(VecDeque::new());

pub(crate) fn push(query: RecentQuery) {
    let mut ring = RING.lock().unwrap_or_else(PoisonError::into_inner);
    if ring.len() == CAPACITY {
        ring.pop_front();
    }
    ring.push_back(query);
}

/// The recent slow and failed queries, newest first (at most [`CAPACITY`]).
///
/// ```
/// for q in flext_observability::sqlx::recent_queries() {
///     let outcome = q.error_type.as_deref().unwrap_or("slow");
///     println!("{} {} took {:?}: {outcome}", q.system, q.summary, q.duration);
/// }
/// ```
pub fn recent_queries() -> Vec<RecentQuery> {
    RING.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .rev()
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest() {
        let q = |i: u64| RecentQuery {
            at: SystemTime::UNIX_EPOCH,
            system: "sqlite",
            namespace: None,
            pool: None,
            summary: "SELECT ring_test",
            duration: Duration::from_millis(i),
            error_type: None,
            status_code: None,
            text: None,
            trace_id: None,
        };
        for i in 0..(CAPACITY as u64 + 10) {
            push(q(i));
        }
        let ours: Vec<u64> = recent_queries()
            .iter()
            .filter(|r| r.summary == "SELECT ring_test")
            .map(|r| u64::try_from(r.duration.as_millis()).unwrap())
            .collect();
        assert_eq!(ours.len(), CAPACITY);
        assert_eq!(ours[0], CAPACITY as u64 + 9);
        assert_eq!(*ours.last().unwrap(), 10);
    }
}
