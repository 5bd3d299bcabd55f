//! A Singer-style batch pipeline (tap → target) with business metrics, used by the
//! `etl_pipeline` example and by the end-to-end tests.
//!
//! The tap emits `SCHEMA`, `RECORD` and `STATE` messages; the target validates each
//! record, rejects the incomplete or malformed ones and writes the rest. Each run
//! records, through `#[business_metric]` on [`run_pipeline`]:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `etl_runs_total` | counter | `pipeline`, `status` (`success`, `failure`) |
//! | `etl_run_duration_seconds` | histogram, 1 s to 1 h | `pipeline` |
//! | `etl_rows_read_total` | counter | `pipeline`, `tap` |
//! | `etl_rows_written_total` | counter | `pipeline`, `target` |
//! | `etl_rows_rejected_total` | counter | `pipeline`, `reason` |
//! | `etl_data_quality_ratio` | gauge, 0–1 | `pipeline`, `dimension` (`completeness`, `validity`, `consistency`, `accuracy`) |
//! | `etl_data_quality_score_ratio` | gauge, 0–1 | `pipeline` (0.3 completeness + 0.3 validity + 0.2 consistency + 0.2 accuracy) |
//! | `etl_last_success_timestamp_seconds` | gauge | `pipeline` |
//!
//! [`run_batch_job`] runs the pipeline and, when a Pushgateway is configured, pushes
//! at the end in one call: everything after a success, the run's status after a failure.

use std::collections::HashSet;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use flext_observability::push::{PushError, Pushgateway};
use flext_observability::{Counter, Gauge, Histogram, business_metric};

/// Pipeline runs, by final status.
#[business_metric(labels(pipeline, status))]
pub static ETL_RUNS_TOTAL: Counter;

/// Duration of pipeline runs.
#[business_metric(
    labels(pipeline),
    buckets = ["1s", "5s", "15s", "30s", "1m", "5m", "15m", "30m", "1h"]
)]
pub static ETL_RUN_DURATION_SECONDS: Histogram;

/// Rows read from the tap.
#[business_metric(labels(pipeline, tap))]
pub static ETL_ROWS_READ_TOTAL: Counter;

/// Rows written to the target.
#[business_metric(labels(pipeline, target))]
pub static ETL_ROWS_WRITTEN_TOTAL: Counter;

/// Rows the target rejected, by reason.
#[business_metric(labels(pipeline, reason))]
pub static ETL_ROWS_REJECTED_TOTAL: Counter;

/// Share of the rows of the last run that pass a data-quality dimension, from 0 to 1.
#[business_metric(labels(pipeline, dimension))]
pub static ETL_DATA_QUALITY_RATIO: Gauge;

/// Weighted data-quality score of the last run, from 0 to 1: 0.3 completeness + 0.3
/// validity + 0.2 consistency + 0.2 accuracy.
#[business_metric(labels(pipeline))]
pub static ETL_DATA_QUALITY_SCORE_RATIO: Gauge;

/// Unix time of the last successful run.
#[business_metric(labels(pipeline))]
pub static ETL_LAST_SUCCESS_TIMESTAMP_SECONDS: Gauge;

/// A Singer message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// The shape of a stream's records.
    Schema {
        /// Stream name.
        stream: String,
        /// Fields every record must have.
        required: Vec<&'static str>,
    },
    /// One record.
    Record {
        /// Stream name.
        stream: String,
        /// The record.
        record: Order,
    },
    /// A bookmark to resume from.
    State {
        /// Last order id read.
        last_id: u64,
    },
}

/// One order record.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// Order id.
    pub id: u64,
    /// Customer id.
    pub customer: u64,
    /// Contact email, if present.
    pub email: Option<String>,
    /// Quantity.
    pub quantity: u32,
    /// Unit price in cents.
    pub unit_price_cents: u64,
    /// Total in cents, as the source system computed it.
    pub total_cents: u64,
}

/// Why a run failed.
#[derive(Debug)]
pub enum PipelineError {
    /// The tap could not read from its source.
    Source(String),
    /// The target could not write.
    Target(String),
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineError::Source(reason) => write!(f, "the source failed: {reason}"),
            PipelineError::Target(reason) => write!(f, "the target failed: {reason}"),
        }
    }
}

impl std::error::Error for PipelineError {}

/// Reads from a source: `tap-…` in Singer terms.
pub trait Tap {
    /// The tap's name (`tap-orders`), a label value.
    fn name(&self) -> &str;
    /// The next message, `None` at the end.
    ///
    /// # Errors
    /// When the source fails.
    fn next_message(&mut self) -> Option<Result<Message, PipelineError>>;
}

/// Writes records somewhere: `target-…` in Singer terms.
pub trait Target {
    /// The target's name (`target-warehouse`), a label value.
    fn name(&self) -> &str;
    /// Writes one accepted record.
    fn write(&mut self, record: Order);
    /// Makes what was written durable, after the last record (a database target commits).
    ///
    /// # Errors
    /// When a write or the commit failed.
    fn finish(&mut self) -> Result<(), PipelineError> {
        Ok(())
    }
}

