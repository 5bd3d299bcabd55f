//! Exemplars: the trace of one recent call, kept per histogram bucket and per result.
//!
//! Only calls inside an enabled span whose trace is sampled are candidates, and each
//! bucket (and each result counter) takes at most one every [`INTERVAL_NS`]: the
//! trace-id lookup (a subscriber round trip) happens at most that often per cell, never
//! on the disabled path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing::Span;

use crate::span_ids::{self, IdsOfSpan};

/// Smallest gap between two exemplars of one bucket.
const INTERVAL_NS: u64 = 100_000_000;
/// Gap before the next lookup when the last call's trace was not sampled.
const RETRY_NS: u64 = INTERVAL_NS / 10;

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
    /// The same for each outcome's counter, so a rare outcome (an error after many
    /// successes in the same bucket) still gets its exemplar.
    next_outcome_ns: [AtomicU64; 4],
    cells: Mutex<Cells<NB>>,
}

impl<const NB: usize> Exemplars<NB> {
    pub(crate) const fn new() -> Self {
        Exemplars {
            next_ns: [const { AtomicU64::new(0) }; NB],
            next_outcome_ns: [const { AtomicU64::new(0) }; 4],
            cells: Mutex::new(Cells {
                buckets: [None; NB],
                outcomes: [None; 4],
            }),
        }
    }

    /// Offers a call that ended at raw clock time `end` in `bucket`.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn offer(&self, span: &Span, bucket: usize, outcome: usize, nanos: u64, end: u64) {
        let Some(lookup) = span_ids::lookup() else {
            return;
        };
        // Scaled only when exemplars can be taken at all.
        let now_ns = crate::clock::nanos_between(0, end);
        if now_ns < self.next_ns[bucket].load(Ordering::Relaxed)
            && now_ns < self.next_outcome_ns[outcome].load(Ordering::Relaxed)
        {
            return;
        }
        self.store(lookup, span, bucket, outcome, nanos, now_ns);
    }

    #[cold]
    #[inline(never)]
    fn store(
        &self,
        lookup: IdsOfSpan,
        span: &Span,
        bucket: usize,
        outcome: usize,
        nanos: u64,
        now_ns: u64,
    ) {
        // One caller per cell and interval wins the lookup.
        let claim = |cell: &AtomicU64| {
            let seen = cell.load(Ordering::Relaxed);
            (now_ns >= seen
                && cell
                    .compare_exchange(
                        seen,
                        now_ns + INTERVAL_NS,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok())
            .then_some(seen)
        };
        let bucket_claim = claim(&self.next_ns[bucket]);
        let outcome_claim = claim(&self.next_outcome_ns[outcome]);
        if bucket_claim.is_none() && outcome_claim.is_none() {
            return;
        }
        let Some((trace_id, span_id, true)) = lookup(span) else {
            // Not sampled (an `always_off` or ratio sampler, a remote `-00` parent): try
            // again soon, not on the very next call, so unsampled calls do not pay for
            // a lookup each.
            let retry = now_ns + RETRY_NS;
            if bucket_claim.is_some() {
                self.next_ns[bucket].store(retry, Ordering::Relaxed);
            }
            if outcome_claim.is_some() {
                self.next_outcome_ns[outcome].store(retry, Ordering::Relaxed);
            }
            return;
        };
        let exemplar = Exemplar {
            trace_id,
            span_id,
            value: nanos as f64 / 1e9,
            unix_nanos: crate::clock::unix_nanos(),
        };
        // A scrape holding the lock is never waited for: this exemplar is skipped.
        if let Ok(mut cells) = self.cells.try_lock() {
            if bucket_claim.is_some() {
                cells.buckets[bucket] = Some(exemplar);
            }
            if outcome_claim.is_some() {
                cells.outcomes[outcome] = Some(Exemplar {
                    value: 1.0,
                    ..exemplar
                });
            }
        }
    }

    /// Current exemplars: per bucket, per outcome.
    pub(crate) fn read(&self) -> (Vec<Option<Exemplar>>, [Option<Exemplar>; 4]) {
        let cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        (cells.buckets.to_vec(), cells.outcomes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    static LOOKUPS: AtomicUsize = AtomicUsize::new(0);

    // The signature of a `TraceIds` lookup.
    #[allow(clippy::unnecessary_wraps)]
    fn never_sampled(_: &Span) -> Option<([u8; 16], [u8; 8], bool)> {
        LOOKUPS.fetch_add(1, Ordering::Relaxed);
        Some(([1; 16], [2; 8], false))
    }

    #[allow(clippy::unnecessary_wraps)]
    fn sampled(_: &Span) -> Option<([u8; 16], [u8; 8], bool)> {
        Some(([3; 16], [4; 8], true))
    }

    #[test]
    fn unsampled_calls_back_off() {
        let exemplars = Exemplars::<2>::new();
        let span = Span::none();
        let start = 1_000_000_000;
        // A burst of unsampled calls at one instant: one lookup, not one per call.
        for _ in 0..100 {
            if start >= exemplars.next_ns[0].load(Ordering::Relaxed)
                || start >= exemplars.next_outcome_ns[0].load(Ordering::Relaxed)
            {
                exemplars.store(never_sampled, &span, 0, 0, 5, start);
            }
        }
        assert_eq!(LOOKUPS.load(Ordering::Relaxed), 1);
        assert_eq!(exemplars.read().0[0], None);
        // After the short back-off a sampled call is taken at once.
        exemplars.store(sampled, &span, 0, 0, 5, start + RETRY_NS);
        let (buckets, outcomes) = exemplars.read();
        assert_eq!(buckets[0].unwrap().trace_id, [3; 16]);
        assert!((outcomes[0].unwrap().value - 1.0).abs() < f64::EPSILON);
    }
}
