//! The series of one business metric: a bounded map from label values to series.
//!
//! Looking up existing label values takes a read lock, one hash and a comparison, and
//! allocates nothing. A new combination of values allocates its series once. Beyond the
//! metric's series limit, new combinations share one overflow series labelled
//! `otel_metric_overflow="true"` (the OpenTelemetry convention), a self-metric counts
//! them and a warning is logged once, so memory stays bounded whatever the flood.
//! Series fixed at compile time (call sites with literal values, label-less metrics) do
//! not count against the limit: their number is bounded by the code.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use crate::dynamic::{DEFAULT_SERIES_LIMIT, OVERFLOW_LABEL};

use super::MetricMeta;
use super::storage::{Series, Store, Values};

/// Series limit of metrics declared without `max_series`; `install()` sets it.
static DEFAULT_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_SERIES_LIMIT);

pub(crate) fn set_default_series_limit(limit: usize) {
    DEFAULT_LIMIT.store(limit.max(1), Ordering::Relaxed);
}

/// Keys are already hashes: hashing them again would be wasted work.
#[derive(Default)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
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

/// Keyed with a per-process random key: label values may come from outside.
fn hash_values<'a>(values: impl Iterator<Item = &'a str>) -> u64 {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    let mut hasher = STATE.get_or_init(RandomState::new).build_hasher();
    for value in values {
        hasher.write(value.as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.finish()
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
    /// Lookups of new label values refused because the limit was reached.
    pub(crate) overflowed: AtomicU64,
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
    pub(crate) fn series(&'static self, values: &[&str]) -> &'static Series {
        let hash = hash_values(values.iter().copied());
        {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(found) = find(&map, hash, values) {
                return found;
            }
            if map.dynamic >= self.limit() {
                drop(map);
                return self.overflow_series();
            }
        }
        self.insert(hash, values)
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
            meta: &self.meta,
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
            meta: &self.meta,
            values: Values::Static(values),
            store: store.unwrap_or_else(|| Store::dynamic(&self.meta)),
        }));
        map.by_hash.entry(hash).or_default().push(series);
        map.all.push(series);
        series
    }

    #[cold]
    #[inline(never)]
    fn overflow_series(&'static self) -> &'static Series {
        if self.overflowed.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::diag::warn(&format!(
                "metric `{}` reached its limit of {} series; measurements with new label values \
                 now go to the series {{{OVERFLOW_LABEL}=\"true\"}} (raise it with \
                 `#[business_metric(max_series = …)]` or `series_limit(…)`, or bound the label values)",
                self.meta.name,
                self.limit()
            ));
        }
        self.overflow.get_or_init(|| {
            Box::leak(Box::new(Series {
                meta: &self.meta,
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
