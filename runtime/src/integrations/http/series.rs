//! Series storage, written by requests without a lock, a hash or an allocation.
//!
//! A series is identified by a packed key (method, status, scheme, version, error type
//! ids: all small integers from the tables of `semconv`) inside the list of its route or
//! destination. Lists are append-only arrays of series, chained in chunks: a request
//! scans the few series of its route comparing one integer each, and claims a free slot
//! with one compare-and-swap the first time its key appears. Chunks are allocated (and
//! never freed) only when a new series needs one, within a global series budget; past
//! it, requests go to one overflow series.

use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use super::semconv::{DURATION_BOUNDS_NS, SIZE_BOUNDS};
use crate::exemplar::{Exemplar, Exemplars};

/// Duration buckets: the bounds and `+Inf`.
pub(crate) const NB: usize = DURATION_BOUNDS_NS.len() + 1;
/// Size buckets: the bounds and `+Inf`.
pub(crate) const SB: usize = SIZE_BOUNDS.len() + 1;
/// Series per chunk.
const CHUNK: usize = 4;

/// What identifies a series within its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) method: u8,
    /// 0 when no status was sent (a panic without catch-panic, a cancelled request, an
    /// error of the service or the transport).
    pub(crate) status: u16,
    pub(crate) scheme: u8,
    pub(crate) version: u8,
    pub(crate) error: u8,
}

const OCCUPIED: u64 = 1 << 63;

impl Key {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn pack(self) -> u64 {
        OCCUPIED
            | u64::from(self.method) << 40
            | u64::from(self.status) << 24
            | u64::from(self.scheme) << 16
            | u64::from(self.version) << 8
            | u64::from(self.error)
    }

    fn unpack(packed: u64) -> Key {
        // Truncations are the inverse of `pack`.
        #[allow(clippy::cast_possible_truncation)]
        Key {
            method: (packed >> 40) as u8,
            status: (packed >> 24) as u16,
            scheme: (packed >> 16) as u8,
            version: (packed >> 8) as u8,
            error: packed as u8,
        }
    }
}

/// A size histogram (bytes).
#[derive(Debug)]
pub(crate) struct Sizes {
    counts: [AtomicU64; SB],
    sum: AtomicU64,
}

impl Sizes {
    const fn new() -> Self {
        Sizes {
            counts: [const { AtomicU64::new(0) }; SB],
            sum: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn record(&self, bytes: u64) {
        let bucket = SIZE_BOUNDS
            .iter()
            .position(|&b| bytes <= b)
            .unwrap_or(SB - 1);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Per-bucket counts and the sum.
    pub(crate) fn read(&self) -> ([u64; SB], u64) {
        let counts = std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed));
        (counts, self.sum.load(Ordering::Relaxed))
    }
}

/// One series: a duration histogram with exemplars, and the two size histograms
/// (written only when a layer measures body sizes).
#[derive(Debug)]
pub(crate) struct Series {
    key: AtomicU64,
    buckets: [AtomicU64; NB],
    sum_ns: AtomicU64,
    exemplars: Exemplars<NB>,
    pub(crate) request_sizes: Sizes,
    pub(crate) response_sizes: Sizes,
}

impl Series {
    pub(crate) const fn new() -> Self {
        Series {
            key: AtomicU64::new(0),
            buckets: [const { AtomicU64::new(0) }; NB],
            sum_ns: AtomicU64::new(0),
            exemplars: Exemplars::new(),
            request_sizes: Sizes::new(),
            response_sizes: Sizes::new(),
        }
    }

    /// Records one request of `nanos` that ended at raw clock time `end`, offering it as
    /// an exemplar with `span`'s trace.
    #[inline]
    pub(crate) fn record(&self, nanos: u64, end: u64, span: &tracing::Span) {
        // Early exit from the smallest bound: a route's durations cluster.
        let bucket = DURATION_BOUNDS_NS
            .iter()
            .position(|&b| nanos <= b)
            .unwrap_or(NB - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(nanos, Ordering::Relaxed);
        if !span.is_disabled() {
            self.exemplars.offer(span, bucket, 0, nanos, end);
        }
    }

    /// Per-bucket counts, the sum in seconds, and the exemplar of each bucket.
    pub(crate) fn read(&self) -> ([u64; NB], f64, Vec<Option<Exemplar>>) {
        let counts = std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed));
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        (counts, sum, self.exemplars.read().0)
    }
}

/// The series budget of a family, and its overflow series.
#[derive(Debug)]
pub(crate) struct Budget {
    used: AtomicUsize,
    limit: usize,
    pub(crate) overflow: Series,
}

impl Budget {
    pub(crate) const fn new(limit: usize) -> Self {
        Budget {
            used: AtomicUsize::new(0),
            limit,
            overflow: Series::new(),
        }
    }

    fn take(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// Whether anything went to the overflow series.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
            .buckets
            .iter()
            .any(|b| b.load(Ordering::Relaxed) > 0)
    }
}

#[derive(Debug)]
struct Chunk {
    series: [Series; CHUNK],
    next: AtomicPtr<Chunk>,
}

