//! Business metrics: statics declared with `#[business_metric]`, their series, and the
//! source that exports them.
//!
//! A declaration expands to a `static` of one of the types in [`metric`] (which holds
//! the metric's facts and its series) plus, when it has labels, a label struct of the
//! same name whose fields are the label values. Everything registers with `inventory`;
//! the registry below is built once, on first use, and is what the exporters read.

mod call;
mod check;
mod family;
mod metric;
mod site;
mod storage;

use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

pub use flext_observability_naming::MetricKind;

pub(crate) use check::startup_issues;
pub use family::Family;
pub(crate) use family::set_default_series_limit;
pub use metric::{
    Count, Counter, CounterSeries, Gauge, GaugeSeries, Histogram, HistogramSeries, Info, Measure,
    NoLabels,
};
pub use site::{GaugeStore, InfoSeries, InfoStore, Labels, Site, SiteDyn, SiteEntry, SiteStore};
pub use storage::{CounterShards, HistogramShards, Series, StoreRef};

pub use call::{CallGuard, OkAny, OkResult, apply};

use crate::collect::{Encoder, FamilyDesc, HistogramValue, Kind, Snapshot, Source, Value};
use crate::dynamic::{OVERFLOW_LABEL, OVERFLOWS, encode_overflows, overflows_desc};

/// Compile-time facts about one business metric, as declared.
#[derive(Debug)]
pub struct MetricMeta {
    /// Full name: `…_total` for counters, `…_info` for info metrics.
    pub name: &'static str,
    /// Help text (the declaration's doc comment).
    pub help: &'static str,
    /// Counter, gauge, histogram or info.
    pub kind: MetricKind,
    /// Base unit, when the name ends with one.
    pub unit: Option<&'static str>,
    /// Label names, in declaration order.
    pub labels: &'static [&'static str],
    /// Bucket upper bounds of a histogram, ascending; empty otherwise.
    pub bounds: &'static [f64],
    /// Most series created from run-time label values; 0 means the runtime's default
    /// (2000, or `series_limit(..)`).
    pub max_series: usize,
    /// Source file of the declaration.
    pub file: &'static str,
    /// Source line of the declaration.
    pub line: u32,
    /// `module_path!()` of the declaration.
    pub module: &'static str,
}

impl MetricMeta {
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    fn kind(&self) -> Kind {
        match self.kind {
            MetricKind::Counter => Kind::Counter,
            MetricKind::Gauge => Kind::Gauge,
            MetricKind::Histogram => Kind::Histogram,
            MetricKind::Info => Kind::Info,
        }
    }
}

/// Stores the help text of a metric recorded through the `metrics` facade, whether or not
/// the recorder is installed yet. The validated `counter!`, `gauge!` and `histogram!`
/// macros call it once per call site.
pub fn describe_facade(kind: MetricKind, name: &str, help: &str) {
    let kind = match kind {
        MetricKind::Counter => Kind::Counter,
        MetricKind::Gauge | MetricKind::Info => Kind::Gauge,
        MetricKind::Histogram => Kind::Histogram,
    };
    crate::facade::FACADE.describe(name, kind, None, help);
}

