//! The facade's storage and the recorder that writes it: one capped family per exposed
//! name, found through an index of registered keys.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, RwLock};

use flext_observability_naming::{MetricKind, sanitize_label_name, sanitize_metric_name};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};

use crate::dynamic::{
    Cell, DEFAULT_SERIES_LIMIT, Family, LabelSet, MAX_VALUE_LEN, OVERFLOW_LABEL, PreHashed, Warned,
    cut_value,
};
use crate::model::MetricType;

/// Families beyond this number are not created (their measurements are dropped, once
/// reported), so a flood of distinct metric names cannot exhaust memory either.
const FAMILY_LIMIT: usize = 10_000;

/// Labels kept per series; more are dropped (once reported). With [`MAX_VALUE_LEN`] per
/// name and value, a series' labels take at most 64 KiB whatever a key holds.
pub(crate) const MAX_LABELS: usize = 32;

/// What a user label named like the overflow marker is renamed to (as Prometheus renames
/// a target's label that collides with its own, with `exported_`): only the runtime's
/// overflow series carries `otel_metric_overflow`.
const RENAMED_OVERFLOW_LABEL: &str = "exported_otel_metric_overflow";

/// Histogram bucket configuration of facade histograms.
#[derive(Clone, Debug)]
pub(crate) struct BucketConfig {
    pub(crate) default: Arc<[f64]>,
    /// `(name prefix, bounds)`; the longest matching prefix wins.
    pub(crate) by_prefix: Vec<(String, Arc<[f64]>)>,
    pub(crate) series_limit: usize,
}

impl BucketConfig {
    fn bounds_for(&self, name: &str) -> Arc<[f64]> {
        self.by_prefix
            .iter()
            .filter(|(prefix, _)| name.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or_else(|| self.default.clone(), |(_, b)| b.clone())
    }
}

type Index = HashMap<Key, Arc<Cell>, BuildHasherDefault<PreHashed>>;

pub(crate) struct FacadeStore {
    /// Registered keys of real (non-overflow) series: the fast path of `counter!()`.
    index: RwLock<Index>,
    pub(crate) families: RwLock<BTreeMap<String, Arc<Family>>>,
    /// Descriptions given before the first registration, by exposed name.
    described: RwLock<BTreeMap<String, (String, Option<&'static str>)>>,
    config: RwLock<Option<BucketConfig>>,
}

pub(crate) static FACADE: FacadeStore = FacadeStore {
    index: RwLock::new(HashMap::with_hasher(BuildHasherDefault::new())),
    families: RwLock::new(BTreeMap::new()),
    described: RwLock::new(BTreeMap::new()),
    config: RwLock::new(None),
};

fn exposed_name(raw: &str, kind: MetricType) -> String {
    let mut name = sanitize_metric_name(raw);
    if kind == MetricType::Counter && !name.ends_with("_total") {
        name.push_str("_total");
    }
    name
}

fn unit_suffix(unit: Unit) -> Option<&'static str> {
    match unit {
        Unit::Count => None,
        other => Some(other.as_str()),
    }
}

impl FacadeStore {
    pub(crate) fn configure(&self, config: BucketConfig) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Some(config);
    }

    fn config(&self) -> BucketConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| BucketConfig {
                default: Arc::from(crate::model::DEFAULT_BUCKETS),
                by_prefix: Vec::new(),
                series_limit: DEFAULT_SERIES_LIMIT,
            })
    }

    pub(crate) fn describe(&self, raw: &str, kind: MetricType, unit: Option<Unit>, help: &str) {
        let name = exposed_name(raw, kind);
        let unit = unit.and_then(unit_suffix);
        // Families, then descriptions: the order `family()` takes them in, and holding the
        // first means no family can be created (and drain `described`) in between.
        let families = self.families.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(family) = families.get(&name) {
            family.describe(help, unit);
            return;
        }
        let mut described = self
            .described
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if described.len() >= FAMILY_LIMIT && !described.contains_key(&name) {
            crate::diag::warn_once(
                "facade-describe-limit",
                &format!(
                    "more than {FAMILY_LIMIT} metric names described but never recorded; \
                     further descriptions are dropped"
                ),
            );
            return;
        }
        described.insert(name, (help.to_owned(), unit));
    }

    /// The storage of `key`; `None` when its measurements cannot be exported (too many
    /// metric names, or the name is used with another kind).
    pub(crate) fn cell(&self, key: &Key, kind: MetricType) -> Option<Arc<Cell>> {
        if let Some(cell) = self
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Some(cell.clone());
        }
        self.register(key, kind)
    }

    #[cold]
    fn register(&self, key: &Key, kind: MetricType) -> Option<Arc<Cell>> {
        if key.name().trim().is_empty() {
            crate::diag::warn_once(
                "facade-empty-name",
                "a metric with an empty name was recorded through the `metrics` facade; its \
                 measurements are not exported: give it a name",
            );
            return None;
        }
        let raw = cut_value(key.name());
        let name = exposed_name(&raw, kind);
        let family = self.family(&name, &raw, kind)?;
        if family.kind != kind {
            if !family.kind_conflict.swap(true, Ordering::Relaxed) {
                crate::diag::warn(&format!(
                    "metric `{name}` was registered as a {} and is now used as a {}; those \
                     measurements are not exported",
                    family.kind.as_str(),
                    kind.as_str()
                ));
            }
            return None;
        }
        if *raw != *family.raw_name && family.first_warning(Warned::NameMerged) {
            crate::diag::warn(&format!(
                "metric names `{}` and `{raw}` recorded through the `metrics` facade are both \
                 exported as `{name}`: their series are one metric; rename one of them if they \
                 are not",
                family.raw_name
            ));
        }
        let (labels, bounded) = labels(key, &family);
        let (cell, real) = family.series(labels);
        // The index keeps the key as given: only keys whose labels were kept whole go
        // there, so a hostile key (a megabyte value) is never held beyond this call.
        if real && bounded && raw.len() == key.name().len() {
            self.index
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key.clone(), cell.clone());
        }
        Some(cell)
    }

    fn family(&self, name: &str, raw: &str, kind: MetricType) -> Option<Arc<Family>> {
        if let Some(f) = self
            .families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Some(f.clone());
        }
        let config = self.config();
        let mut families = self
            .families
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = families.get(name) {
            return Some(f.clone());
        }
        if families.len() >= FAMILY_LIMIT {
            crate::diag::warn_once(
                "facade-family-limit",
                &format!(
                    "more than {FAMILY_LIMIT} metric names recorded through the `metrics` facade; \
                     measurements of new names are dropped"
                ),
            );
            return None;
        }
        let bounds = (kind == MetricType::Histogram).then(|| config.bounds_for(name));
        let family = Arc::new(Family::new(
            name.to_owned(),
            raw,
            kind,
            bounds,
            config.series_limit,
        ));
        if let Some((help, unit)) = self
            .described
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
        {
            family.describe(&help, unit);
        }
        families.insert(name.to_owned(), family.clone());
        Some(family)
    }
}

