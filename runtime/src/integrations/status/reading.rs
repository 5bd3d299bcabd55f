//! One read of every registered source through the merge `/metrics` uses, reduced to
//! what the status page shows: the counts of each monitored function (by its place in
//! the catalogue), the `process_*` values and every other family with its series. The
//! page and `/status.json` therefore show the values `/metrics` would at that moment;
//! the sampler reads the same way, with fewer families.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::catalog;
use crate::collect::{self, Encoder};
use crate::exemplar::Exemplar;
use crate::model::{FamilyDesc, HistogramValue, Labels, MetricType, Value};
use crate::monitor::names::{BUILD_INFO, CALLS, CONCURRENT, DURATION};
use crate::monitor::site::Outcome;

/// Families the page shows elsewhere or not at all: health from the health snapshot,
/// and the runtime's own self-metrics.
const NOT_LISTED: [&str; 2] = ["health_check_", "flext_"];

/// The counts of one monitored function.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Counts {
    /// By [`Outcome`] (`Outcome as usize`).
    pub(super) outcomes: [u64; 4],
    /// Per bucket (not cumulative), the last one above the highest bound.
    pub(super) buckets: Vec<u64>,
    pub(super) sum_seconds: f64,
    pub(super) in_flight: u64,
}

impl Counts {
    /// Every finished call.
    pub(super) fn calls(&self) -> u64 {
        self.outcomes.iter().sum()
    }
}

/// One series of a listed family.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Series {
    pub(super) labels: Vec<(String, String)>,
    pub(super) value: SeriesValue,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum SeriesValue {
    Number(f64),
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        sum: f64,
    },
    Info,
}

/// A family listed among the metrics.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Family {
    pub(super) name: String,
    pub(super) help: String,
    pub(super) kind: MetricType,
    pub(super) series: Vec<Series>,
}

/// What one read found.
#[derive(Debug, Default)]
pub(super) struct Reading {
    /// In catalogue order.
    pub(super) functions: Vec<Counts>,
    /// `process_*` gauges and counters without labels, by sample name.
    pub(super) process: Vec<(String, f64)>,
    /// The labels of `build_info`.
    pub(super) build_info: Vec<(String, String)>,
    /// Every other family, in name order (only when asked for).
    pub(super) families: Vec<Family>,
}

impl Reading {
    /// A `process_*` value.
    pub(super) fn process(&self, name: &str) -> Option<f64> {
        self.process.iter().find(|(n, _)| n == name).map(|p| p.1)
    }
}

/// What to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scope {
    /// Everything the page shows.
    Page,
    /// The monitored functions' counts and the CPU time: what the sampler keeps.
    Sample,
}

/// Reads every registered source.
pub(super) fn read(scope: Scope) -> Reading {
    let index = function_index();
    let mut encoder = ReadEncoder {
        index,
        scope,
        reading: Reading {
            functions: vec![Counts::default(); catalog::catalog().monitors.len()],
            ..Reading::default()
        },
        current: Current::Skip,
        name: String::new(),
    };
    let keep = |name: &str| match scope {
        Scope::Page => true,
        Scope::Sample => name == CALLS || name == DURATION || name == "process_cpu_seconds_total",
    };
    collect::collect_registered(&keep, &mut encoder);
    encoder.reading
}

/// Catalogue position of each (function, module).
fn function_index() -> &'static HashMap<(&'static str, &'static str), usize> {
    static INDEX: OnceLock<HashMap<(&'static str, &'static str), usize>> = OnceLock::new();
    INDEX.get_or_init(|| {
        catalog::catalog()
            .monitors
            .iter()
            .enumerate()
            .map(|(i, site)| ((site.meta().function, site.meta().module), i))
            .collect()
    })
}

/// The family being written.
enum Current {
    Calls,
    Duration,
    Concurrent,
    BuildInfo,
    Process,
    Listed,
    Skip,
}

struct ReadEncoder {
    index: &'static HashMap<(&'static str, &'static str), usize>,
    scope: Scope,
    reading: Reading,
    current: Current,
    /// The sample name of the current family.
    name: String,
}

