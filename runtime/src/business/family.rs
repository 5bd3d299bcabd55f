//! The series of one business metric: a bounded map from label values to series.
//!
//! Looking up label values seen before costs one hash, a per-thread cache probe and a
//! comparison: no lock, no allocation, nothing shared written. A miss takes a read lock;
//! a new combination of values allocates its series once, under the write lock. Beyond the
//! metric's series limit, new combinations share one overflow series labelled
//! `otel_metric_overflow="true"` (the OpenTelemetry convention), a self-metric counts
//! the measurements sent there and a warning is logged once, so memory stays bounded
//! whatever the flood. Label values longer than [`MAX_VALUE_LEN`] bytes are cut to it, so
//! the bound holds for their size too. Series fixed at compile time (call sites with
//! literal values, label-less metrics) do not count against the limit: their number is
//! bounded by the code.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use crate::dynamic::{
    DEFAULT_SERIES_LIMIT, MAX_VALUE_LEN, OVERFLOW_LABEL, PreHashed, cut_value, refuses,
    saturating_add,
};

use super::meta::MetricMeta;
use super::storage::{Store, add_f64};

/// Series limit of metrics declared without `max_series`; `install()` sets it.
static DEFAULT_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_SERIES_LIMIT);

pub(crate) fn set_default_series_limit(limit: usize) {
    DEFAULT_LIMIT.store(limit.max(1), Ordering::Relaxed);
}

/// A fast keyed hash of label values (multiply-rotate over 8-byte words, then a final mix).
/// Label values may come from outside, but the map is capped at the metric's series limit,
/// so even crafted collisions cost at most a scan of that many series; the per-process
/// random key makes crafting them harder still.
fn hash_values<'a>(values: impl Iterator<Item = &'a str>) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    static KEY: OnceLock<u64> = OnceLock::new();
    let mut h = *KEY.get_or_init(|| RandomState::new().hash_one(0x00c0_ffee_u64));
    for value in values {
        let mut chunks = value.as_bytes().chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            h = (h.rotate_left(5) ^ word).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        // The length ends each value, so ("ab", "c") and ("a", "bc") differ.
        h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
        h = (h.rotate_left(5) ^ (value.len() as u64 | 1 << 63)).wrapping_mul(K);
    }
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// Per-thread cache of recent lookups: (family address, hash) → series. Threads that
/// record with the same label values over and over find them here without touching the
/// shared lock. Entries are `&'static` series, which are never freed.
const CACHE_SLOTS: usize = 64;

#[derive(Clone, Copy)]
struct CacheEntry {
    family: usize,
    hash: u64,
    series: Option<&'static Series>,
}

thread_local! {
    static CACHE: [Cell<CacheEntry>; CACHE_SLOTS] = const {
        [const { Cell::new(CacheEntry { family: 0, hash: 0, series: None }) }; CACHE_SLOTS]
    };
}

#[allow(clippy::cast_possible_truncation)] // the slot index is masked to the cache size
fn cache_slot(family: usize, hash: u64) -> usize {
    ((hash ^ (family as u64 >> 6)) as usize) & (CACHE_SLOTS - 1)
}

#[derive(Debug)]
struct Map {
    by_hash: HashMap<u64, Vec<&'static Series>, BuildHasherDefault<PreHashed>>,
    all: Vec<&'static Series>,
    /// Series created from run-time values (the ones the limit applies to).
    dynamic: usize,
}

/// The series of one metric, inside the metric's `static`.
#[derive(Debug)]
pub struct Family {
    pub(crate) meta: MetricMeta,
    map: RwLock<Map>,
    overflow: OnceLock<&'static Series>,
    /// Measurements sent to the overflow series because the limit was reached.
    pub(crate) overflowed: AtomicU64,
    /// Whether the "not a ratio" warning was given: checked before anything is formatted.
    pub(crate) ratio_warned: AtomicBool,
    /// Whether the "label value cut" warning was given.
    cut_warned: AtomicBool,
    /// Negative observations refused (a histogram whose buckets are all non-negative).
    pub(crate) refused: AtomicU64,
}

impl Family {
    pub(crate) const fn new(meta: MetricMeta) -> Self {
        Family {
            meta,
            map: RwLock::new(Map {
                by_hash: HashMap::with_hasher(BuildHasherDefault::new()),
                all: Vec::new(),
                dynamic: 0,
            }),
            overflow: OnceLock::new(),
            overflowed: AtomicU64::new(0),
            ratio_warned: AtomicBool::new(false),
            cut_warned: AtomicBool::new(false),
            refused: AtomicU64::new(0),
        }
    }