/// The labels of `key` as exported: names made valid, sorted, values cut to
/// [`MAX_VALUE_LEN`] bytes, at most [`MAX_LABELS`] of them, the overflow marker renamed.
/// Also whether they are the key's labels whole (nothing cut or dropped). Whatever was
/// changed is reported once per family, naming it.
fn labels(key: &Key, family: &Family) -> (LabelSet, bool) {
    let mut bounded = true;
    let mut labels: Vec<(String, String, &str)> = Vec::with_capacity(key.labels().len());
    for label in key.labels() {
        if labels.len() == MAX_LABELS {
            bounded = false;
            break;
        }
        let raw = label.key();
        let mut name = sanitize_label_name(&cut_value(raw));
        if name == OVERFLOW_LABEL {
            if family.first_warning(Warned::Reserved) {
                crate::diag::warn(&format!(
                    "metric `{}` has a label `{OVERFLOW_LABEL}`, which marks the runtime's \
                     overflow series; it is exported as `{RENAMED_OVERFLOW_LABEL}`",
                    family.name
                ));
            }
            RENAMED_OVERFLOW_LABEL.clone_into(&mut name);
        }
        let value = cut_value(label.value());
        bounded &= raw.len() <= MAX_VALUE_LEN && value.len() == label.value().len();
        labels.push((name, value.into_owned(), raw));
    }
    if !bounded && family.first_warning(Warned::LabelsCut) {
        crate::diag::warn(&format!(
            "metric `{}` was recorded with more than {MAX_LABELS} labels or a label longer \
             than {MAX_VALUE_LEN} bytes; labels beyond the {MAX_LABELS}th are dropped and long \
             names and values cut (label values should come from a small set)",
            family.name
        ));
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    // Two names made into one, in this key or against an earlier one.
    let merged = labels
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .map(|w| (w[0].2.to_owned(), w[1].2.to_owned(), w[0].0.clone()))
        .or_else(|| {
            labels.iter().find_map(|(name, _, raw)| {
                family
                    .other_label_name(name, raw)
                    .map(|first| (first, (*raw).to_owned(), name.clone()))
            })
        });
    if let Some((a, b, name)) = merged
        && family.first_warning(Warned::LabelsMerged)
    {
        crate::diag::warn(&format!(
            "metric `{}` has labels `{a}` and `{b}`, both exported as `{name}`: their values \
             are one label (within one series, the first is kept); rename one of them",
            family.name
        ));
    }
    labels.dedup_by(|a, b| a.0 == b.0);
    let set: LabelSet = labels.into_iter().map(|(k, v, _)| (k, v)).collect();
    (set, bounded)
}

impl metrics::CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.counter_add(value);
    }
    fn absolute(&self, value: u64) {
        self.counter_absolute(value);
    }
}

impl metrics::GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.gauge_add(value);
    }
    fn decrement(&self, value: f64) {
        self.gauge_add(-value);
    }
    fn set(&self, value: f64) {
        self.gauge_set(value);
    }
}

impl metrics::HistogramFn for Cell {
    fn record(&self, value: f64) {
        self.histogram_record(value);
    }
}

/// The recorder `install()` sets as the global `metrics` recorder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FacadeRecorder;

impl metrics::Recorder for FacadeRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        FACADE.describe(key.as_str(), MetricType::Counter, unit, &description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        FACADE.describe(key.as_str(), MetricType::Gauge, unit, &description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        FACADE.describe(key.as_str(), MetricType::Histogram, unit, &description);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        FACADE
            .cell(key, MetricType::Counter)
            .map_or_else(Counter::noop, Counter::from_arc)
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        FACADE
            .cell(key, MetricType::Gauge)
            .map_or_else(Gauge::noop, Gauge::from_arc)
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        FACADE
            .cell(key, MetricType::Histogram)
            .map_or_else(Histogram::noop, Histogram::from_arc)
    }
}

/// Stores the help text of a metric recorded through the `metrics` facade, whether or not
/// the recorder is installed yet. The validated `counter!`, `gauge!` and `histogram!`
/// macros call it once per call site.
pub fn describe_facade(kind: MetricKind, name: &str, help: &str) {
    let kind = match kind {
        MetricKind::Counter => MetricType::Counter,
        MetricKind::Gauge | MetricKind::Info => MetricType::Gauge,
        MetricKind::Histogram => MetricType::Histogram,
    };
    FACADE.describe(name, kind, None, help);
}