fn label<'a>(labels: Labels<'a>, name: &str) -> &'a str {
    labels
        .iter()
        .find(|(k, _)| *k == name)
        .map_or("", |(_, v)| v)
}

fn number(value: Value) -> f64 {
    match value {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
    }
}

fn owned(labels: Labels<'_>) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl ReadEncoder {
    fn function(&mut self, labels: Labels<'_>) -> Option<&mut Counts> {
        let key = (label(labels, "function"), label(labels, "module"));
        let i = *self.index.get(&key)?;
        self.reading.functions.get_mut(i)
    }

    fn listed(&mut self, series: Series) {
        if let Some(family) = self.reading.families.last_mut() {
            family.series.push(series);
        }
    }

    fn number(&mut self, labels: Labels<'_>, value: Value) {
        match self.current {
            Current::Calls => {
                let outcome = match (label(labels, "result"), label(labels, "error")) {
                    ("ok", _) => Outcome::Ok,
                    ("cancelled", _) => Outcome::Cancelled,
                    (_, "panic") => Outcome::Panic,
                    _ => Outcome::Error,
                };
                if let (Some(counts), Value::Int(n)) = (self.function(labels), value) {
                    counts.outcomes[outcome as usize] = n;
                }
            }
            Current::Concurrent => {
                if let (Some(counts), Value::Int(n)) = (self.function(labels), value) {
                    counts.in_flight = n;
                }
            }
            Current::Process if labels.iter().all(|(_, v)| v.is_empty()) => {
                let name = self.name.clone();
                self.reading.process.push((name, number(value)));
            }
            Current::Listed => self.listed(Series {
                labels: owned(labels),
                value: SeriesValue::Number(number(value)),
            }),
            _ => {}
        }
    }
}

impl Encoder for ReadEncoder {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        let name: &str = &desc.name;
        self.current = match name {
            CALLS => Current::Calls,
            DURATION => Current::Duration,
            CONCURRENT => Current::Concurrent,
            BUILD_INFO => Current::BuildInfo,
            _ if name.starts_with("process_") => Current::Process,
            _ if self.scope == Scope::Page && !NOT_LISTED.iter().any(|p| name.starts_with(p)) => {
                Current::Listed
            }
            _ => Current::Skip,
        };
        self.name.clear();
        self.name.push_str(name);
        if matches!(self.current, Current::Listed) {
            self.reading.families.push(Family {
                name: desc.name.to_string(),
                help: desc.help.to_string(),
                kind: desc.kind,
                series: Vec::new(),
            });
        }
    }

    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.number(labels, value);
    }

    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.number(labels, value);
    }

    fn histogram(&mut self, labels: Labels<'_>, value: &HistogramValue<'_>) {
        match self.current {
            Current::Duration => {
                if let Some(counts) = self.function(labels) {
                    counts.buckets.clear();
                    counts.buckets.extend_from_slice(value.counts);
                    counts.sum_seconds = value.sum;
                }
            }
            Current::Listed => self.listed(Series {
                labels: owned(labels),
                value: SeriesValue::Histogram {
                    bounds: value.bounds.to_vec(),
                    counts: value.counts.to_vec(),
                    sum: value.sum,
                },
            }),
            _ => {}
        }
    }

    fn info(&mut self, labels: Labels<'_>) {
        match self.current {
            Current::BuildInfo => self.reading.build_info = owned(labels),
            Current::Listed => self.listed(Series {
                labels: owned(labels),
                value: SeriesValue::Info,
            }),
            _ => {}
        }
    }

    fn counter_exemplar(&mut self, labels: Labels<'_>, value: Value, _: Option<&Exemplar>) {
        self.number(labels, value);
    }

    fn histogram_exemplars(
        &mut self,
        labels: Labels<'_>,
        value: &HistogramValue<'_>,
        _: &[Option<Exemplar>],
    ) {
        self.histogram(labels, value);
    }
}
