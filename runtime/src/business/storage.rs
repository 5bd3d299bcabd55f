//! Where business metric values live.
//!
//! Series known at compile time (a metric without labels, a call site with literal label
//! values) own per-thread sharded storage in a `static`: each thread writes only its own
//! cache-padded shard, as `#[monitor]` does, with no lock, hash or allocation. Series
//! created at run time from label values hold plain atomics, one cache line apart from
//! nothing in particular: they are capped in number, and sharding each would multiply
//! their memory by the number of slots.

use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) use crate::dynamic::add_f64;
use crate::dynamic::saturating_add;
use crate::slot::{SLOTS, Slot, shards_in_use};

use super::meta::MetricMeta;

#[repr(C, align(128))]
#[derive(Debug)]
struct CounterShard(AtomicU64);

/// Per-thread storage of one counter series.
#[derive(Debug)]
pub struct CounterShards([CounterShard; SLOTS]);

impl CounterShards {
    /// All shards at zero.
    pub const fn new() -> Self {
        CounterShards([const { CounterShard(AtomicU64::new(0)) }; SLOTS])
    }

    /// Adds `n`, saturating at `u64::MAX`: a counter that wrapped would read as a reset.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let slot = Slot::current();
        let cell = &self.0[slot.index()].0;
        if slot.index() == 0 {
            saturating_add(cell, n);
        } else {
            // Only this thread writes this shard: a plain store cannot lose an update.
            let next = cell.load(Ordering::Relaxed).saturating_add(n);
            cell.store(next, Ordering::Relaxed);
        }
    }

    pub(crate) fn sum(&self) -> u64 {
        let in_use = shards_in_use().min(SLOTS);
        self.0[..in_use]
            .iter()
            .fold(0u64, |t, s| t.saturating_add(s.0.load(Ordering::Relaxed)))
    }
}

impl Default for CounterShards {
    fn default() -> Self {
        Self::new()
    }
}

#[repr(C, align(128))]
#[derive(Debug)]
struct HistogramShard<const NB: usize> {
    /// Per-bucket (not cumulative) counts; the last one is above the highest bound.
    buckets: [AtomicU64; NB],
    /// Sum of observations, `f64` bits.
    sum: AtomicU64,
}

/// Per-thread storage of one histogram series with `NB - 1` bounds.
#[derive(Debug)]
pub struct HistogramShards<const NB: usize>([HistogramShard<NB>; SLOTS]);

impl<const NB: usize> HistogramShards<NB> {
    /// All shards at zero.
    pub const fn new() -> Self {
        HistogramShards(
            [const {
                HistogramShard {
                    buckets: [const { AtomicU64::new(0) }; NB],
                    sum: AtomicU64::new(0),
                }
            }; SLOTS],
        )
    }

    #[inline]
    pub(crate) fn observe(&self, bounds: &[f64], value: f64) {
        if value.is_nan() {
            return;
        }
        // Branch-free: the number of bounds below the value is its bucket.
        let below = bounds.iter().filter(|&&b| b < value).count();
        let slot = Slot::current();
        let shard = &self.0[slot.index()];
        slot.add(&shard.buckets[below.min(NB - 1)], 1);
        add_f64_in_slot(slot, &shard.sum, value);
    }
}

impl<const NB: usize> Default for HistogramShards<NB> {
    fn default() -> Self {
        Self::new()
    }
}

/// Adds to an `f64` cell of a shard: a plain store when the slot is exclusive to this
/// thread, a compare-and-swap loop on the shared shard.
#[inline]
fn add_f64_in_slot(slot: Slot, cell: &AtomicU64, delta: f64) {
    if slot.index() == 0 {
        add_f64(cell, delta);
    } else {
        let next = f64::from_bits(cell.load(Ordering::Relaxed)) + delta;
        cell.store(next.to_bits(), Ordering::Relaxed);
    }
}

/// Histogram shards of any width, for series that refer to them.
pub(crate) trait HistogramStore: Sync {
    fn observe(&self, bounds: &[f64], value: f64);
    /// Per-bucket counts (`bounds + 1` of them) and the sum.
    fn snapshot(&self) -> (Vec<u64>, f64);
}

impl<const NB: usize> HistogramStore for HistogramShards<NB> {
    #[inline]
    fn observe(&self, bounds: &[f64], value: f64) {
        HistogramShards::observe(self, bounds, value);
    }

    fn snapshot(&self) -> (Vec<u64>, f64) {
        let in_use = shards_in_use().min(SLOTS);
        let mut counts = vec![0u64; NB];
        let mut sum = 0.0;
        for shard in &self.0[..in_use] {
            for (total, cell) in counts.iter_mut().zip(&shard.buckets) {
                *total = total.wrapping_add(cell.load(Ordering::Relaxed));
            }
            sum += f64::from_bits(shard.sum.load(Ordering::Relaxed));
        }
        (counts, sum)
    }
}

/// A histogram series created at run time: shared atomics.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl AtomicHistogram {
    fn new(bounds: usize) -> Self {
        AtomicHistogram {
            counts: (0..=bounds).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub(crate) fn observe(&self, bounds: &[f64], value: f64) {
        if value.is_nan() {
            return;
        }
        let below = bounds.partition_point(|&b| b < value);
        self.counts[below.min(self.counts.len() - 1)].fetch_add(1, Ordering::Relaxed);
        add_f64(&self.sum, value);
    }

    pub(crate) fn snapshot(&self) -> (Vec<u64>, f64) {
        (
            self.counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            f64::from_bits(self.sum.load(Ordering::Relaxed)),
        )
    }
}

/// Storage a `static` lends to its series (opaque to generated code).
pub struct StoreRef(pub(crate) Store);

impl std::fmt::Debug for StoreRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreRef")
    }
}

/// The storage behind one series.
pub(crate) enum Store {
    Counter(AtomicU64),
    /// `f64` bits.
    Gauge(AtomicU64),
    Histogram(AtomicHistogram),
    /// An info series: it exists, its value is 1.
    Info,
    /// Static per-thread storage of a label-less metric or a call site.
    Counters(&'static CounterShards),
    Histograms(&'static dyn HistogramStore),
    /// The cell of a label-less gauge, `f64` bits.
    GaugeCell(&'static AtomicU64),
}

impl Store {
    /// Fresh run-time storage for a series of `meta`'s kind.
    pub(crate) fn dynamic(meta: &MetricMeta) -> Store {
        use flext_observability_naming::MetricKind;
        match meta.kind {
            MetricKind::Counter => Store::Counter(AtomicU64::new(0)),
            MetricKind::Gauge => Store::Gauge(AtomicU64::new(0f64.to_bits())),
            MetricKind::Histogram => Store::Histogram(AtomicHistogram::new(meta.bounds.len())),
            MetricKind::Info => Store::Info,
        }
    }
}
