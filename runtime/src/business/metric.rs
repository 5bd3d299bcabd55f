//! The types of `#[business_metric]` statics.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use super::erased::Metric;
use super::family::Family;
use super::handle::{Count, CounterSeries, GaugeSeries, HistogramSeries, Measure, check_ratio};
use super::meta::MetricMeta;
use super::site::Labels;
use super::storage::{CounterShards, HistogramShards, Store, StoreRef, add_f64};

/// The label type of a metric declared without `labels(..)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoLabels;

/// What the static of a counter or histogram holds besides its facts, by label type: the
/// per-thread storage of its one series without labels, and nothing with labels (their
/// series live at their call sites and in the metric's map).
pub trait LabelStorage: 'static {
    #[doc(hidden)]
    type Counter: ConstNew + Sync;
    #[doc(hidden)]
    type Histogram<const NB: usize>: ConstNew + Sync;
    #[doc(hidden)]
    fn counter_store(storage: &'static Self::Counter) -> Option<StoreRef>;
    #[doc(hidden)]
    fn histogram_store<const NB: usize>(storage: &'static Self::Histogram<NB>) -> Option<StoreRef>;
}

/// A value a `static` can start with.
pub trait ConstNew {
    #[doc(hidden)]
    const NEW: Self;
}

impl ConstNew for () {
    const NEW: Self = ();
}

impl ConstNew for CounterShards {
    const NEW: Self = CounterShards::new();
}

impl<const NB: usize> ConstNew for HistogramShards<NB> {
    const NEW: Self = HistogramShards::new();
}

impl LabelStorage for NoLabels {
    type Counter = CounterShards;
    type Histogram<const NB: usize> = HistogramShards<NB>;
    fn counter_store(storage: &'static CounterShards) -> Option<StoreRef> {
        Some(StoreRef(Store::Counters(storage)))
    }
    fn histogram_store<const NB: usize>(storage: &'static HistogramShards<NB>) -> Option<StoreRef> {
        Some(StoreRef(Store::Histograms(storage)))
    }
}

impl<T: Labels + 'static> LabelStorage for T {
    type Counter = ();
    type Histogram<const NB: usize> = ();
    fn counter_store((): &'static ()) -> Option<StoreRef> {
        None
    }
    fn histogram_store<const NB: usize>((): &'static ()) -> Option<StoreRef> {
        None
    }
}

/// A counter declared with [`#[business_metric]`](macro@crate::business_metric).
///
/// Without labels, record through the static: `ETL_RUNS_TOTAL.inc()`. With labels, through
/// the label struct of the same name: `ETL_ROWS_TOTAL { pipeline: "orders" }.inc_by(10)`.
pub struct Counter<L: LabelStorage = NoLabels> {
    family: Family,
    shards: L::Counter,
    _labels: PhantomData<fn(L)>,
}

/// A gauge declared with [`#[business_metric]`](macro@crate::business_metric).
pub struct Gauge<L = NoLabels> {
    family: Family,
    /// `f64` bits of the label-less series.
    cell: AtomicU64,
    _labels: PhantomData<fn(L)>,
}

/// A histogram declared with [`#[business_metric]`](macro@crate::business_metric); `NB` is
/// the number of bucket bounds plus one, filled in by the macro.
pub struct Histogram<L: LabelStorage = NoLabels, const NB: usize = 1> {
    family: Family,
    shards: L::Histogram<NB>,
    _labels: PhantomData<fn(L)>,
}

/// An info metric declared with [`#[business_metric]`](macro@crate::business_metric):
/// facts as label values on series of value 1 (`etl_pipeline_info{version="2.1"} 1`).
pub struct Info<L> {
    family: Family,
    _labels: PhantomData<fn(L)>,
}

macro_rules! common {
    ($ty:ident $(: $bound:ident)? $(, $nb:ident)?) => {
        impl<L $(: $bound)? $(, const $nb: usize)?> std::fmt::Debug for $ty<L $(, $nb)?> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.family.meta.name)
                    .finish_non_exhaustive()
            }
        }

        impl<L $(: $bound)? $(, const $nb: usize)?> $ty<L $(, $nb)?> {
            /// The metric's compile-time facts.
            pub fn meta(&self) -> &MetricMeta {
                &self.family.meta
            }
        }
    };
}

common!(Counter: LabelStorage);
common!(Gauge);
common!(Histogram: LabelStorage, NB);
common!(Info);

