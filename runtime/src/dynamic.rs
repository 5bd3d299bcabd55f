//! Families whose series are created at run time, by label values only known then.
//!
//! Used by the `metrics` facade recorder. Each family caps its number of series; beyond
//! the cap, measurements go to one overflow series labelled `otel_metric_overflow="true"`
//! (the OpenTelemetry convention), a self-metric counts them, and a warning is logged
//! once per family. Label values are cut to [`MAX_VALUE_LEN`] bytes, so memory stays
//! bounded whatever the flood of label values, in number and in size.
//!
//! Counters saturate at `u64::MAX` instead of wrapping to a small number, which every
//! reader would take for a reset. Histograms whose buckets are all non-negative refuse
//! negative observations (OpenMetrics: their sum is a counter), counted per family.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crate::model::MetricType;

/// Default cap on the series of one family.
pub(crate) const DEFAULT_SERIES_LIMIT: usize = 2000;

pub(crate) const OVERFLOW_LABEL: &str = "otel_metric_overflow";

/// Longest label value kept from run time, in bytes: longer ones are cut at a character
/// boundary and end in `…`, so a family's memory is bounded by its series limit times
/// this, whatever the values.
pub(crate) const MAX_VALUE_LEN: usize = 1024;

/// `value` cut to at most [`MAX_VALUE_LEN`] bytes at a character boundary, ending in `…`.
pub(crate) fn cut_value(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_VALUE_LEN {
        return Cow::Borrowed(value);
    }
    let mut end = MAX_VALUE_LEN - '…'.len_utf8();
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &value[..end]))
}

/// Adds to a counter shared by threads, saturating at `u64::MAX`. A plain `fetch_add`
/// while the counter is below 2⁶³ and the increment below 2³² (no number of threads a
/// machine can run can then carry it past `u64::MAX` before one of them sees it), a
/// compare-and-swap loop beyond.
#[inline]
pub(crate) fn saturating_add(cell: &AtomicU64, n: u64) {
    if n < 1 << 32 && cell.load(Ordering::Relaxed) < 1 << 63 {
        cell.fetch_add(n, Ordering::Relaxed);
    } else {
        saturating_add_slow(cell, n);
    }
}

#[cold]
fn saturating_add_slow(cell: &AtomicU64, n: u64) {
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
        Some(c.saturating_add(n))
    });
}

/// Whether a histogram with these bounds refuses `value`: a negative value when every
/// bound is non-negative (its sum must only grow). NaN is ignored before this.
#[inline]
pub(crate) fn refuses(bounds: &[f64], value: f64) -> bool {
    value < 0.0 && bounds.first().is_none_or(|&b| b >= 0.0)
}

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
    refused: Arc<Refused>,
}

/// Observations a family refused, shared by its histogram series.
#[derive(Debug)]
pub(crate) struct Refused {
    name: String,
    pub(crate) count: AtomicU64,
}

impl Refused {
    #[cold]
    #[inline(never)]
    fn refuse(&self, value: f64) {
        if self.count.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::diag::warn(&format!(
                "histogram `{}` refused the observation {value}: its buckets are all \
                 non-negative, so its sum must only grow (OpenMetrics); refused observations \
                 are counted in flext_observability_observations_refused_total",
                self.name
            ));
        }
    }
}

impl HistogramCell {
    fn new(bounds: Arc<[f64]>, refused: Arc<Refused>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        HistogramCell {
            bounds,
            counts,
            sum: AtomicU64::new(0f64.to_bits()),
            refused,
        }
    }

