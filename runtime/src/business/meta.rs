//! The compile-time facts of a business metric.

pub use flext_observability_naming::MetricKind;

use crate::model::MetricType;

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

    pub(crate) fn kind(&self) -> MetricType {
        match self.kind {
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
            MetricKind::Histogram => MetricType::Histogram,
            MetricKind::Info => MetricType::Info,
        }
    }
}