    /// Refuses a negative observation: its buckets are all non-negative, so its sum is a
    /// counter (OpenMetrics). Counted, reported once.
    #[cold]
    #[inline(never)]
    fn refuse(&self, value: f64) {
        if self.refused.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::diag::warn(&format!(
                "histogram `{}` refused the observation {value}: its buckets are all \
                 non-negative, so its sum must only grow (OpenMetrics); refused observations \
                 are counted in flext_observability_observations_refused_total",
                self.meta.name
            ));
        }
    }

    pub(crate) fn limit(&self) -> usize {
        if self.meta.max_series > 0 {
            self.meta.max_series
        } else {
            DEFAULT_LIMIT.load(Ordering::Relaxed)
        }
    }

    /// The series for run-time label values (in declaration order), created if the
    /// metric has room, else the overflow series.
    #[inline]
    pub(crate) fn series(&'static self, values: &[&str]) -> &'static Series {
        if values.iter().any(|v| v.len() > MAX_VALUE_LEN) {
            return self.series_of_long_values(values);
        }
        let hash = hash_values(values.iter().copied());
        let family = std::ptr::from_ref(self) as usize;
        let slot = cache_slot(family, hash);
        // `try_with`: during thread teardown the cache is gone; the map still works.
        let cached = CACHE
            .try_with(|cache| {
                let entry = cache[slot].get();
                entry.series.filter(|s| {
                    entry.family == family
                        && entry.hash == hash
                        && (s.is_overflow() || s.values.equals(values))
                })
            })
            .ok()
            .flatten();
        if let Some(series) = cached {
            return series;
        }
        let found = {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            match find(&map, hash, values) {
                Some(found) => Some(found),
                None if map.dynamic >= self.limit() => {
                    drop(map);
                    Some(self.overflow_series())
                }
                None => None,
            }
        };
        let series = match found {
            Some(series) => series,
            None => self.insert(hash, values),
        };
        // The overflow series is cached too (under the hash of the refused values): a
        // flood that repeats values skips the lock. Series are never removed, so a refusal
        // stays right as long as the limit does; the measurements sent there are counted
        // where they are recorded.
        let _ = CACHE.try_with(|cache| {
            cache[slot].set(CacheEntry {
                family,
                hash,
                series: Some(series),
            });
        });
        series
    }

    /// [`series`](Self::series) for values of which one at least is longer than
    /// [`MAX_VALUE_LEN`]: they are cut first.
    #[cold]
    #[inline(never)]
    fn series_of_long_values(&'static self, values: &[&str]) -> &'static Series {
        if !self.cut_warned.swap(true, Ordering::Relaxed) {
            crate::diag::warn(&format!(
                "metric `{}` received a label value longer than {MAX_VALUE_LEN} bytes; such values \
                 are cut to {MAX_VALUE_LEN} bytes (label values should come from a small set)",
                self.meta.name
            ));
        }
        let cut: Vec<Cow<'_, str>> = values.iter().map(|v| cut_value(v)).collect();
        let refs: Vec<&str> = cut.iter().map(AsRef::as_ref).collect();
        self.series(&refs)
    }

    #[cold]
    #[inline(never)]
    fn insert(&'static self, hash: u64, values: &[&str]) -> &'static Series {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = find(&map, hash, values) {
            return found;
        }
        if map.dynamic >= self.limit() {
            drop(map);
            return self.overflow_series();
        }
        let series: &'static Series = Box::leak(Box::new(Series {
            family: self,
            values: Values::Owned(values.iter().map(|v| Box::from(*v)).collect()),
            store: Store::dynamic(&self.meta),
        }));
        map.dynamic += 1;
        map.by_hash.entry(hash).or_default().push(series);
        map.all.push(series);
        series
    }

    /// The series for label values fixed at compile time, backed by `store` unless a
    /// series with these values exists already. Not subject to the limit.
    pub(crate) fn attach(
        &'static self,
        values: &'static [&'static str],
        store: Option<Store>,
    ) -> &'static Series {
        let hash = hash_values(values.iter().copied());
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = find(&map, hash, values) {
            return found;
        }
        let series: &'static Series = Box::leak(Box::new(Series {
            family: self,
            values: Values::Static(values),
            store: store.unwrap_or_else(|| Store::dynamic(&self.meta)),
        }));
        map.by_hash.entry(hash).or_default().push(series);
        map.all.push(series);
        series
    }

    /// The series that collects measurements with new label values once the limit is
    /// reached; created, and the warning logged, the first time.
    #[cold]
    #[inline(never)]
    fn overflow_series(&'static self) -> &'static Series {
        self.overflow.get_or_init(|| {
            crate::diag::warn(&format!(
                "metric `{}` reached its limit of {} series; measurements with new label values \
                 now go to the series {{{OVERFLOW_LABEL}=\"true\"}} (raise it with \
                 `#[business_metric(max_series = …)]` or `series_limit(…)`, or bound the label values)",
                self.meta.name,
                self.limit()
            ));
            Box::leak(Box::new(Series {
                family: self,
                values: Values::Overflow,
                store: Store::dynamic(&self.meta),
            }))
        })
    }

    /// Every series, in label-value order, the overflow series last.
    pub(crate) fn snapshot(&self) -> Vec<&'static Series> {
        let mut all = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .all
            .clone();
        all.sort_by(|a, b| {
            (0..a.values.len())
                .map(|i| a.values.get(i))
                .cmp((0..b.values.len()).map(|i| b.values.get(i)))
        });
        if let Some(overflow) = self.overflow.get() {
            all.push(overflow);
        }
        all
    }
}

