//! OTLP metrics from the same storage the Prometheus endpoint reads: an [`Encoder`]
//! over [`crate::collect`] that builds OTLP data points.
//!
//! `#[monitor]` families get their OpenTelemetry names (`function.calls`,
//! `function.calls.duration` in `s`, `function.calls.concurrent`); every other family
//! keeps its Prometheus name, without the `_total` a counter's exporter adds back.
//! Temporality is cumulative, as the storage is: sums and histograms carry the process's
//! start as `start_time_unix_nano`, so a restart shows as a new start rather than a
//! drop; gauges carry none (the data model ignores it there). `target_info` is not
//! sent: it is the Prometheus rendering of the resource, which OTLP sends as such.

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar as ProtoExemplar, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, exemplar, metric,
    number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::collect::Encoder;
use crate::exemplar::Exemplar;
use crate::model::{FamilyDesc, HistogramValue, Labels, MetricType, Value};
use crate::monitor::names::{CALLS, CONCURRENT, DURATION};

/// The Prometheus rendering of the resource, not a metric of its own in OTLP.
const TARGET_INFO: &str = "target_info";

pub(crate) struct OtlpEncoder {
    start_nanos: u64,
    now_nanos: u64,
    metrics: Vec<Metric>,
    /// The current family is not sent (`target_info`): its series are skipped.
    skipping: bool,
    /// Data points written so far (for the exported/dropped counters).
    pub(crate) points: u64,
}

pub(crate) fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn attributes(labels: Labels<'_>) -> Vec<KeyValue> {
    labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| string_kv(k, v))
        .collect()
}

fn exemplar(e: &Exemplar) -> ProtoExemplar {
    ProtoExemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: e.unix_nanos,
        span_id: e.span_id.to_vec(),
        trace_id: e.trace_id.to_vec(),
        value: Some(exemplar::Value::AsDouble(e.value)),
    }
}

/// OpenTelemetry name and unit of a family.
fn otel_name(desc: &FamilyDesc<'_>) -> (String, String) {
    match desc.name.as_ref() {
        CALLS => ("function.calls".into(), "{call}".into()),
        DURATION => ("function.calls.duration".into(), "s".into()),
        CONCURRENT => ("function.calls.concurrent".into(), "{call}".into()),
        name => {
            let name = match desc.kind {
                MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
                _ => name,
            };
            let unit = match desc.unit.as_deref() {
                Some("seconds") => "s",
                Some("bytes") => "By",
                Some("ratio") => "1",
                Some(other) => other,
                None => "",
            };
            (name.to_owned(), unit.to_owned())
        }
    }
}

impl OtlpEncoder {
    pub(crate) fn new(start_nanos: u64, now_nanos: u64) -> Self {
        OtlpEncoder {
            start_nanos,
            now_nanos,
            metrics: Vec::new(),
            skipping: false,
            points: 0,
        }
    }

    pub(crate) fn finish(self, resource: &[KeyValue]) -> ResourceMetrics {
        ResourceMetrics {
            resource: Some(Resource {
                attributes: resource.to_vec(),
                dropped_attributes_count: 0,
                entity_refs: Vec::new(),
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "flext-observability".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }),
                metrics: self.metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
    }

    fn number(
        &self,
        labels: Labels<'_>,
        value: Value,
        exemplar: Option<&Exemplar>,
        start_time_unix_nano: u64,
    ) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano,
            time_unix_nano: self.now_nanos,
            exemplars: exemplar.map(self::exemplar).into_iter().collect(),
            flags: 0,
            value: Some(match value {
                Value::Int(v) => {
                    number_data_point::Value::AsInt(i64::try_from(v).unwrap_or(i64::MAX))
                }
                Value::Float(v) => number_data_point::Value::AsDouble(v),
            }),
        }
    }

    fn data(&mut self) -> Option<&mut metric::Data> {
        if self.skipping {
            return None;
        }
        self.metrics.last_mut().and_then(|m| m.data.as_mut())
    }
}

const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;

