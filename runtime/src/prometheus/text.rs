//! Prometheus text format 0.0.4 and OpenMetrics 1.0 text, written by one encoder.

use crate::collect::Encoder;
use crate::exemplar::Exemplar;
use crate::model::{FamilyDesc, HistogramValue, Labels, MetricType, Value};

use super::format::{go_float, push_f64, push_help, push_label_value, push_u64};

pub(crate) struct TextEncoder {
    pub(crate) out: String,
    openmetrics: bool,
    /// Sample name of the current family (with `_total` / `_info` where they apply).
    name: String,
    /// The bounds of the last histogram and their `le` strings: series of a family
    /// almost always share their bounds, and formatting them is the costly part.
    le_bounds: Vec<f64>,
    le: Vec<String>,
    /// The current histogram's label pairs, escaped once for its 14-odd sample lines.
    pairs: String,
    /// OpenMetrics: the value of every `_created` sample (the process's start, in
    /// seconds), formatted once.
    created: Option<String>,
    /// `x_created` of the current family when it is a counter or a histogram, else empty.
    created_name: String,
}

impl TextEncoder {
    /// An encoder of either format; OpenMetrics writes `_created` samples with the
    /// process's start, since every series counts from it (see `crate::identity`).
    pub(crate) fn new(openmetrics: bool, capacity: usize) -> Self {
        let start = openmetrics.then(crate::identity::process_start_unix_nanos);
        Self::with_start(openmetrics, capacity, start)
    }

    /// An encoder whose `_created` samples (OpenMetrics only) say `start`.
    pub(crate) fn with_start(openmetrics: bool, capacity: usize, start: Option<u64>) -> Self {
        let created = start.filter(|_| openmetrics).map(|nanos| {
            let mut text = String::new();
            push_unix_millis(&mut text, nanos);
            text
        });
        TextEncoder {
            out: String::with_capacity(capacity),
            openmetrics,
            name: String::new(),
            le_bounds: Vec::new(),
            le: Vec::new(),
            pairs: String::new(),
            created,
            created_name: String::new(),
        }
    }

    /// `x_created{labels} <start>` after a counter's sample (OpenMetrics).
    fn created(&mut self, labels: Labels<'_>) {
        let Some(created) = &self.created else {
            return;
        };
        if self.created_name.is_empty() {
            return;
        }
        self.out.push_str(&self.created_name);
        let start = self.out.len();
        self.out.push('{');
        if push_pairs(&mut self.out, labels) {
            self.out.push('}');
        } else {
            self.out.truncate(start);
        }
        self.out.push(' ');
        self.out.push_str(created);
        self.out.push('\n');
    }

    pub(crate) fn finish(mut self) -> String {
        if self.openmetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }

    /// `name{labels} ` of a counter, gauge or info sample.
    fn sample(&mut self, labels: Labels<'_>) {
        self.out.push_str(&self.name);
        let start = self.out.len();
        self.out.push('{');
        if push_pairs(&mut self.out, labels) {
            self.out.push('}');
        } else {
            self.out.truncate(start);
        }
        self.out.push(' ');
    }

    fn value(&mut self, value: Value) {
        match value {
            Value::Int(v) => push_u64(&mut self.out, v),
            Value::Float(v) => push_f64(&mut self.out, v),
        }
        self.out.push('\n');
    }

    fn exemplar(&mut self, exemplar: Option<&Exemplar>) {
        if self.openmetrics {
            push_exemplar(&mut self.out, exemplar);
        }
    }

    fn le_strings(&mut self, bounds: &[f64]) {
        if self.le_bounds.as_slice() != bounds {
            self.le = bounds.iter().map(|&b| go_float(b)).collect();
            bounds.clone_into(&mut self.le_bounds);
        }
    }
}

/// Appends `k="v"` pairs separated by commas, skipping empty values; returns whether it
/// wrote any.
fn push_pairs(out: &mut String, labels: Labels<'_>) -> bool {
    let mut any = false;
    for &(key, value) in labels {
        if value.is_empty() {
            continue;
        }
        if any {
            out.push(',');
        }
        any = true;
        out.push_str(key);
        out.push_str("=\"");
        push_label_value(out, value);
        out.push('"');
    }
    any
}