impl<L: LabelStorage> Counter<L> {
    #[doc(hidden)]
    pub const fn __declare(meta: MetricMeta) -> Self {
        Counter {
            family: Family::new(meta),
            shards: <L::Counter as ConstNew>::NEW,
            _labels: PhantomData,
        }
    }

    #[doc(hidden)]
    #[inline]
    pub fn __series(&'static self, values: &[&str]) -> CounterSeries {
        CounterSeries(self.family.series(values))
    }
}

impl Counter<NoLabels> {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.shards.add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: impl Count) {
        self.shards.add(n.to_count());
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.shards.sum()
    }
}

impl<L> Gauge<L> {
    #[doc(hidden)]
    pub const fn __declare(meta: MetricMeta) -> Self {
        Gauge {
            family: Family::new(meta),
            cell: AtomicU64::new(0),
            _labels: PhantomData,
        }
    }

    #[doc(hidden)]
    #[inline]
    pub fn __series(&'static self, values: &[&str]) -> GaugeSeries {
        GaugeSeries(self.family.series(values))
    }
}

impl Gauge<NoLabels> {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: impl Measure) {
        let value = value.to_f64();
        check_ratio(&self.family, value);
        self.cell.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds `delta`.
    #[inline]
    pub fn add(&self, delta: impl Measure) {
        add_f64(&self.cell, delta.to_f64());
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: impl Measure) {
        add_f64(&self.cell, -delta.to_f64());
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.cell.load(Ordering::Relaxed))
    }
}

impl<L: LabelStorage, const NB: usize> Histogram<L, NB> {
    #[doc(hidden)]
    pub const fn __declare(meta: MetricMeta) -> Self {
        assert!(
            meta.bounds.len() + 1 == NB,
            "histogram storage width must be the number of bounds plus one"
        );
        Histogram {
            family: Family::new(meta),
            shards: <L::Histogram<NB> as ConstNew>::NEW,
            _labels: PhantomData,
        }
    }

    #[doc(hidden)]
    #[inline]
    pub fn __series(&'static self, values: &[&str]) -> HistogramSeries {
        HistogramSeries(self.family.series(values))
    }
}

impl<const NB: usize> Histogram<NoLabels, NB> {
    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: impl Measure) {
        self.shards.observe(self.family.meta.bounds, value.to_f64());
    }
}

impl<L> Info<L> {
    #[doc(hidden)]
    pub const fn __declare(meta: MetricMeta) -> Self {
        Info {
            family: Family::new(meta),
            _labels: PhantomData,
        }
    }

    #[doc(hidden)]
    pub fn __set(&'static self, values: &[&str]) {
        self.family.series(values).info_set();
    }
}

impl<L: LabelStorage> Metric for Counter<L> {
    fn family(&'static self) -> &'static Family {
        &self.family
    }
    fn inline_store(&'static self) -> Option<StoreRef> {
        L::counter_store(&self.shards)
    }
}

impl<L> Metric for Gauge<L> {
    fn family(&'static self) -> &'static Family {
        &self.family
    }
    fn inline_store(&'static self) -> Option<StoreRef> {
        Some(StoreRef(Store::GaugeCell(&self.cell)))
    }
}

impl<L: LabelStorage, const NB: usize> Metric for Histogram<L, NB> {
    fn family(&'static self) -> &'static Family {
        &self.family
    }
    fn inline_store(&'static self) -> Option<StoreRef> {
        L::histogram_store(&self.shards)
    }
}

impl<L> Metric for Info<L> {
    fn family(&'static self) -> &'static Family {
        &self.family
    }
    fn inline_store(&'static self) -> Option<StoreRef> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands for a label struct `#[business_metric(labels(..))]` generates.
    struct Pipeline;

    impl Labels for Pipeline {
        type Store = CounterShards;
    }

    #[test]
    fn only_label_less_statics_carry_per_thread_storage() {
        // Labelled metrics keep their series elsewhere: their statics hold the facts only.
        assert!(std::mem::size_of::<Counter<Pipeline>>() < 1024);
        assert!(std::mem::size_of::<Histogram<Pipeline, 12>>() < 1024);
        assert!(std::mem::size_of::<Counter>() >= std::mem::size_of::<CounterShards>());
        assert!(
            std::mem::size_of::<Histogram<NoLabels, 12>>()
                >= std::mem::size_of::<HistogramShards<12>>()
        );
    }
}