    pub(crate) fn record(&self, value: f64) {
        if value.is_nan() {
            return;
        }
        if refuses(&self.bounds, value) {
            self.refused.refuse(value);
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
    fn new(kind: MetricType, bounds: Option<&Arc<[f64]>>, refused: &Arc<Refused>) -> Cell {
        match kind {
            MetricType::Counter => Cell::Counter(AtomicU64::new(0)),
            MetricType::Histogram => Cell::Histogram(HistogramCell::new(
                bounds.cloned().unwrap_or_else(|| Arc::from(&[][..])),
                Arc::clone(refused),
            )),
            MetricType::Gauge | MetricType::Info => Cell::Gauge(AtomicU64::new(0f64.to_bits())),
        }
    }

    pub(crate) fn counter_add(&self, v: u64) {
        if let Cell::Counter(c) = self {
            saturating_add(c, v);
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
    /// Negative observations refused (the buckets being all non-negative).
    pub(crate) refused: Arc<Refused>,
    /// Whether a use with another kind was reported already.
    pub(crate) kind_conflict: std::sync::atomic::AtomicBool,
    /// The name as first recorded, before it was made valid: another name made into the
    /// same one is reported once.
    pub(crate) raw_name: String,
    /// Warnings given once per family (bit flags of [`Warned`]).
    pub(crate) warned: std::sync::atomic::AtomicU8,
    /// Label names as first recorded, by the name they are exported as (a few dozen at
    /// most): another name made into the same one is reported once.
    pub(crate) label_names: std::sync::Mutex<Vec<(String, String)>>,
}

/// What a family warned about already.
#[derive(Clone, Copy)]
pub(crate) enum Warned {
    /// Another raw name made into this family's name.
    NameMerged = 1,
    /// Label names made into one.
    LabelsMerged = 2,
    /// A label value cut, or labels beyond the limit dropped.
    LabelsCut = 4,
    /// The reserved `otel_metric_overflow` label renamed.
    Reserved = 8,
}

impl Family {
    pub(crate) fn new(
        name: String,
        raw_name: &str,
        kind: MetricType,
        bounds: Option<Arc<[f64]>>,
        limit: usize,
    ) -> Self {
        Family {
            raw_name: raw_name.to_owned(),
            warned: std::sync::atomic::AtomicU8::new(0),
            label_names: std::sync::Mutex::new(Vec::new()),
            refused: Arc::new(Refused {
                name: name.clone(),
                count: AtomicU64::new(0),
            }),
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

    /// The label name first recorded as `raw` where another one, exported as the same
    /// `name`, was recorded before; remembers `raw` otherwise (up to 64 names).
    pub(crate) fn other_label_name(&self, name: &str, raw: &str) -> Option<String> {
        let mut names = self
            .label_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match names.iter().find(|(n, _)| n == name) {
            Some((_, first)) if first != raw => Some(first.clone()),
            Some(_) => None,
            None => {
                if names.len() < 64 {
                    names.push((name.to_owned(), raw.to_owned()));
                }
                None
            }
        }
    }

    /// Whether this is the first time the family warns about `what`.
    pub(crate) fn first_warning(&self, what: Warned) -> bool {
        let bit = what as u8;
        self.warned.fetch_or(bit, Ordering::Relaxed) & bit == 0
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
        let cell = Arc::new(Cell::new(self.kind, self.bounds.as_ref(), &self.refused));
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
            .get_or_init(|| Arc::new(Cell::new(self.kind, self.bounds.as_ref(), &self.refused)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        let family = Family::new("c_total".into(), "c", MetricType::Counter, None, 10);
        let (cell, _) = family.series(LabelSet::default());
        cell.counter_add(u64::MAX);
        cell.counter_add(5);
        cell.counter_add(1 << 40);
        let Cell::Counter(c) = &*cell else {
            panic!("a counter")
        };
        assert_eq!(c.load(Ordering::Relaxed), u64::MAX, "a wrap would read 4");
        let small = AtomicU64::new(7);
        saturating_add(&small, 3);
        assert_eq!(small.load(Ordering::Relaxed), 10);
    }

    #[test]
    fn negative_observations_are_refused_by_non_negative_buckets_only() {
        let bounds: Arc<[f64]> = Arc::from(&[0.1, 1.0][..]);
        let family = Family::new("h".into(), "h", MetricType::Histogram, Some(bounds), 10);
        let (cell, _) = family.series(LabelSet::default());
        for v in [-1.0, 0.5, f64::NAN, -0.0, -1e-9] {
            cell.histogram_record(v);
        }
        let Cell::Histogram(h) = &*cell else {
            panic!("a histogram")
        };
        let counts: Vec<u64> = h.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(counts, [1, 1, 0], "0.5 and -0.0 recorded");
        assert!(f64::from_bits(h.sum.load(Ordering::Relaxed)) >= 0.0);
        assert_eq!(
            family.refused.count.load(Ordering::Relaxed),
            2,
            "-1 and -1e-9"
        );

        let signed: Arc<[f64]> = Arc::from(&[-10.0, 0.0, 10.0][..]);
        let family = Family::new("t".into(), "t", MetricType::Histogram, Some(signed), 10);
        let (cell, _) = family.series(LabelSet::default());
        cell.histogram_record(-5.0);
        assert_eq!(family.refused.count.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        assert_eq!(cut_value("short"), "short");
        let wide = "é".repeat(MAX_VALUE_LEN);
        let cut = cut_value(&wide);
        assert!(
            cut.len() <= MAX_VALUE_LEN && cut.ends_with('…'),
            "{}",
            cut.len()
        );
    }
}
