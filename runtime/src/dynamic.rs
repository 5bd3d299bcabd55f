//! Families whose series are created at run time, by label values only known then.
//!
//! Used by the `metrics` facade recorder. Each family caps its number of series; beyond
//! the cap, measurements go to one overflow series labelled `otel_metric_overflow="true"`
//! (the OpenTelemetry convention), a self-metric counts them, and a warning is logged
//! once per family. Memory stays bounded whatever the flood of label values.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::model::MetricType;

/// Default cap on the series of one family.
pub(crate) const DEFAULT_SERIES_LIMIT: usize = 2000;

pub(crate) const OVERFLOW_LABEL: &str = "otel_metric_overflow";

/// A hasher for keys that are already hashes: hashing them again would be wasted work.
#[derive(Default)]
pub(crate) struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Sorted label pairs of a series.
pub(crate) type LabelSet = Box<[(String, String)]>;

/// Storage of one series.
#[derive(Debug)]
pub(crate) enum Cell {
    Counter(AtomicU64),
    /// `f64` bits.
    Gauge(AtomicU64),
    Histogram(HistogramCell),
}

#[derive(Debug)]
pub(crate) struct HistogramCell {
    pub(crate) bounds: Arc<[f64]>,
    pub(crate) counts: Box<[AtomicU64]>,
    /// `f64` bits.
    pub(crate) sum: AtomicU64,
}

impl HistogramCell {
    fn new(bounds: Arc<[f64]>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        HistogramCell {
            bounds,
            counts,
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub(crate) fn record(&self, value: f64) {
        if value.is_nan() {
            return;
        }
        let index = self.bounds.partition_point(|&b| b < value);
        self.counts[index].fetch_add(1, Ordering::Relaxed);
        add_f64(&self.sum, value);
    }
}

pub(crate) fn add_f64(cell: &AtomicU64, delta: f64) {
    let mut current = cell.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + delta).to_bits();
        match cell.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

impl Cell {
    fn new(kind: MetricType, bounds: Option<&Arc<[f64]>>) -> Cell {
        match kind {
            MetricType::Counter => Cell::Counter(AtomicU64::new(0)),
            MetricType::Histogram => Cell::Histogram(HistogramCell::new(
                bounds.cloned().unwrap_or_else(|| Arc::from(&[][..])),
            )),
            MetricType::Gauge | MetricType::Info => Cell::Gauge(AtomicU64::new(0f64.to_bits())),
        }
    }

    pub(crate) fn counter_add(&self, v: u64) {
        if let Cell::Counter(c) = self {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    pub(crate) fn counter_absolute(&self, v: u64) {
        if let Cell::Counter(c) = self {
            c.fetch_max(v, Ordering::Relaxed);
        }
    }

    pub(crate) fn gauge_add(&self, v: f64) {
        if let Cell::Gauge(g) = self {
            add_f64(g, v);
        }
    }

    pub(crate) fn gauge_set(&self, v: f64) {
        if let Cell::Gauge(g) = self {
            g.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    pub(crate) fn histogram_record(&self, v: f64) {
        if let Cell::Histogram(h) = self {
            h.record(v);
        }
    }
}

/// A family of series created at run time.
#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) name: String,
    pub(crate) kind: MetricType,
    pub(crate) help: RwLock<String>,
    pub(crate) unit: RwLock<Option<String>>,
    bounds: Option<Arc<[f64]>>,
    limit: usize,
    pub(crate) series: RwLock<BTreeMap<LabelSet, Arc<Cell>>>,
    pub(crate) overflow: OnceLock<Arc<Cell>>,
    /// Times a new label set landed in the overflow series.
    pub(crate) overflowed: AtomicU64,
    /// Whether a use with another kind was reported already.
    pub(crate) kind_conflict: std::sync::atomic::AtomicBool,
}

impl Family {
    pub(crate) fn new(
        name: String,
        kind: MetricType,
        bounds: Option<Arc<[f64]>>,
        limit: usize,
    ) -> Self {
        Family {
            name,
            kind,
            help: RwLock::new(String::new()),
            unit: RwLock::new(None),
            bounds,
            limit,
            series: RwLock::new(BTreeMap::new()),
            overflow: OnceLock::new(),
            overflowed: AtomicU64::new(0),
            kind_conflict: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn describe(&self, help: &str, unit: Option<&str>) {
        if !help.is_empty() {
            help.clone_into(&mut self.help.write().unwrap_or_else(PoisonError::into_inner));
        }
        if let Some(unit) = unit {
            *self.unit.write().unwrap_or_else(PoisonError::into_inner) = Some(unit.to_owned());
        }
    }

    /// The series for `labels` (sorted), created if the family has room. Returns the
    /// cell and whether it is a real series (`false`: the overflow series).
    pub(crate) fn series(&self, labels: LabelSet) -> (Arc<Cell>, bool) {
        {
            let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = series.get(&labels) {
                return (cell.clone(), true);
            }
            // Full: a flood of new label values must not serialise on the write lock.
            if series.len() >= self.limit {
                drop(series);
                return (self.overflow_cell(), false);
            }
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = series.get(&labels) {
            return (cell.clone(), true);
        }
        if series.len() >= self.limit {
            drop(series);
            return (self.overflow_cell(), false);
        }
        let cell = Arc::new(Cell::new(self.kind, self.bounds.as_ref()));
        series.insert(labels, cell.clone());
        (cell, true)
    }

    #[cold]
    fn overflow_cell(&self) -> Arc<Cell> {
        if self.overflowed.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::diag::warn(&format!(
                "metric `{}` reached its limit of {} series; measurements with new label values \
                 now go to the series {{{OVERFLOW_LABEL}=\"true\"}}",
                self.name, self.limit
            ));
        }
        self.overflow
            .get_or_init(|| Arc::new(Cell::new(self.kind, self.bounds.as_ref())))
            .clone()
    }
}