impl Encoder for OtlpEncoder {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        self.skipping = desc.name == TARGET_INFO;
        if self.skipping {
            return;
        }
        let (name, unit) = otel_name(desc);
        let data = match desc.kind {
            MetricType::Counter => metric::Data::Sum(Sum {
                data_points: Vec::new(),
                aggregation_temporality: CUMULATIVE,
                is_monotonic: true,
            }),
            MetricType::Gauge | MetricType::Info => metric::Data::Gauge(Gauge {
                data_points: Vec::new(),
            }),
            MetricType::Histogram => metric::Data::Histogram(Histogram {
                data_points: Vec::new(),
                aggregation_temporality: CUMULATIVE,
            }),
        };
        self.metrics.push(Metric {
            name,
            description: desc.help.to_string(),
            unit,
            metadata: Vec::new(),
            data: Some(data),
        });
    }

    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.counter_exemplar(labels, value, None);
    }

    fn counter_exemplar(&mut self, labels: Labels<'_>, value: Value, exemplar: Option<&Exemplar>) {
        let point = self.number(labels, value, exemplar, self.start_nanos);
        if let Some(metric::Data::Sum(sum)) = self.data() {
            sum.data_points.push(point);
            self.points += 1;
        }
    }

    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        let point = self.number(labels, value, None, 0);
        if let Some(metric::Data::Gauge(gauge)) = self.data() {
            gauge.data_points.push(point);
            self.points += 1;
        }
    }

    fn info(&mut self, labels: Labels<'_>) {
        self.gauge(labels, Value::Int(1));
    }

    fn histogram(&mut self, labels: Labels<'_>, value: &HistogramValue<'_>) {
        self.histogram_exemplars(labels, value, &[]);
    }

    fn histogram_exemplars(
        &mut self,
        labels: Labels<'_>,
        h: &HistogramValue<'_>,
        exemplars: &[Option<Exemplar>],
    ) {
        let mut counts = h.counts.to_vec();
        counts.resize(h.bounds.len() + 1, 0);
        let point = HistogramDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: self.start_nanos,
            time_unix_nano: self.now_nanos,
            count: h.count(),
            sum: Some(h.sum),
            bucket_counts: counts,
            explicit_bounds: h.bounds.to_vec(),
            exemplars: exemplars.iter().flatten().map(exemplar).collect(),
            flags: 0,
            min: None,
            max: None,
        };
        if let Some(metric::Data::Histogram(hist)) = self.data() {
            hist.data_points.push(point);
            self.points += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h() -> HistogramValue<'static> {
        HistogramValue {
            bounds: &[1.0],
            counts: &[1, 0],
            sum: 0.5,
        }
    }

    #[test]
    fn cumulative_points_carry_the_start_gauges_none_and_target_info_is_left_out() {
        let mut e = OtlpEncoder::new(111, 222);
        e.family(&FamilyDesc::fixed(
            "jobs_total",
            "h",
            MetricType::Counter,
            None,
        ));
        e.counter(&[("q", "a")], Value::Int(3));
        e.family(&FamilyDesc::fixed(
            "target_info",
            "h",
            MetricType::Info,
            None,
        ));
        e.info(&[("service_name", "svc")]);
        e.family(&FamilyDesc::fixed("depth", "h", MetricType::Gauge, None));
        e.gauge(&[], Value::Float(1.5));
        e.family(&FamilyDesc::fixed(
            "wait_seconds",
            "h",
            MetricType::Histogram,
            None,
        ));
        e.histogram(&[], &h());
        assert_eq!(e.points, 3, "target_info is not a point");
        let metrics = e.finish(&[]).scope_metrics.remove(0).metrics;
        let names: Vec<_> = metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["jobs", "depth", "wait_seconds"]);
        match metrics[0].data.as_ref().unwrap() {
            metric::Data::Sum(s) => {
                assert_eq!(s.data_points.len(), 1);
                assert_eq!(s.data_points[0].start_time_unix_nano, 111);
                assert_eq!(s.data_points[0].time_unix_nano, 222);
            }
            other => panic!("{other:?}"),
        }
        match metrics[1].data.as_ref().unwrap() {
            metric::Data::Gauge(g) => assert_eq!(g.data_points[0].start_time_unix_nano, 0),
            other => panic!("{other:?}"),
        }
        match metrics[2].data.as_ref().unwrap() {
            metric::Data::Histogram(h) => {
                assert_eq!(h.data_points[0].start_time_unix_nano, 111);
            }
            other => panic!("{other:?}"),
        }
    }
}
