//! The runtime's metrics, read at collection time.

use std::borrow::Cow;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::tokio::runtime::{Handle, RuntimeMetrics};

use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};

/// The shortest window of the busy ratio: collections closer together report the
/// ratio of the last window.
const WINDOW: Duration = Duration::from_secs(1);

struct Measured {
    handle: Handle,
    /// Start of the current window and the busy time then.
    since: (Instant, Duration),
    ratio: Option<f64>,
}

static MEASURED: Mutex<Option<Measured>> = Mutex::new(None);

/// Starts (or, with `None`, stops) measuring a runtime.
pub(super) fn measure(handle: Option<Handle>) {
    let measured = handle.map(|handle| {
        let busy = busy(&handle.metrics());
        Measured {
            handle,
            since: (Instant::now(), busy),
            ratio: None,
        }
    });
    *MEASURED.lock().unwrap_or_else(PoisonError::into_inner) = measured;
}

fn busy(m: &RuntimeMetrics) -> Duration {
    (0..m.num_workers())
        .map(|w| m.worker_total_busy_duration(w))
        .sum()
}

struct TokioSource;

inventory::submit!(SourceEntry::new(111, &TokioSource));

/// (name, help, type, value)
type Row = (&'static str, &'static str, MetricType, Value);

struct View(Vec<Row>);

impl Source for TokioSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let mut guard = MEASURED.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(measured) = guard.as_mut() else {
            return Box::new(View(Vec::new()));
        };
        let m = measured.handle.metrics();
        let workers = m.num_workers();
        let busy_now = busy(&m);
        let now = Instant::now();
        let (start, busy_then) = measured.since;
        let wall = now.duration_since(start);
        if (wall >= WINDOW || measured.ratio.is_none()) && !wall.is_zero() && workers > 0 {
            let spent = busy_now.saturating_sub(busy_then).as_secs_f64();
            let ratio = spent / (wall.as_secs_f64() * workers as f64);
            measured.ratio = Some(ratio.clamp(0.0, 1.0));
            if wall >= WINDOW {
                measured.since = (now, busy_now);
            }
        }
        let parks: u64 = (0..workers).map(|w| m.worker_park_count(w)).sum();
        let gauge = |n: usize| Value::Int(n as u64);
        let mut rows: Vec<Row> = vec![
            (
                "tokio_runtime_workers",
                "Worker threads of the Tokio runtime.",
                MetricType::Gauge,
                gauge(workers),
            ),
            (
                "tokio_runtime_alive_tasks",
                "Tasks of the Tokio runtime that have not finished.",
                MetricType::Gauge,
                gauge(m.num_alive_tasks()),
            ),
            (
                "tokio_runtime_global_queue_depth",
                "Tasks waiting in the Tokio runtime's global queue.",
                MetricType::Gauge,
                gauge(m.global_queue_depth()),
            ),
            (
                "tokio_runtime_busy_seconds_total",
                "Time the Tokio runtime's workers spent running tasks, summed over workers.",
                MetricType::Counter,
                Value::Float(busy_now.as_secs_f64()),
            ),
            (
                "tokio_runtime_busy_ratio",
                "Share of the Tokio workers' time spent running tasks, over the last second or more between two collections.",
                MetricType::Gauge,
                Value::Float(measured.ratio.unwrap_or(0.0)),
            ),
            (
                "tokio_runtime_parks_total",
                "Times the Tokio runtime's workers parked (ran out of work), summed over workers.",
                MetricType::Counter,
                Value::Int(parks),
            ),
        ];
        unstable(&m, &mut rows);
        rows.sort_by_key(|r| r.0);
        Box::new(View(rows))
    }
}

/// Tokio's metrics that exist only under its `tokio_unstable` cfg.
#[cfg(tokio_unstable)]
fn unstable(m: &RuntimeMetrics, rows: &mut Vec<Row>) {
    let workers = m.num_workers();
    let gauge = |n: usize| Value::Int(n as u64);
    let sum = |f: &dyn Fn(usize) -> u64| Value::Int((0..workers).map(f).sum());
    rows.extend([
        (
            "tokio_runtime_blocking_threads",
            "Threads of the Tokio runtime's blocking pool.",
            MetricType::Gauge,
            gauge(m.num_blocking_threads()),
        ),
        (
            "tokio_runtime_idle_blocking_threads",
            "Idle threads of the Tokio runtime's blocking pool.",
            MetricType::Gauge,
            gauge(m.num_idle_blocking_threads()),
        ),
        (
            "tokio_runtime_blocking_queue_depth",
            "Tasks waiting for a thread of the Tokio runtime's blocking pool.",
            MetricType::Gauge,
            gauge(m.blocking_queue_depth()),
        ),
        (
            "tokio_runtime_spawned_tasks_total",
            "Tasks spawned on the Tokio runtime.",
            MetricType::Counter,
            Value::Int(m.spawned_tasks_count()),
        ),
        (
            "tokio_runtime_remote_schedules_total",
            "Tasks scheduled from outside the Tokio runtime.",
            MetricType::Counter,
            Value::Int(m.remote_schedule_count()),
        ),
        (
            "tokio_runtime_budget_forced_yields_total",
            "Times a task was made to yield by the Tokio runtime's budget.",
            MetricType::Counter,
            Value::Int(m.budget_forced_yield_count()),
        ),
        (
            "tokio_runtime_polls_total",
            "Task polls by the Tokio runtime's workers, summed.",
            MetricType::Counter,
            sum(&|w| m.worker_poll_count(w)),
        ),
        (
            "tokio_runtime_steals_total",
            "Tasks the Tokio runtime's workers stole from each other, summed.",
            MetricType::Counter,
            sum(&|w| m.worker_steal_count(w)),
        ),
    ]);
}

#[cfg(not(tokio_unstable))]
fn unstable(_: &RuntimeMetrics, _: &mut Vec<Row>) {}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        self.0
            .iter()
            .map(|&(name, help, kind, _)| FamilyDesc {
                name: Cow::Borrowed(name),
                help: Cow::Borrowed(help),
                kind,
                unit: if name.contains("_seconds") {
                    Some(Cow::Borrowed("seconds"))
                } else if name.ends_with("_ratio") {
                    Some(Cow::Borrowed("ratio"))
                } else {
                    None
                },
            })
            .collect()
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        for &(name, _, kind, value) in &self.0 {
            if name == family {
                match kind {
                    MetricType::Counter => out.counter(&[], value),
                    _ => out.gauge(&[], value),
                }
            }
        }
    }
}