/// What `inventory` collects for each call site of the validated `counter!`, `gauge!` and
/// `histogram!` macros, so start-up validation sees the names they use.
#[derive(Debug)]
pub struct FacadeEntry {
    pub(crate) name: &'static str,
    pub(crate) kind: MetricKind,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

impl FacadeEntry {
    /// A call site recording `name` as a `kind`.
    pub const fn new(name: &'static str, kind: MetricKind, file: &'static str, line: u32) -> Self {
        FacadeEntry {
            name,
            kind,
            file,
            line,
        }
    }

    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

inventory::collect!(FacadeEntry);

/// A declared business metric, type-erased.
pub trait Metric: Sync {
    #[doc(hidden)]
    fn family(&'static self) -> &'static Family;
    #[doc(hidden)]
    fn inline_store(&'static self) -> Option<StoreRef>;
}

/// What `inventory` collects for each declared business metric.
#[derive(Clone, Copy)]
pub struct BusinessEntry(&'static dyn Metric);

impl BusinessEntry {
    /// Wraps a declared metric for registration.
    pub const fn new(metric: &'static dyn Metric) -> Self {
        BusinessEntry(metric)
    }
}

impl std::fmt::Debug for BusinessEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BusinessEntry")
            .field(&self.0.family().meta.name)
            .finish()
    }
}

inventory::collect!(BusinessEntry);

pub(crate) struct Registry {
    /// Every declaration, by (name, file, line).
    pub(crate) declared: Vec<&'static Family>,
    /// The first declaration of every name: what is exported.
    pub(crate) exported: Vec<&'static Family>,
}

/// Built once, on first use: registrations are complete before `main` runs.
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut declared: Vec<(&'static dyn Metric, &'static Family)> =
            inventory::iter::<BusinessEntry>
                .into_iter()
                .map(|e| (e.0, e.0.family()))
                .collect();
        declared.sort_by(|(_, a), (_, b)| {
            (a.meta.name, a.meta.file, a.meta.line).cmp(&(b.meta.name, b.meta.file, b.meta.line))
        });
        let mut exported: Vec<&'static Family> = Vec::with_capacity(declared.len());
        for &(metric, family) in &declared {
            if exported
                .last()
                .is_some_and(|f| f.meta.name == family.meta.name)
            {
                continue;
            }
            // A label-less metric has exactly one series, at zero from the start.
            if family.meta.labels.is_empty() {
                family.attach(&[], metric.inline_store().map(|s| s.0));
            }
            exported.push(family);
        }
        for site in inventory::iter::<SiteEntry> {
            site.0.attach_at_startup();
        }
        Registry {
            declared: declared.into_iter().map(|(_, f)| f).collect(),
            exported,
        }
    })
}

pub(crate) struct BusinessSource;

pub(crate) static BUSINESS_SOURCE: BusinessSource = BusinessSource;

struct View {
    metrics: Vec<(&'static Family, Vec<&'static Series>)>,
}

impl Source for BusinessSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let metrics = registry()
            .exported
            .iter()
            .map(|&family| (family, family.snapshot()))
            .collect();
        Box::new(View { metrics })
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out: Vec<FamilyDesc<'_>> = self
            .metrics
            .iter()
            .map(|(family, _)| {
                let meta = &family.meta;
                FamilyDesc {
                    name: Cow::Borrowed(meta.name),
                    help: Cow::Borrowed(meta.help),
                    kind: meta.kind(),
                    unit: meta.unit.map(Cow::Borrowed),
                }
            })
            .collect();
        out.extend(overflows_desc(
            self.metrics
                .iter()
                .any(|(f, _)| f.overflowed.load(Ordering::Relaxed) > 0),
        ));
        out
    }

    fn encode(&self, name: &str, out: &mut dyn Encoder) {
        if name == OVERFLOWS {
            let counts = self
                .metrics
                .iter()
                .map(|(f, _)| (f.meta.name, f.overflowed.load(Ordering::Relaxed)));
            encode_overflows(counts, out);
            return;
        }
        let Ok(i) = self
            .metrics
            .binary_search_by(|(f, _)| f.meta.name.cmp(name))
        else {
            return;
        };
        let (family, series) = &self.metrics[i];
        let meta = &family.meta;
        let mut labels: Vec<(&str, &str)> = Vec::with_capacity(meta.labels.len());
        for s in series {
            labels.clear();
            if matches!(s.values, storage::Values::Overflow) {
                labels.push((OVERFLOW_LABEL, "true"));
            } else {
                labels.extend(
                    meta.labels
                        .iter()
                        .enumerate()
                        .map(|(i, &label)| (label, s.values.get(i))),
                );
            }
            match meta.kind {
                MetricKind::Counter => out.counter(&labels, Value::Int(s.counter_value())),
                MetricKind::Gauge => out.gauge(&labels, Value::Float(s.gauge_value())),
                MetricKind::Histogram => {
                    let (counts, sum) = s.histogram_snapshot();
                    out.histogram(
                        &labels,
                        &HistogramValue {
                            bounds: meta.bounds,
                            counts: &counts,
                            sum,
                        },
                    );
                }
                MetricKind::Info => out.info(&labels),
            }
        }
    }
}