/// A tap over generated orders with a known share of defects: every 50th has no email,
/// every 40th (offset 7) a malformed one, every 100th (offset 13) an unknown customer,
/// every 80th (offset 21) a wrong total. The four sets are disjoint.
#[derive(Debug)]
pub struct OrdersTap {
    next: u64,
    rows: u64,
    fail_at: Option<u64>,
    schema_sent: bool,
}

impl OrdersTap {
    /// `rows` orders; with `fail_at`, the source fails when it reaches that row.
    pub fn new(rows: u64, fail_at: Option<u64>) -> Self {
        OrdersTap {
            next: 0,
            rows,
            fail_at,
            schema_sent: false,
        }
    }

    /// The `i`-th generated order, defects included (what every tap of the example reads).
    pub fn order(i: u64) -> Order {
        let quantity = 1 + u32::try_from(i % 5).unwrap_or(0);
        let unit_price_cents = 250 + (i % 7) * 100;
        let mut total_cents = u64::from(quantity) * unit_price_cents;
        if i % 80 == 21 {
            total_cents += 1;
        }
        let email = if i.is_multiple_of(50) {
            None
        } else if i % 40 == 7 {
            Some(format!("customer{i}.example.com"))
        } else {
            Some(format!("customer{i}@example.com"))
        };
        let customer = if i % 100 == 13 { 9_999 } else { i % 20 };
        Order {
            id: i,
            customer,
            email,
            quantity,
            unit_price_cents,
            total_cents,
        }
    }
}

impl Tap for OrdersTap {
    fn name(&self) -> &'static str {
        "tap-orders"
    }

    fn next_message(&mut self) -> Option<Result<Message, PipelineError>> {
        if !self.schema_sent {
            self.schema_sent = true;
            return Some(Ok(Message::Schema {
                stream: "orders".into(),
                required: vec!["id", "customer", "email"],
            }));
        }
        if self.fail_at == Some(self.next) {
            return Some(Err(PipelineError::Source(format!(
                "connection reset while reading row {}",
                self.next
            ))));
        }
        if self.next >= self.rows {
            if self.next == self.rows {
                self.next += 1;
                return Some(Ok(Message::State {
                    last_id: self.rows.saturating_sub(1),
                }));
            }
            return None;
        }
        let record = Self::order(self.next);
        self.next += 1;
        Some(Ok(Message::Record {
            stream: "orders".into(),
            record,
        }))
    }
}

/// A target that keeps accepted rows in memory (a warehouse stand-in).
#[derive(Debug, Default)]
pub struct MemoryTarget {
    /// Rows written.
    pub rows: Vec<Order>,
}

impl Target for MemoryTarget {
    fn name(&self) -> &'static str {
        "target-warehouse"
    }

    fn write(&mut self, record: Order) {
        self.rows.push(record);
    }
}

/// Data quality of one run: each dimension is the share of rows read that pass it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Quality {
    /// Required fields present.
    pub completeness: f64,
    /// Fields well-formed.
    pub validity: f64,
    /// References resolve (the customer exists).
    pub consistency: f64,
    /// Business rules hold (total = quantity × unit price).
    pub accuracy: f64,
}

impl Quality {
    /// 0.3 completeness + 0.3 validity + 0.2 consistency + 0.2 accuracy.
    pub fn score(&self) -> f64 {
        0.3 * self.completeness + 0.3 * self.validity + 0.2 * self.consistency + 0.2 * self.accuracy
    }
}

/// What a successful run did.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// Records read from the tap.
    pub rows_read: u64,
    /// Records written to the target.
    pub rows_written: u64,
    /// Records rejected.
    pub rows_rejected: u64,
    /// Data quality of the records read.
    pub quality: Quality,
    /// The bookmark of the last `STATE` message.
    pub last_id: Option<u64>,
}

/// Settings of one pipeline.
#[derive(Clone, Debug)]
pub struct EtlConfig {
    /// Pipeline name, a label value.
    pub pipeline: String,
    /// Customers that exist (for the consistency check).
    pub customers: HashSet<u64>,
}

