//! Prometheus text format 0.0.4 and OpenMetrics 1.0 text, written by one encoder.

use crate::collect::{Encoder, Exemplar, FamilyDesc, HistogramValue, Kind, Labels, Value};

use super::format::{go_float, push_f64, push_help, push_label_value, push_u64};

pub(crate) struct TextEncoder {
    pub(crate) out: String,
    openmetrics: bool,
    /// Sample name of the current family (with `_total` / `_info` where they apply).
    name: String,
    /// `le` strings of the last bounds seen, keyed by the bounds' address and length:
    /// series of one family almost always share one bounds slice.
    le_key: (usize, usize),
    le: Vec<String>,
}

impl TextEncoder {
    pub(crate) fn new(openmetrics: bool, capacity: usize) -> Self {
        TextEncoder {
            out: String::with_capacity(capacity),
            openmetrics,
            name: String::new(),
            le_key: (0, 0),
            le: Vec::new(),
        }
    }

    pub(crate) fn finish(mut self) -> String {
        if self.openmetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }

    fn labels(&mut self, labels: Labels<'_>, extra: Option<(&str, &str)>) {
        let mut first = true;
        for &(key, value) in labels.iter().chain(extra.as_ref()) {
            if value.is_empty() {
                continue;
            }
            self.out.push(if first { '{' } else { ',' });
            first = false;
            self.out.push_str(key);
            self.out.push_str("=\"");
            push_label_value(&mut self.out, value);
            self.out.push('"');
        }
        if !first {
            self.out.push('}');
        }
    }

    fn sample(&mut self, suffix: &str, labels: Labels<'_>, extra: Option<(&str, &str)>) {
        self.out.push_str(&self.name);
        self.out.push_str(suffix);
        self.labels(labels, extra);
        self.out.push(' ');
    }

    fn value(&mut self, value: Value) {
        match value {
            Value::Int(v) => push_u64(&mut self.out, v),
            Value::Float(v) => push_f64(&mut self.out, v),
        }
        self.out.push('\n');
    }

    /// ` # {trace_id="…",span_id="…"} value timestamp` (OpenMetrics only; 63 characters
    /// of labels, within the 128 allowed).
    fn exemplar(&mut self, exemplar: Option<&Exemplar>) {
        let Some(e) = exemplar.filter(|_| self.openmetrics) else {
            return;
        };
        self.out.push_str(" # {trace_id=\"");
        self.out.push_str(&crate::trace::hex(&e.trace_id));
        self.out.push_str("\",span_id=\"");
        self.out.push_str(&crate::trace::hex(&e.span_id));
        self.out.push_str("\"} ");
        push_f64(&mut self.out, e.value);
        self.out.push(' ');
        let secs = e.unix_nanos / 1_000_000_000;
        let millis = (e.unix_nanos / 1_000_000) % 1000;
        push_u64(&mut self.out, secs);
        self.out.push('.');
        if millis < 100 {
            self.out.push('0');
        }
        if millis < 10 {
            self.out.push('0');
        }
        push_u64(&mut self.out, millis);
    }

    fn le_strings(&mut self, bounds: &[f64]) {
        let key = (bounds.as_ptr() as usize, bounds.len());
        if key != self.le_key {
            self.le = bounds.iter().map(|&b| go_float(b)).collect();
            self.le_key = key;
        }
    }
}

/// OpenMetrics family name: the sample name without the suffix the type adds.
fn family_name<'a>(desc: &'a FamilyDesc<'_>) -> &'a str {
    let name = desc.name.as_ref();
    match desc.kind {
        Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
        Kind::Info => name.strip_suffix("_info").unwrap_or(name),
        Kind::Gauge | Kind::Histogram => name,
    }
}

impl Encoder for TextEncoder {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        self.name.clear();
        self.name.push_str(&desc.name);
        if self.openmetrics {
            let family = family_name(desc);
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
                Kind::Info => "gauge",
                kind => kind.as_str(),
            });
            self.out.push('\n');
        }
    }

    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.sample("", labels, None);
        self.value(value);
    }

    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.sample("", labels, None);
        self.value(value);
    }

    fn info(&mut self, labels: Labels<'_>) {
        self.sample("", labels, None);
        self.out.push_str("1\n");
    }

    fn counter_exemplar(&mut self, labels: Labels<'_>, value: Value, exemplar: Option<&Exemplar>) {
        self.sample("", labels, None);
        match value {
            Value::Int(v) => push_u64(&mut self.out, v),
            Value::Float(v) => push_f64(&mut self.out, v),
        }
        self.exemplar(exemplar);
        self.out.push('\n');
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
        let mut cumulative = 0u64;
        for i in 0..h.bounds.len() {
            cumulative += h.counts.get(i).copied().unwrap_or(0);
            let le = std::mem::take(&mut self.le[i]);
            self.sample("_bucket", labels, Some(("le", &le)));
            self.le[i] = le;
            push_u64(&mut self.out, cumulative);
            self.exemplar(exemplars.get(i).and_then(Option::as_ref));
            self.out.push('\n');
        }
        let count = h.count();
        self.sample("_bucket", labels, Some(("le", "+Inf")));
        push_u64(&mut self.out, count);
        self.exemplar(exemplars.get(h.bounds.len()).and_then(Option::as_ref));
        self.out.push('\n');
        self.sample("_sum", labels, None);
        self.value(Value::Float(h.sum));
        self.sample("_count", labels, None);
        push_u64(&mut self.out, count);
        self.out.push('\n');
    }
}
