//! What one evaluation reads: the families its rules need, through the one read path
//! every exporter uses, so the process compares exactly the series Prometheus scrapes.

use crate::collect::{Encoder, collect_registered};
use crate::model::{FamilyDesc, HistogramValue, Labels, Value};

/// One series: its family's sample name and its labels (empty values left out, as the
/// exposition leaves them out).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Series {
    pub(super) family: String,
    pub(super) labels: Vec<(String, String)>,
}

impl Series {
    /// The value of label `name`, `""` when absent.
    pub(super) fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A histogram's finite bounds and cumulative counts (one more: the `+Inf` bucket).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Buckets {
    pub(super) bounds: Vec<f64>,
    pub(super) cumulative: Vec<f64>,
}

/// The series of the families asked for, at one instant.
#[derive(Debug, Default)]
pub(super) struct Captured {
    pub(super) scalars: Vec<(Series, f64)>,
    pub(super) histograms: Vec<(Series, Buckets)>,
}

/// Reads every family in `families` (sample names; `_total` for counters).
pub(super) fn capture(families: &[String]) -> Captured {
    let mut out = Capture {
        families,
        current: None,
        captured: Captured::default(),
    };
    collect_registered(&|name| families.iter().any(|f| f == name), &mut out);
    out.captured
}

struct Capture<'a> {
    families: &'a [String],
    current: Option<String>,
    captured: Captured,
}

impl Capture<'_> {
    fn series(&self, labels: Labels<'_>) -> Option<Series> {
        let family = self.current.clone()?;
        Some(Series {
            family,
            labels: labels
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
    }

    fn scalar(&mut self, labels: Labels<'_>, value: Value) {
        if let Some(series) = self.series(labels) {
            let value = match value {
                Value::Int(n) => n as f64,
                Value::Float(f) => f,
            };
            self.captured.scalars.push((series, value));
        }
    }
}

impl Encoder for Capture<'_> {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        let name = desc.name.as_ref();
        self.current = self
            .families
            .iter()
            .any(|f| f == name)
            .then(|| name.to_owned());
    }

    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.scalar(labels, value);
    }

    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.scalar(labels, value);
    }

    fn histogram(&mut self, labels: Labels<'_>, value: &HistogramValue<'_>) {
        let Some(series) = self.series(labels) else {
            return;
        };
        let mut total = 0u64;
        let cumulative = value
            .counts
            .iter()
            .map(|&c| {
                total = total.saturating_add(c);
                total as f64
            })
            .collect();
        self.captured.histograms.push((
            series,
            Buckets {
                bounds: value.bounds.to_vec(),
                cumulative,
            },
        ));
    }

    fn info(&mut self, _: Labels<'_>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_families_asked_for() {
        let families = vec!["a_total".to_owned()];
        let mut c = Capture {
            families: &families,
            current: None,
            captured: Captured::default(),
        };
        c.family(&FamilyDesc::fixed(
            "a_total",
            "",
            crate::model::MetricType::Counter,
            None,
        ));
        c.counter(&[("x", "1"), ("empty", "")], Value::Int(3));
        c.family(&FamilyDesc::fixed(
            "b",
            "",
            crate::model::MetricType::Histogram,
            None,
        ));
        c.histogram(
            &[],
            &HistogramValue {
                bounds: &[1.0],
                counts: &[1, 2],
                sum: 0.0,
            },
        );
        assert_eq!(c.captured.scalars.len(), 1);
        assert_eq!(
            c.captured.scalars[0].0.labels,
            vec![("x".to_owned(), "1".to_owned())]
        );
        assert_eq!(c.captured.scalars[0].0.label("x"), "1");
        assert!((c.captured.scalars[0].1 - 3.0).abs() < f64::EPSILON);
        assert!(c.captured.histograms.is_empty());
    }
}