/// ` # {trace_id="…",span_id="…"} value timestamp` (OpenMetrics only; 63 characters of
/// labels, within the 128 allowed).
fn push_exemplar(out: &mut String, exemplar: Option<&Exemplar>) {
    let Some(e) = exemplar else {
        return;
    };
    out.push_str(" # {trace_id=\"");
    out.push_str(&crate::span_ids::hex(&e.trace_id));
    out.push_str("\",span_id=\"");
    out.push_str(&crate::span_ids::hex(&e.span_id));
    out.push_str("\"} ");
    push_f64(out, e.value);
    out.push(' ');
    push_unix_millis(out, e.unix_nanos);
}

/// Seconds since the Unix epoch with milliseconds: `1700000000.042`.
fn push_unix_millis(out: &mut String, unix_nanos: u64) {
    let secs = unix_nanos / 1_000_000_000;
    let millis = (unix_nanos / 1_000_000) % 1000;
    push_u64(out, secs);
    out.push('.');
    if millis < 100 {
        out.push('0');
    }
    if millis < 10 {
        out.push('0');
    }
    push_u64(out, millis);
}

impl Encoder for TextEncoder {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        self.name.clear();
        self.name.push_str(&desc.name);
        self.created_name.clear();
        if self.created.is_some()
            && matches!(desc.kind, MetricType::Counter | MetricType::Histogram)
        {
            self.created_name.push_str(desc.family_name());
            self.created_name.push_str("_created");
        }
        if self.openmetrics {
            let family = desc.family_name();
            self.out.push_str("# TYPE ");
            self.out.push_str(family);
            self.out.push(' ');
            self.out.push_str(desc.kind.as_str());
            self.out.push('\n');
            if let Some(unit) = &desc.unit
                && family.ends_with(&format!("_{unit}"))
            {
                self.out.push_str("# UNIT ");
                self.out.push_str(family);
                self.out.push(' ');
                self.out.push_str(unit);
                self.out.push('\n');
            }
            if !desc.help.is_empty() {
                self.out.push_str("# HELP ");
                self.out.push_str(family);
                self.out.push(' ');
                push_help(&mut self.out, &desc.help, true);
                self.out.push('\n');
            }
        } else {
            if !desc.help.is_empty() {
                self.out.push_str("# HELP ");
                self.out.push_str(&desc.name);
                self.out.push(' ');
                push_help(&mut self.out, &desc.help, false);
                self.out.push('\n');
            }
            self.out.push_str("# TYPE ");
            self.out.push_str(&desc.name);
            self.out.push(' ');
            self.out.push_str(match desc.kind {
                MetricType::Info => "gauge",
                kind => kind.as_str(),
            });
            self.out.push('\n');
        }
    }

    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.sample(labels);
        self.value(value);
        self.created(labels);
    }

    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.sample(labels);
        self.value(value);
    }

    fn info(&mut self, labels: Labels<'_>) {
        self.sample(labels);
        self.out.push_str("1\n");
    }

    fn counter_exemplar(&mut self, labels: Labels<'_>, value: Value, exemplar: Option<&Exemplar>) {
        self.sample(labels);
        match value {
            Value::Int(v) => push_u64(&mut self.out, v),
            Value::Float(v) => push_f64(&mut self.out, v),
        }
        self.exemplar(exemplar);
        self.out.push('\n');
        self.created(labels);
    }

    fn histogram(&mut self, labels: Labels<'_>, h: &HistogramValue<'_>) {
        self.histogram_exemplars(labels, h, &[]);
    }

    fn histogram_exemplars(
        &mut self,
        labels: Labels<'_>,
        h: &HistogramValue<'_>,
        exemplars: &[Option<Exemplar>],
    ) {
        self.le_strings(h.bounds);
        self.pairs.clear();
        let labelled = push_pairs(&mut self.pairs, labels);
        let TextEncoder {
            out,
            openmetrics,
            name,
            le,
            pairs,
            created,
            created_name,
            ..
        } = self;
        let exemplars = if *openmetrics { exemplars } else { &[] };
        // `name_bucket{pairs,le="…"} ` for each bound, then `+Inf`.
        let bucket = |out: &mut String, le: &str| {
            out.push_str(name);
            out.push_str("_bucket{");
            out.push_str(pairs);
            if labelled {
                out.push(',');
            }
            out.push_str("le=\"");
            out.push_str(le);
            out.push_str("\"} ");
        };
        let mut cumulative = 0u64;
        for (i, le) in le.iter().enumerate() {
            cumulative += h.counts.get(i).copied().unwrap_or(0);
            bucket(out, le);
            push_u64(out, cumulative);
            push_exemplar(out, exemplars.get(i).and_then(Option::as_ref));
            out.push('\n');
        }
        let count = h.count();
        bucket(out, "+Inf");
        push_u64(out, count);
        push_exemplar(out, exemplars.get(h.bounds.len()).and_then(Option::as_ref));
        out.push('\n');
        // OpenMetrics: a histogram with negative buckets has no sum (it would not be a
        // counter), and so no count either (parsers require both or neither; the `+Inf`
        // bucket has it); those without refuse negative observations where recorded.
        let signed = *openmetrics && h.bounds.first().is_some_and(|&b| b < 0.0);
        let samples = [("_sum", Value::Float(h.sum)), ("_count", Value::Int(count))];
        for (suffix, value) in samples.into_iter().take(if signed { 0 } else { 2 }) {
            out.push_str(name);
            out.push_str(suffix);
            if labelled {
                out.push('{');
                out.push_str(pairs);
                out.push('}');
            }
            out.push(' ');
            match value {
                Value::Int(v) => push_u64(out, v),
                Value::Float(v) => push_f64(out, v),
            }
            out.push('\n');
        }
        if let Some(created) = created {
            out.push_str(created_name);
            if labelled {
                out.push('{');
                out.push_str(pairs);
                out.push('}');
            }
            out.push(' ');
            out.push_str(created);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn desc(
        name: &'static str,
        kind: MetricType,
        unit: Option<&'static str>,
    ) -> FamilyDesc<'static> {
        FamilyDesc {
            name: Cow::Borrowed(name),
            help: Cow::Borrowed("Help with a \\ and a\nnewline."),
            kind,
            unit: unit.map(Cow::Borrowed),
        }
    }

    const EXEMPLAR: Exemplar = Exemplar {
        trace_id: [0xab; 16],
        span_id: [0x01; 8],
        value: 0.25,
        unix_nanos: 1_700_000_000_042_000_000,
    };

    /// 2023-11-14T22:13:20.5Z.
    const START: u64 = 1_700_000_000_500_000_000;

    /// Every kind of family through one encoder, as the merge drives it.
    fn encode(openmetrics: bool) -> String {
        let mut e = TextEncoder::with_start(openmetrics, 0, Some(START));
        e.family(&desc("jobs_total", MetricType::Counter, None));
        e.counter_exemplar(
            &[("queue", "a\"b\\c\nd"), ("empty", "")],
            Value::Int(3),
            Some(&EXEMPLAR),
        );
        e.counter(&[], Value::Int(0));
        e.family(&desc(
            "temperature_celsius",
            MetricType::Gauge,
            Some("celsius"),
        ));
        e.gauge(&[("room", "x")], Value::Float(-1.5));
        e.family(&desc(
            "wait_seconds",
            MetricType::Histogram,
            Some("seconds"),
        ));
        e.histogram_exemplars(
            &[("q", "1")],
            &HistogramValue {
                bounds: &[0.1, 1.0],
                counts: &[1, 0, 2],
                sum: 7.5,
            },
            &[None, Some(EXEMPLAR), None],
        );
        e.histogram(
            &[],
            &HistogramValue {
                bounds: &[0.1, 1.0],
                counts: &[0, 0, 0],
                sum: 0.0,
            },
        );
        e.family(&desc("build_info", MetricType::Info, None));
        e.info(&[("version", "1.2")]);
        e.finish()
    }

    #[test]
    fn text_format() {
        assert_eq!(
            encode(false),
            "# HELP jobs_total Help with a \\\\ and a\\nnewline.\n\
             # TYPE jobs_total counter\n\
             jobs_total{queue=\"a\\\"b\\\\c\\nd\"} 3\n\
             jobs_total 0\n\
             # HELP temperature_celsius Help with a \\\\ and a\\nnewline.\n\
             # TYPE temperature_celsius gauge\n\
             temperature_celsius{room=\"x\"} -1.5\n\
             # HELP wait_seconds Help with a \\\\ and a\\nnewline.\n\
             # TYPE wait_seconds histogram\n\
             wait_seconds_bucket{q=\"1\",le=\"0.1\"} 1\n\
             wait_seconds_bucket{q=\"1\",le=\"1\"} 1\n\
             wait_seconds_bucket{q=\"1\",le=\"+Inf\"} 3\n\
             wait_seconds_sum{q=\"1\"} 7.5\n\
             wait_seconds_count{q=\"1\"} 3\n\
             wait_seconds_bucket{le=\"0.1\"} 0\n\
             wait_seconds_bucket{le=\"1\"} 0\n\
             wait_seconds_bucket{le=\"+Inf\"} 0\n\
             wait_seconds_sum 0\n\
             wait_seconds_count 0\n\
             # HELP build_info Help with a \\\\ and a\\nnewline.\n\
             # TYPE build_info gauge\n\
             build_info{version=\"1.2\"} 1\n"
        );
    }

    #[test]
    fn openmetrics_format() {
        let trace = "abababababababababababababababab";
        assert_eq!(
            encode(true),
            format!(
                "# TYPE jobs counter\n\
                 # HELP jobs Help with a \\\\ and a\\nnewline.\n\
                 jobs_total{{queue=\"a\\\"b\\\\c\\nd\"}} 3 # {{trace_id=\"{trace}\",span_id=\"0101010101010101\"}} 0.25 1700000000.042\n\
                 jobs_created{{queue=\"a\\\"b\\\\c\\nd\"}} 1700000000.500\n\
                 jobs_total 0\n\
                 jobs_created 1700000000.500\n\
                 # TYPE temperature_celsius gauge\n\
                 # UNIT temperature_celsius celsius\n\
                 # HELP temperature_celsius Help with a \\\\ and a\\nnewline.\n\
                 temperature_celsius{{room=\"x\"}} -1.5\n\
                 # TYPE wait_seconds histogram\n\
                 # UNIT wait_seconds seconds\n\
                 # HELP wait_seconds Help with a \\\\ and a\\nnewline.\n\
                 wait_seconds_bucket{{q=\"1\",le=\"0.1\"}} 1\n\
                 wait_seconds_bucket{{q=\"1\",le=\"1\"}} 1 # {{trace_id=\"{trace}\",span_id=\"0101010101010101\"}} 0.25 1700000000.042\n\
                 wait_seconds_bucket{{q=\"1\",le=\"+Inf\"}} 3\n\
                 wait_seconds_sum{{q=\"1\"}} 7.5\n\
                 wait_seconds_count{{q=\"1\"}} 3\n\
                 wait_seconds_created{{q=\"1\"}} 1700000000.500\n\
                 wait_seconds_bucket{{le=\"0.1\"}} 0\n\
                 wait_seconds_bucket{{le=\"1\"}} 0\n\
                 wait_seconds_bucket{{le=\"+Inf\"}} 0\n\
                 wait_seconds_sum 0\n\
                 wait_seconds_count 0\n\
                 wait_seconds_created 1700000000.500\n\
                 # TYPE build info\n\
                 # HELP build Help with a \\\\ and a\\nnewline.\n\
                 build_info{{version=\"1.2\"}} 1\n\
                 # EOF\n"
            )
        );
    }

    #[test]
    fn le_strings_are_reformatted_only_when_bounds_change() {
        let mut e = TextEncoder::with_start(false, 0, None);
        e.le_strings(&[0.5, 2.0]);
        assert_eq!(e.le, ["0.5", "2"]);
        e.le_strings(&[0.5, 2.0]);
        e.le_strings(&[1e-5]);
        assert_eq!(e.le, ["1e-05"]);
    }

    #[test]
    fn openmetrics_histograms_with_negative_buckets_have_no_sum_nor_count() {
        let h = HistogramValue {
            bounds: &[-1.0, 0.0, 1.0],
            counts: &[1, 0, 1, 0],
            sum: -3.5,
        };
        for openmetrics in [false, true] {
            let mut e = TextEncoder::with_start(openmetrics, 0, None);
            e.family(&desc("t_celsius", MetricType::Histogram, None));
            e.histogram(&[], &h);
            let out = e.finish();
            assert_eq!(out.contains("t_celsius_sum"), !openmetrics, "{out}");
            assert_eq!(out.contains("t_celsius_count 2"), !openmetrics, "{out}");
            assert!(out.contains("t_celsius_bucket{le=\"+Inf\"} 2"), "{out}");
        }
    }
}
