//! Exemplars: the trace of one recent call, kept per histogram bucket and per result.
//!
//! Only calls inside an enabled span whose trace is sampled are candidates, and each
//! bucket takes at most one every [`INTERVAL_NS`]: the trace-id lookup (a subscriber
//! round trip) happens at most that often per bucket, never on the disabled path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing::Span;

/// Smallest gap between two exemplars of one bucket.
const INTERVAL_NS: u64 = 100_000_000;

/// Looks up the (trace id, span id, sampled) of a span; installed by the OpenTelemetry
/// layer.
pub(crate) type TraceIds = fn(&Span) -> Option<([u8; 16], [u8; 8], bool)>;

static TRACE_IDS: OnceLock<TraceIds> = OnceLock::new();

/// Installs the trace-id lookup (once per process; the first one stays).
#[allow(dead_code)] // set by the `otlp` feature
pub(crate) fn set_trace_ids(f: TraceIds) {
    let _ = TRACE_IDS.set(f);
}

pub(crate) fn ids_of(span: &Span) -> Option<([u8; 16], [u8; 8], bool)> {
    if span.is_disabled() {
        return None;
    }
    (TRACE_IDS.get()?)(span)
}

/// One exemplar: the trace that produced an observation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    /// The observed value (seconds for durations, 1 for a counter increment).
    pub(crate) value: f64,
    /// Wall-clock time of the observation, in nanoseconds since the Unix epoch.
    pub(crate) unix_nanos: u64,
}

#[derive(Debug)]
struct Cells<const NB: usize> {
    buckets: [Option<Exemplar>; NB],
    outcomes: [Option<Exemplar>; 4],
}

/// Exemplar storage of one monitored function.
#[derive(Debug)]
pub(crate) struct Exemplars<const NB: usize> {
    /// Monotonic time (ns) before which a bucket takes no new exemplar.
    next_ns: [AtomicU64; NB],
    cells: Mutex<Cells<NB>>,
}

impl<const NB: usize> Exemplars<NB> {
    pub(crate) const fn new() -> Self {
        Exemplars {
            next_ns: [const { AtomicU64::new(0) }; NB],
            cells: Mutex::new(Cells {
                buckets: [None; NB],
                outcomes: [None; 4],
            }),
        }
    }

    /// Offers a call that ended at monotonic time `now_ns` in `bucket`.
    #[inline(always)]
    pub(crate) fn offer(
        &self,
        span: &Span,
        bucket: usize,
        outcome: usize,
        nanos: u64,
        now_ns: u64,
    ) {
        let Some(lookup) = TRACE_IDS.get() else {
            return;
        };
        let next = &self.next_ns[bucket];
        if now_ns < next.load(Ordering::Relaxed) {
            return;
        }
        self.store(*lookup, span, bucket, outcome, nanos, now_ns);
    }

    #[cold]
    #[inline(never)]
    fn store(
        &self,
        lookup: TraceIds,
        span: &Span,
        bucket: usize,
        outcome: usize,
        nanos: u64,
        now_ns: u64,
    ) {
        // One caller per bucket and interval wins the lookup.
        let next = &self.next_ns[bucket];
        let seen = next.load(Ordering::Relaxed);
        if now_ns < seen
            || next
                .compare_exchange(
                    seen,
                    now_ns + INTERVAL_NS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        let Some((trace_id, span_id, true)) = lookup(span) else {
            // Not sampled: let the next call try again.
            next.store(seen, Ordering::Relaxed);
            return;
        };
        let unix_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let exemplar = Exemplar {
            trace_id,
            span_id,
            value: nanos as f64 / 1e9,
            unix_nanos,
        };
        // A scrape holding the lock is never waited for: this exemplar is skipped.
        if let Ok(mut cells) = self.cells.try_lock() {
            cells.buckets[bucket] = Some(exemplar);
            cells.outcomes[outcome] = Some(Exemplar {
                value: 1.0,
                ..exemplar
            });
        }
    }

    /// Current exemplars: per bucket, per outcome.
    pub(crate) fn read(&self) -> (Vec<Option<Exemplar>>, [Option<Exemplar>; 4]) {
        let cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        (cells.buckets.to_vec(), cells.outcomes)
    }
}
