//! Remote write's self-metrics, exported by every exporter (and so written remotely
//! too) once remote write has started in this process:
//!
//! - `flext_remote_write_samples_total`: samples the receiver accepted;
//! - `flext_remote_write_dropped_total{reason}`: samples that will never be sent —
//!   `queue_full` (the receiver was unreachable longer than the queue holds: the oldest
//!   pushes went), `rejected` (a `4xx` answer other than `429`, not retried), `shutdown`
//!   (still queued when the guard was dropped and the flush wait ran out);
//! - `flext_remote_write_retries_total`: requests sent again after a `5xx`, a `429` or a
//!   connection failure;
//! - `flext_remote_write_pending_samples`: samples waiting to be sent;
//! - `flext_remote_write_last_success_timestamp_seconds`: when a request last
//!   succeeded (0 before the first), for alerts such as
//!   `time() - flext_remote_write_last_success_timestamp_seconds > 300`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};

const SAMPLES: &str = "flext_remote_write_samples_total";
const DROPPED: &str = "flext_remote_write_dropped_total";
const RETRIES: &str = "flext_remote_write_retries_total";
const PENDING: &str = "flext_remote_write_pending_samples";
const LAST_SUCCESS: &str = "flext_remote_write_last_success_timestamp_seconds";

/// Counters for the whole process (remote write may start again after a new
/// `install()`: its counts go on).
pub(super) struct Stats {
    pub(super) started: AtomicBool,
    pub(super) samples: AtomicU64,
    pub(super) queue_full: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) shutdown: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) pending: AtomicU64,
    pub(super) last_success_ms: AtomicU64,
}

pub(super) static STATS: Stats = Stats {
    started: AtomicBool::new(false),
    samples: AtomicU64::new(0),
    queue_full: AtomicU64::new(0),
    rejected: AtomicU64::new(0),
    shutdown: AtomicU64::new(0),
    retries: AtomicU64::new(0),
    pending: AtomicU64::new(0),
    last_success_ms: AtomicU64::new(0),
};

pub(super) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

struct StatsSource;

static STATS_SOURCE: StatsSource = StatsSource;

inventory::submit!(SourceEntry::new(121, &STATS_SOURCE));

/// The counts, or `None` before remote write first started.
struct View(Option<[u64; 7]>);

impl Source for StatsSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let s = &STATS;
        Box::new(View(s.started.load(Ordering::Acquire).then(|| {
            [
                load(&s.samples),
                load(&s.queue_full),
                load(&s.rejected),
                load(&s.shutdown),
                load(&s.retries),
                load(&s.pending),
                load(&s.last_success_ms),
            ]
        })))
    }

    fn origin(&self) -> &'static str {
        "remote write"
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        if self.0.is_none() {
            return Vec::new();
        }
        vec![
            FamilyDesc::fixed(
                SAMPLES,
                "Samples the remote write receiver accepted.",
                MetricType::Counter,
                None,
            ),
            FamilyDesc::fixed(
                DROPPED,
                "Samples remote write will never send: queue_full (receiver unreachable longer than the queue holds), rejected (a 4xx answer), shutdown (unsent when stopped).",
                MetricType::Counter,
                None,
            ),
            FamilyDesc::fixed(
                RETRIES,
                "Remote write requests sent again after a 5xx or 429 answer or a connection failure.",
                MetricType::Counter,
                None,
            ),
            FamilyDesc::fixed(
                PENDING,
                "Samples waiting to be sent by remote write.",
                MetricType::Gauge,
                None,
            ),
            FamilyDesc::fixed(
                LAST_SUCCESS,
                "When a remote write request last succeeded, in seconds since 1970 (0: never).",
                MetricType::Gauge,
                Some("seconds"),
            ),
        ]
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        let Some(
            [
                samples,
                queue_full,
                rejected,
                shutdown,
                retries,
                pending,
                last_ms,
            ],
        ) = self.0
        else {
            return;
        };
        match family {
            SAMPLES => out.counter(&[], Value::Int(samples)),
            DROPPED => {
                out.counter(&[("reason", "queue_full")], Value::Int(queue_full));
                out.counter(&[("reason", "rejected")], Value::Int(rejected));
                out.counter(&[("reason", "shutdown")], Value::Int(shutdown));
            }
            RETRIES => out.counter(&[], Value::Int(retries)),
            PENDING => out.gauge(&[], Value::Int(pending)),
            LAST_SUCCESS => out.gauge(&[], Value::Float(last_ms as f64 / 1000.0)),
            _ => {}
        }
    }
}
