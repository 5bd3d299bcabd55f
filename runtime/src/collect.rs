//! One read path for every exporter.
//!
//! Each [`Source`] (monitored functions, the `metrics` facade, health, business metrics, …)
//! takes one consistent [`Snapshot`] per scrape. The families of all snapshots are merged
//! by name, so every family is written once, contiguously, in name order, whatever the
//! number of sources that contribute series to it. The Prometheus text, OpenMetrics and
//! OTLP encoders all consume the same [`Encoder`] calls.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
    /// Metadata with value 1 (`*_info`).
    Info,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Info => "info",
        }
    }
}

/// Metadata of a family. `name` is the full sample name (`…_total` for counters, `…_info`
/// for info metrics); the OpenMetrics encoder derives the family name from it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FamilyDesc<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) help: Cow<'a, str>,
    pub(crate) kind: Kind,
    /// Base unit (`seconds`, `bytes`, `ratio`…), when the name carries it as a suffix.
    pub(crate) unit: Option<Cow<'a, str>>,
}

impl FamilyDesc<'_> {
    /// The OpenMetrics family name: the sample name without the suffix the type adds.
    pub(crate) fn family_name(&self) -> &str {
        let name = self.name.as_ref();
        match self.kind {
            Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
            Kind::Info => name.strip_suffix("_info").unwrap_or(name),
            Kind::Gauge | Kind::Histogram => name,
        }
    }

    /// The names of the samples this family writes.
    fn sample_names(&self) -> Vec<String> {
        match self.kind {
            Kind::Histogram => ["_bucket", "_count", "_sum"]
                .iter()
                .map(|suffix| format!("{}{suffix}", self.name))
                .collect(),
            Kind::Counter | Kind::Gauge | Kind::Info => vec![self.name.to_string()],
        }
    }
}

impl FamilyDesc<'static> {
    /// A family whose metadata is all static.
    pub(crate) fn fixed(
        name: &'static str,
        help: &'static str,
        kind: Kind,
        unit: Option<&'static str>,
    ) -> Self {
        FamilyDesc {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed(help),
            kind,
            unit: unit.map(Cow::Borrowed),
        }
    }
}

/// Label pairs of one series, in exposition order. Empty values are omitted by encoders.
pub(crate) type Labels<'a> = &'a [(&'a str, &'a str)];

/// A counter or gauge value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    Int(u64),
    Float(f64),
}

/// One histogram series.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HistogramValue<'a> {
    /// Upper bounds, ascending, without `+Inf`.
    pub(crate) bounds: &'a [f64],
    /// Per-bucket counts (not cumulative), `bounds.len() + 1` of them; the last one is
    /// above the highest bound.
    pub(crate) counts: &'a [u64],
    pub(crate) sum: f64,
}

impl HistogramValue<'_> {
    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

pub(crate) use crate::trace::Exemplar;