fn find(map: &Map, hash: u64, values: &[&str]) -> Option<&'static Series> {
    map.by_hash
        .get(&hash)?
        .iter()
        .find(|s| s.values.equals(values))
        .copied()
}

/// What the label values of a series are. Values from run time are at most
/// [`MAX_VALUE_LEN`] bytes each.
pub(crate) enum Values {
    Static(&'static [&'static str]),
    Owned(Box<[Box<str>]>),
    /// The series that collects measurements beyond the series limit.
    Overflow,
}

impl Values {
    pub(crate) fn get(&self, i: usize) -> &str {
        match self {
            Values::Static(v) => v[i],
            Values::Owned(v) => &v[i],
            Values::Overflow => "",
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Values::Static(v) => v.len(),
            Values::Owned(v) => v.len(),
            Values::Overflow => 0,
        }
    }

    pub(crate) fn equals(&self, other: &[&str]) -> bool {
        self.len() == other.len() && other.iter().enumerate().all(|(i, v)| self.get(i) == *v)
    }
}

/// One series of a business metric. Created once, never freed: the number of series is
/// capped, so this is bounded memory, and handles can be plain `&'static` references.
pub struct Series {
    pub(crate) family: &'static Family,
    pub(crate) values: Values,
    pub(crate) store: Store,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values: Vec<&str> = (0..self.values.len()).map(|i| self.values.get(i)).collect();
        f.debug_struct("Series")
            .field("metric", &self.meta().name)
            .field("values", &values)
            .finish_non_exhaustive()
    }
}

