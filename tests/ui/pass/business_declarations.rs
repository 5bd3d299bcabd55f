// Every declaration option of `#[business_metric]`, and every way to record.
#![deny(warnings)]
#![allow(dead_code)]

use flext_observability as obs_alias;
use flext_observability::{Counter, Gauge, Histogram, Info, business_metric, series};

/// Runs of the pipeline.
#[business_metric]
static ETL_RUNS_TOTAL: Counter;

/// Rows written, by pipeline and target.
#[business_metric(labels(pipeline, target))]
pub static ETL_ROWS_WRITTEN_TOTAL: Counter;

/// Bytes sent, with the unit spelled out.
#[business_metric(unit = "bytes", labels(r#type))]
pub(crate) static ETL_SENT_BYTES_TOTAL: Counter;

/// Share of complete rows.
#[business_metric(labels(pipeline, dimension))]
static ETL_DATA_QUALITY_RATIO: Gauge;

/// Rows staged.
#[business_metric]
static ETL_STAGED_ROWS: Gauge;

/// Duration of runs, in duration strings.
#[business_metric(labels(pipeline), buckets = ["1s", "30s", "5m", "1h"])]
static ETL_RUN_DURATION_SECONDS: Histogram;

/// Duration of lookups, default buckets.
#[business_metric]
static ETL_LOOKUP_DURATION_SECONDS: Histogram;

/// Rows per batch, in plain numbers.
#[business_metric(buckets = [10, 100, 1_000, 10_000.5])]
static ETL_BATCH_ROWS: Histogram;

/// Temperature of the cold store, negative bounds allowed.
#[business_metric(buckets = [-20, -10, 0, 5])]
static ETL_COLD_STORE_CELSIUS: Histogram;

/// Build of each pipeline.
#[business_metric(labels(pipeline, version))]
static ETL_PIPELINE_INFO: Info;

/// A name of its own and a series limit.
#[business_metric(name = "etl_custom_events_total", labels(source), max_series = 50)]
static CUSTOM_EVENTS: Counter;

/// Through a renamed crate.
#[business_metric(crate = obs_alias)]
static ETL_ALIAS_TOTAL: Counter;

/// Through a string path.
#[business_metric(crate = "::flext_observability")]
static ETL_STRING_PATH_TOTAL: Counter;

/// Through a full type path.
#[business_metric(labels(pipeline))]
static ETL_FULL_PATH_TOTAL: flext_observability::Counter;

/// Multi-line docs: the first paragraph is the help text,
/// joined into one line.
///
/// The rest is documentation only.
#[business_metric]
static ETL_DOCUMENTED_TOTAL: Counter;

mod nested {
    use flext_observability::{Counter, business_metric};

    /// Declared in a module, used from outside.
    #[business_metric(labels(pipeline))]
    pub static ETL_NESTED_TOTAL: Counter;
}

fn main() {
    ETL_RUNS_TOTAL.inc();
    ETL_RUNS_TOTAL.inc_by(3u64);
    let _: u64 = ETL_RUNS_TOTAL.get();
    ETL_ROWS_WRITTEN_TOTAL { pipeline: "orders", target: "pg" }.inc();
    let pipeline = String::from("orders");
    ETL_ROWS_WRITTEN_TOTAL { pipeline: &pipeline, target: "pg" }.inc_by(10usize);
    let kept: flext_observability::CounterSeries =
        ETL_ROWS_WRITTEN_TOTAL { pipeline: &pipeline, target: "s3" }.series();
    kept.inc();
    series!(ETL_ROWS_WRITTEN_TOTAL { pipeline: "orders", target: "pg" }).inc();
    ETL_SENT_BYTES_TOTAL { r#type: "csv" }.inc_by(10u32);
    ETL_DATA_QUALITY_RATIO { pipeline: "orders", dimension: "validity" }.set(0.5);
    ETL_DATA_QUALITY_RATIO { pipeline: "orders", dimension: "validity" }.add(0.1);
    ETL_DATA_QUALITY_RATIO { pipeline: "orders", dimension: "validity" }.sub(0.1f32);
    let _: flext_observability::GaugeSeries =
        series!(ETL_DATA_QUALITY_RATIO { pipeline: "orders", dimension: "accuracy" });
    ETL_STAGED_ROWS.set(10u32);
    ETL_STAGED_ROWS.add(1);
    ETL_STAGED_ROWS.sub(1i64);
    let _: f64 = ETL_STAGED_ROWS.get();
    ETL_RUN_DURATION_SECONDS { pipeline: "orders" }.observe(std::time::Duration::from_millis(5));
    let h: flext_observability::HistogramSeries =
        series!(ETL_RUN_DURATION_SECONDS { pipeline: "orders" });
    h.observe(1.5);
    ETL_LOOKUP_DURATION_SECONDS.observe(0.001);
    ETL_BATCH_ROWS.observe(100u16);
    ETL_COLD_STORE_CELSIUS.observe(-12.5);
    ETL_PIPELINE_INFO { pipeline: "orders", version: "1.0" }.set();
    series!(ETL_PIPELINE_INFO { pipeline: "orders", version: "1.0" }).set();
    CUSTOM_EVENTS { source: "api" }.inc();
    ETL_ALIAS_TOTAL.inc();
    ETL_STRING_PATH_TOTAL.inc();
    ETL_FULL_PATH_TOTAL { pipeline: "x" }.inc();
    ETL_DOCUMENTED_TOTAL.inc();
    nested::ETL_NESTED_TOTAL { pipeline: "x" }.inc();
    series!(nested::ETL_NESTED_TOTAL { pipeline: "x" }).inc();
    series!(crate = ::flext_observability, nested::ETL_NESTED_TOTAL { pipeline: "y" }).inc();
    let _: &flext_observability::MetricMeta = ETL_RUNS_TOTAL.meta();
}
