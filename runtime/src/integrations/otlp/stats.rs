//! Self-metrics of the OTLP exporter, served on `/metrics`: what was exported and what
//! was dropped (queue full, collector failing or slow), so a dead collector is visible.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::collect::{Encoder, Snapshot, Source};
use crate::model::{FamilyDesc, MetricType, Value};

pub(crate) const EXPORTED: &str = "flext_otlp_exported_total";
pub(crate) const DROPPED: &str = "flext_otlp_dropped_total";

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) spans_exported: AtomicU64,
    pub(crate) spans_queue_full: AtomicU64,
    pub(crate) spans_failed: AtomicU64,
    pub(crate) points_exported: AtomicU64,
    pub(crate) points_failed: AtomicU64,
    /// Whether the last trace export failed: spans dropped at a full queue meanwhile are
    /// lost to the unreachable collector, and counted as `export_failed`.
    pub(crate) collector_down: AtomicBool,
}

pub(crate) static STATS: Stats = Stats {
    spans_exported: AtomicU64::new(0),
    spans_queue_full: AtomicU64::new(0),
    spans_failed: AtomicU64::new(0),
    points_exported: AtomicU64::new(0),
    points_failed: AtomicU64::new(0),
    collector_down: AtomicBool::new(false),
};

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

#[derive(Debug)]
pub(crate) struct StatsSource;

struct StatsView([u64; 5]);

impl Source for StatsSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let s = &STATS;
        Box::new(StatsView(
            [
                &s.spans_exported,
                &s.spans_queue_full,
                &s.spans_failed,
                &s.points_exported,
                &s.points_failed,
            ]
            .map(|c| c.load(Ordering::Relaxed)),
        ))
    }
}

impl Snapshot for StatsView {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        vec![
            FamilyDesc {
                name: Cow::Borrowed(EXPORTED),
                help: Cow::Borrowed("Spans and metric data points the OTLP exporter delivered."),
                kind: MetricType::Counter,
                unit: None,
            },
            FamilyDesc {
                name: Cow::Borrowed(DROPPED),
                help: Cow::Borrowed(
                    "Spans and metric data points the OTLP exporter dropped, by reason (queue_full: the collector is slower than the application; export_failed: the collector refused or was unreachable).",
                ),
                kind: MetricType::Counter,
                unit: None,
            },
        ]
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        let [spans_ok, spans_full, spans_failed, points_ok, points_failed] = self.0;
        match family {
            EXPORTED => {
                out.counter(&[("signal", "traces")], Value::Int(spans_ok));
                out.counter(&[("signal", "metrics")], Value::Int(points_ok));
            }
            DROPPED => {
                out.counter(
                    &[("signal", "traces"), ("reason", "queue_full")],
                    Value::Int(spans_full),
                );
                out.counter(
                    &[("signal", "traces"), ("reason", "export_failed")],
                    Value::Int(spans_failed),
                );
                out.counter(
                    &[("signal", "metrics"), ("reason", "export_failed")],
                    Value::Int(points_failed),
                );
            }
            _ => {}
        }
    }
}