impl Series {
    /// The facts of the series' metric.
    #[inline]
    pub(crate) fn meta(&self) -> &'static MetricMeta {
        &self.family.meta
    }

    pub(crate) fn is_overflow(&self) -> bool {
        matches!(self.values, Values::Overflow)
    }

    /// Counts a measurement in the overflow self-metric when this is the overflow series.
    /// Only run-time storage can be the overflow series: the static paths never get here.
    #[inline]
    fn count_if_overflow(&self) {
        if self.is_overflow() {
            self.family.overflowed.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[inline]
    pub(crate) fn counter_add(&self, n: u64) {
        match &self.store {
            Store::Counters(shards) => shards.add(n),
            Store::Counter(cell) => {
                saturating_add(cell, n);
                self.count_if_overflow();
            }
            _ => {}
        }
    }

    pub(crate) fn counter_value(&self) -> u64 {
        match &self.store {
            Store::Counters(shards) => shards.sum(),
            Store::Counter(cell) => cell.load(Ordering::Relaxed),
            _ => 0,
        }
    }

    #[inline]
    pub(crate) fn gauge_set(&self, value: f64) {
        if let Some(cell) = self.gauge_cell() {
            cell.store(value.to_bits(), Ordering::Relaxed);
            self.count_if_overflow();
        }
    }

    #[inline]
    pub(crate) fn gauge_add(&self, delta: f64) {
        if let Some(cell) = self.gauge_cell() {
            add_f64(cell, delta);
            self.count_if_overflow();
        }
    }

    pub(crate) fn gauge_value(&self) -> f64 {
        self.gauge_cell()
            .map_or(0.0, |cell| f64::from_bits(cell.load(Ordering::Relaxed)))
    }

    #[inline]
    fn gauge_cell(&self) -> Option<&AtomicU64> {
        match &self.store {
            Store::Gauge(cell) => Some(cell),
            Store::GaugeCell(cell) => Some(cell),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn observe(&self, value: f64) {
        if refuses(self.meta().bounds, value) {
            self.family.refuse(value);
            return;
        }
        match &self.store {
            Store::Histograms(shards) => shards.observe(self.meta().bounds, value),
            Store::Histogram(h) => {
                h.observe(self.meta().bounds, value);
                self.count_if_overflow();
            }
            _ => {}
        }
    }

    /// Sets an info series: it exists, which is all there is to it.
    #[inline]
    pub(crate) fn info_set(&self) {
        self.count_if_overflow();
    }

    pub(crate) fn histogram_snapshot(&self) -> (Vec<u64>, f64) {
        match &self.store {
            Store::Histograms(shards) => shards.snapshot(),
            Store::Histogram(h) => h.snapshot(),
            _ => (vec![0; self.meta().bounds.len() + 1], 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use flext_observability_naming::MetricKind;

    use super::*;

    fn family(name: &'static str, max_series: usize) -> &'static Family {
        Box::leak(Box::new(Family::new(MetricMeta {
            name,
            help: "Test.",
            kind: MetricKind::Counter,
            unit: None,
            labels: &["user"],
            bounds: &[],
            max_series,
            file: file!(),
            line: line!(),
            module: module_path!(),
        })))
    }

    fn values(series: &Series) -> Vec<&str> {
        (0..series.values.len())
            .map(|i| series.values.get(i))
            .collect()
    }

    #[test]
    fn concurrent_lookups_create_each_combination_once_within_the_limit() {
        let family = family("test_concurrent_total", 50);
        std::thread::scope(|scope| {
            for thread in 0..8u64 {
                scope.spawn(move || {
                    // Each thread walks the 100 values in its own order.
                    for i in 0..100u64 {
                        let user = ((i * 37 + thread * 11) % 100).to_string();
                        family.series(&[&user]).counter_add(1);
                    }
                });
            }
        });
        let all = family.snapshot();
        let (overflow, real): (Vec<&Series>, Vec<&Series>) =
            all.iter().copied().partition(|s| s.is_overflow());
        assert_eq!(real.len(), 50, "exactly the limit");
        assert_eq!(overflow.len(), 1);
        let distinct: HashSet<Vec<&str>> = real.iter().map(|s| values(s)).collect();
        assert_eq!(distinct.len(), 50, "no combination twice");
        let recorded: u64 = all.iter().map(|s| s.counter_value()).sum();
        assert_eq!(recorded, 800, "no measurement lost");
        assert_eq!(
            family.overflowed.load(Ordering::Relaxed),
            overflow[0].counter_value(),
            "one overflow count per measurement sent there"
        );
        // Every real series got its 8 measurements, whichever thread created it.
        assert!(real.iter().all(|s| s.counter_value() == 8));
    }

    #[test]
    fn fixed_values_reuse_run_time_series_and_do_not_count_against_the_limit() {
        let family = family("test_attach_total", 1);
        let dynamic = family.series(&["a"]);
        assert!(std::ptr::eq(family.attach(&["a"], None), dynamic));
        let fixed = family.attach(&["b"], None);
        assert!(!fixed.is_overflow(), "fixed values are not limited");
        assert!(std::ptr::eq(family.series(&["b"]), fixed));
        assert!(family.series(&["c"]).is_overflow());
        assert_eq!(family.snapshot().len(), 3);
    }

    #[test]
    fn values_with_colliding_hashes_are_distinct_series() {
        let family = family("test_collision_total", 10);
        let x = family.insert(42, &["x"]);
        let y = family.insert(42, &["y"]);
        assert!(!std::ptr::eq(x, y));
        assert!(
            std::ptr::eq(family.insert(42, &["x"]), x),
            "found, not created"
        );
        let map = family.map.read().unwrap_or_else(PoisonError::into_inner);
        assert!(std::ptr::eq(find(&map, 42, &["y"]).unwrap(), y));
        assert!(find(&map, 42, &["z"]).is_none());
        assert_eq!(map.dynamic, 2);
    }

    #[test]
    fn values_are_cut_at_a_character_boundary() {
        assert_eq!(cut_value("short"), "short");
        let exact = "a".repeat(MAX_VALUE_LEN);
        assert!(matches!(cut_value(&exact), Cow::Borrowed(_)));
        let wide = "é".repeat(MAX_VALUE_LEN);
        let cut = cut_value(&wide);
        assert!(
            cut.len() <= MAX_VALUE_LEN && cut.ends_with('…'),
            "{}",
            cut.len()
        );
        let family = family("test_long_total", 10);
        let long = "z".repeat(10 * MAX_VALUE_LEN);
        let series = family.series(&[&long]);
        assert_eq!(series.values.get(0).len(), MAX_VALUE_LEN);
        assert!(std::ptr::eq(family.series(&[&long]), series));
    }
}