/// Receives one family at a time, then its series.
pub(crate) trait Encoder {
    fn family(&mut self, desc: &FamilyDesc<'_>);
    fn counter(&mut self, labels: Labels<'_>, value: Value);
    fn gauge(&mut self, labels: Labels<'_>, value: Value);
    fn histogram(&mut self, labels: Labels<'_>, value: &HistogramValue<'_>);
    fn info(&mut self, labels: Labels<'_>);
    /// A counter with the exemplar of a recent increment; encoders without exemplar
    /// support write the plain counter.
    fn counter_exemplar(&mut self, labels: Labels<'_>, value: Value, exemplar: Option<&Exemplar>) {
        let _ = exemplar;
        self.counter(labels, value);
    }
    /// A histogram with one optional exemplar per bucket (`bounds.len() + 1` of them).
    fn histogram_exemplars(
        &mut self,
        labels: Labels<'_>,
        value: &HistogramValue<'_>,
        exemplars: &[Option<Exemplar>],
    ) {
        let _ = exemplars;
        self.histogram(labels, value);
    }
}

/// A consistent view of one source, taken once per scrape.
pub(crate) trait Snapshot {
    /// Every family this snapshot has series for (or declares, at zero).
    fn families(&self) -> Vec<FamilyDesc<'_>>;
    /// Writes this snapshot's series of `family`.
    fn encode(&self, family: &str, out: &mut dyn Encoder);
}

/// Something that holds metrics.
pub(crate) trait Source: Send + Sync {
    fn snapshot(&self) -> Box<dyn Snapshot + '_>;
}

static EXTRA_SOURCES: RwLock<Vec<Arc<dyn Source>>> = RwLock::new(Vec::new());

/// Adds a source read by every exporter from now on.
pub(crate) fn register_source(source: Arc<dyn Source>) {
    EXTRA_SOURCES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .push(source);
}

/// Removes a source added with [`register_source`].
#[cfg_attr(not(feature = "otlp"), allow(dead_code))] // the OTLP pipeline's self-metrics
pub(crate) fn unregister_source(source: &Arc<dyn Source>) {
    EXTRA_SOURCES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|s| !Arc::ptr_eq(s, source));
}

fn builtin_sources() -> [&'static dyn Source; 3] {
    [
        &crate::catalog::MONITOR_SOURCE,
        &crate::facade::FACADE_SOURCE,
        &crate::business::BUSINESS_SOURCE,
    ]
}

/// Feeds every family of every source to `out`, merged by name, in name order.
pub(crate) fn collect(out: &mut dyn Encoder) {
    collect_filtered(&|_| true, out);
}

/// [`collect`], keeping only the families whose sample name (`x_total`, `y_seconds`)
/// `keep` accepts; returns the names of the families written.
pub(crate) fn collect_filtered(keep: &dyn Fn(&str) -> bool, out: &mut dyn Encoder) -> Vec<String> {
    let extra = EXTRA_SOURCES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut snapshots: Vec<Box<dyn Snapshot + '_>> = Vec::with_capacity(3 + extra.len());
    for source in builtin_sources() {
        snapshots.push(source.snapshot());
    }
    for source in &extra {
        snapshots.push(source.snapshot());
    }

    // OpenMetrics family name -> (metadata of the first source, snapshots that
    // contribute). Sources come in a fixed order (built-in ones first), and the first to
    // claim a family name or a sample name keeps it: a later family that would collide
    // with it (`x` as a gauge next to the counter `x_total`, a gauge `y_count` next to the
    // histogram `y`) would make the exposition invalid, so it is left out, once reported.
    let mut families: BTreeMap<String, (FamilyDesc<'_>, Vec<usize>)> = BTreeMap::new();
    let mut taken: HashMap<String, String> = HashMap::new();
    for (index, snapshot) in snapshots.iter().enumerate() {
        for desc in snapshot.families() {
            let key = desc.family_name().to_owned();
            if let Some((first, contributors)) = families.get_mut(&key) {
                if first.kind == desc.kind && first.name == desc.name {
                    contributors.push(index);
                } else {
                    collision(&desc, &first.name);
                }
                continue;
            }
            let names = desc.sample_names();
            if let Some(owner) = std::iter::once(&key)
                .chain(&names)
                .find_map(|n| taken.get(n))
            {
                collision(&desc, owner);
                continue;
            }
            for n in names.into_iter().chain(std::iter::once(key.clone())) {
                taken.insert(n, desc.name.to_string());
            }
            families.insert(key, (desc, vec![index]));
        }
    }
    let mut written = Vec::new();
    for (desc, contributors) in families.values() {
        if !keep(&desc.name) {
            continue;
        }
        out.family(desc);
        for &index in contributors {
            snapshots[index].encode(&desc.name, out);
        }
        written.push(desc.name.to_string());
    }
    written
}

fn collision(desc: &FamilyDesc<'_>, owner: &str) {
    crate::diag::warn_once(
        &format!("collision:{}", desc.name),
        &format!(
            "metric `{}` ({}) collides with the metric `{owner}` in the exposition formats; \
             its series are not exported: rename one of them",
            desc.name,
            desc.kind.as_str()
        ),
    );
}