impl Chunk {
    const fn new() -> Self {
        Chunk {
            series: [const { Series::new() }; CHUNK],
            next: AtomicPtr::new(std::ptr::null_mut()),
        }
    }
}

/// The series of one route (or destination).
#[derive(Debug)]
pub(crate) struct SeriesList {
    head: Chunk,
}

impl SeriesList {
    pub(crate) const fn new() -> Self {
        SeriesList { head: Chunk::new() }
    }

    /// The series of `key`, created on first use; the overflow series once `budget` is
    /// spent.
    #[inline]
    pub(crate) fn find<'a>(&'a self, key: Key, budget: &'a Budget) -> &'a Series {
        let packed = key.pack();
        let mut chunk = &self.head;
        loop {
            for series in &chunk.series {
                let seen = series.key.load(Ordering::Acquire);
                if seen == packed {
                    return series;
                }
                if seen == 0 {
                    // Slots fill in order and are never freed: the key is not in an
                    // earlier one.
                    return Self::claim(series, packed, budget)
                        .unwrap_or_else(|| self.find(key, budget));
                }
            }
            let next = chunk.next.load(Ordering::Acquire);
            if next.is_null() {
                return Self::grow(chunk, budget)
                    .map_or(&budget.overflow, |()| self.find(key, budget));
            }
            // SAFETY: chunks are leaked boxes, never freed; `next` was published with
            // release ordering after it was fully built.
            chunk = unsafe { &*next };
        }
    }

    /// Claims a free slot: `None` when another key took it first (scan again).
    #[cold]
    fn claim<'a>(series: &'a Series, packed: u64, budget: &'a Budget) -> Option<&'a Series> {
        if !budget.take() {
            return Some(&budget.overflow);
        }
        match series
            .key
            .compare_exchange(0, packed, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Some(series),
            Err(seen) => {
                budget.used.fetch_sub(1, Ordering::AcqRel);
                (seen == packed).then_some(series)
            }
        }
    }

    /// Chains a new chunk after `last` (or finds the one another thread chained).
    #[cold]
    fn grow(last: &Chunk, budget: &Budget) -> Option<()> {
        if budget.used.load(Ordering::Acquire) >= budget.limit {
            return None;
        }
        let fresh = Box::into_raw(Box::new(Chunk::new()));
        if last
            .next
            .compare_exchange(
                std::ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // SAFETY: `fresh` was never published.
            drop(unsafe { Box::from_raw(fresh) });
        }
        Some(())
    }

    /// Every series with its key.
    pub(crate) fn each<'a>(&'a self, mut f: impl FnMut(Key, &'a Series)) {
        let mut chunk = &self.head;
        loop {
            for series in &chunk.series {
                let packed = series.key.load(Ordering::Acquire);
                if packed == 0 {
                    return;
                }
                f(Key::unpack(packed), series);
            }
            let next = chunk.next.load(Ordering::Acquire);
            if next.is_null() {
                return;
            }
            // SAFETY: as in `find`.
            chunk = unsafe { &*next };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(status: u16) -> Key {
        Key {
            method: 1,
            status,
            scheme: 0,
            version: 3,
            error: 0,
        }
    }

    #[test]
    fn keys_round_trip_and_series_are_found_again() {
        let k = Key {
            method: 31,
            status: 599,
            scheme: 1,
            version: 5,
            error: 17,
        };
        assert_eq!(Key::unpack(k.pack()), k);
        let budget = Budget::new(100);
        let list = SeriesList::new();
        // More keys than a chunk holds: chunks chain.
        for status in 200..220 {
            let s = list.find(key(status), &budget);
            s.record(1_000, 0, &tracing::Span::none());
            assert!(std::ptr::eq(s, list.find(key(status), &budget)));
        }
        let mut seen = Vec::new();
        list.each(|k, s| seen.push((k.status, s.read().0.iter().sum::<u64>())));
        assert_eq!(seen.len(), 20);
        assert!(seen.iter().all(|(_, n)| *n == 1));
        assert!(!budget.overflowed());
    }

    #[test]
    fn past_the_budget_requests_overflow() {
        let budget = Budget::new(3);
        let list = SeriesList::new();
        for status in 200..210 {
            list.find(key(status), &budget)
                .record(1, 0, &tracing::Span::none());
        }
        let mut n = 0;
        list.each(|_, _| n += 1);
        assert_eq!(n, 3);
        assert_eq!(budget.overflow.read().0.iter().sum::<u64>(), 7);
        assert!(budget.overflowed());
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        static BUDGET: Budget = Budget::new(1000);
        static LIST: SeriesList = SeriesList::new();
        std::thread::scope(|scope| {
            for t in 0..4u16 {
                scope.spawn(move || {
                    for i in 0..2_000u16 {
                        LIST.find(key(200 + (i + t) % 12), &BUDGET).record(
                            1,
                            0,
                            &tracing::Span::none(),
                        );
                    }
                });
            }
        });
        let mut total = 0;
        let mut n = 0;
        LIST.each(|_, s| {
            n += 1;
            total += s.read().0.iter().sum::<u64>();
        });
        assert_eq!((n, total), (12, 8_000));
    }
}
