//! The data model of the read path: what a family is and what its series hold. Pure
//! data, below everything that stores or reads metrics.

use std::borrow::Cow;

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricType {
    Counter,
    Gauge,
    Histogram,
    /// Metadata with value 1 (`*_info`).
    Info,
}

impl MetricType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Info => "info",
        }
    }
}

/// Metadata of a family. `name` is the full sample name (`…_total` for counters, `…_info`
/// for info metrics); the OpenMetrics encoder derives the family name from it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FamilyDesc<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) help: Cow<'a, str>,
    pub(crate) kind: MetricType,
    /// Base unit (`seconds`, `bytes`, `ratio`…), when the name carries it as a suffix.
    pub(crate) unit: Option<Cow<'a, str>>,
}

impl FamilyDesc<'_> {
    /// The OpenMetrics family name: the sample name without the suffix the type adds.
    pub(crate) fn family_name(&self) -> &str {
        let name = self.name.as_ref();
        match self.kind {
            MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
            MetricType::Info => name.strip_suffix("_info").unwrap_or(name),
            MetricType::Gauge | MetricType::Histogram => name,
        }
    }

    /// The names of the samples this family writes (OpenMetrics' `_created` included).
    pub(crate) fn sample_names(&self) -> Vec<String> {
        match self.kind {
            MetricType::Histogram => ["_bucket", "_count", "_sum", "_created"]
                .iter()
                .map(|suffix| format!("{}{suffix}", self.name))
                .collect(),
            MetricType::Counter => {
                vec![self.name.to_string(), self.created_name()]
            }
            MetricType::Gauge | MetricType::Info => vec![self.name.to_string()],
        }
    }

    /// The name of the OpenMetrics `_created` sample of a counter or histogram.
    pub(crate) fn created_name(&self) -> String {
        format!("{}_created", self.family_name())
    }
}

impl FamilyDesc<'static> {
    /// A family whose metadata is all static.
    pub(crate) fn fixed(
        name: &'static str,
        help: &'static str,
        kind: MetricType,
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

/// Default bucket bounds of duration histograms, in seconds: 10 µs to 10 s, including
/// every threshold autometrics' latency objectives use.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