impl EtlConfig {
    /// A pipeline whose customers are 0 to 19.
    pub fn new(pipeline: impl Into<String>) -> Self {
        EtlConfig {
            pipeline: pipeline.into(),
            customers: (0..20).collect(),
        }
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Runs the pipeline once. Every call counts in `etl_runs_total` by outcome and in
/// `etl_run_duration_seconds`; a successful one adds its rows read and written.
///
/// # Errors
/// When the tap's source fails.
#[business_metric(
    ETL_RUNS_TOTAL { pipeline: &config.pipeline, status: outcome }.inc(),
    ETL_RUN_DURATION_SECONDS { pipeline: &config.pipeline }.observe(elapsed),
    ETL_ROWS_READ_TOTAL { pipeline: &config.pipeline, tap: tap.name() }.inc_by(|r| r.rows_read),
    ETL_ROWS_WRITTEN_TOTAL { pipeline: &config.pipeline, target: target.name() }.inc_by(|r| r.rows_written),
)]
pub fn run_pipeline(
    config: &EtlConfig,
    tap: &mut dyn Tap,
    target: &mut dyn Target,
) -> Result<RunReport, PipelineError> {
    let pipeline = config.pipeline.as_str();
    let mut read = 0u64;
    let mut rejected = 0u64;
    let (mut complete, mut valid, mut consistent, mut accurate) = (0u64, 0u64, 0u64, 0u64);
    let mut last_id = None;
    while let Some(message) = tap.next_message() {
        let record = match message? {
            Message::Record { record, .. } => record,
            Message::State { last_id: id } => {
                last_id = Some(id);
                continue;
            }
            Message::Schema { .. } => continue,
        };
        read += 1;
        let is_complete = record.email.is_some();
        let is_valid = record.email.as_deref().is_none_or(|e| e.contains('@'));
        let is_consistent = config.customers.contains(&record.customer);
        let is_accurate =
            record.total_cents == u64::from(record.quantity) * record.unit_price_cents;
        complete += u64::from(is_complete);
        valid += u64::from(is_valid);
        consistent += u64::from(is_consistent);
        accurate += u64::from(is_accurate);
        if !is_complete {
            ETL_ROWS_REJECTED_TOTAL {
                pipeline,
                reason: "missing_field",
            }
            .inc();
            rejected += 1;
        } else if !is_valid {
            ETL_ROWS_REJECTED_TOTAL {
                pipeline,
                reason: "invalid_format",
            }
            .inc();
            rejected += 1;
        } else {
            target.write(record);
        }
    }
    target.finish()?;
    let ratio = |n: u64| {
        if read == 0 {
            1.0
        } else {
            n as f64 / read as f64
        }
    };
    let quality = Quality {
        completeness: ratio(complete),
        validity: ratio(valid),
        consistency: ratio(consistent),
        accuracy: ratio(accurate),
    };
    for (dimension, value) in [
        ("completeness", quality.completeness),
        ("validity", quality.validity),
        ("consistency", quality.consistency),
        ("accuracy", quality.accuracy),
    ] {
        ETL_DATA_QUALITY_RATIO {
            pipeline,
            dimension,
        }
        .set(value);
    }
    ETL_DATA_QUALITY_SCORE_RATIO { pipeline }.set(quality.score());
    ETL_LAST_SUCCESS_TIMESTAMP_SECONDS { pipeline }.set(now_seconds());
    Ok(RunReport {
        rows_read: read,
        rows_written: read - rejected,
        rows_rejected: rejected,
        quality,
        last_id,
    })
}

/// The job name the pipeline pushes under.
pub const JOB: &str = "etl_pipeline";

/// Runs the pipeline, then pushes its metrics to `gateway` (grouped by pipeline) when one
/// is given: the end of a batch job, where each run is a new process.
///
/// A successful run replaces the group (`PUT`): the gateway then holds that run's values.
/// A failed run replaces only `etl_runs_total` (`POST`), so the last successful run's
/// timestamp, rows, duration and data quality stay, next to
/// `etl_runs_total{status="failure"}`. The README's PromQL relies on this.
///
/// The group is the pipeline, and the push sends every series of the process: run one
/// pipeline per process, as batch jobs do (series of another pipeline would get this
/// group's `pipeline` label, and the gateway rejects the duplicates).
///
/// # Errors
/// The run's error ([`BatchError::Run`], with the push's error if the push failed too),
/// else the push's ([`BatchError::Push`]).
pub fn run_batch_job(
    config: &EtlConfig,
    tap: &mut dyn Tap,
    target: &mut dyn Target,
    gateway: Option<&Pushgateway>,
) -> Result<RunReport, BatchError> {
    let run = run_pipeline(config, tap, target);
    let pushed = match gateway {
        Some(gateway) => {
            let group = gateway.clone().grouping("pipeline", &config.pipeline);
            if run.is_ok() {
                group.push()
            } else {
                group.push_add_metrics(&["etl_runs_total"])
            }
        }
        None => Ok(()),
    };
    match (run, pushed) {
        (Ok(report), Ok(())) => Ok(report),
        (Ok(_), Err(push)) => Err(BatchError::Push(push)),
        (Err(error), pushed) => Err(BatchError::Run {
            error,
            push: pushed.err(),
        }),
    }
}

/// Why a batch job failed.
#[derive(Debug)]
pub enum BatchError {
    /// The pipeline failed.
    Run {
        /// Why.
        error: PipelineError,
        /// Why its status could not be pushed, if it could not.
        push: Option<PushError>,
    },
    /// The pipeline succeeded, and its metrics could not be pushed.
    Push(PushError),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Run { error, push: None } => write!(f, "pipeline run failed: {error}"),
            BatchError::Run {
                error,
                push: Some(push),
            } => write!(
                f,
                "pipeline run failed: {error}; pushing its status failed too: {push}"
            ),
            BatchError::Push(e) => write!(f, "push failed: {e}"),
        }
    }
}

impl std::error::Error for BatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BatchError::Run { error, .. } => Some(error),
            BatchError::Push(e) => Some(e),
        }
    }
}
