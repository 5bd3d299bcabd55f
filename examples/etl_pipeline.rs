//! A Singer-style ETL batch job (tap → target) with business metrics, pushed to a
//! Pushgateway at the end.
//!
//! ```sh
//! cargo run --example etl_pipeline                       # one run of 1000 rows, prints the metrics
//! ETL_ROWS=50000 cargo run --example etl_pipeline
//! ETL_FAIL_AT=500 cargo run --example etl_pipeline       # the source fails at row 500
//! FLEXT_OBS_PUSHGATEWAY_URL=http://localhost:9091 cargo run --example etl_pipeline
//! ```
//!
//! `FLEXT_OBS_PUSHGATEWAY_URL` (or `PROMETHEUS_PUSH_GATEWAY`, the Python FLEXT name) turns
//! the push on; metrics land in the group `job="etl_pipeline", pipeline="orders"`. Each run
//! is a new process whose counters start from zero, so the gateway holds the latest run,
//! not a history: `rate()` and `increase()` over its counters measure nothing. A
//! successful run replaces the group, a failed one only `etl_runs_total`. Scrape the
//! Pushgateway with `honor_labels: true` and ask Prometheus about runs through timestamps
//! (the README's "Business metrics in PromQL" has the full set, tested end to end):
//!
//! ```text
//! # hours since the last successful run
//! (time() - etl_last_success_timestamp_seconds{pipeline="orders"}) / 3600
//! # success rate over the last day
//! changes(etl_last_success_timestamp_seconds{pipeline="orders"}[1d]) / changes(push_time_seconds{job="etl_pipeline",pipeline="orders"}[1d])
//! # throughput of the last successful run: rows written per second
//! sum by (pipeline) (etl_rows_written_total{pipeline="orders"}) / sum by (pipeline) (etl_run_duration_seconds_sum{pipeline="orders"})
//! ```

use std::process::ExitCode;

use flext_observability::Observability;
use flext_observability::push::Pushgateway;
use flext_observability_examples::etl::{EtlConfig, JOB, MemoryTarget, OrdersTap, run_batch_job};

fn main() -> ExitCode {
    // A batch job serves nothing: install validates the metric catalogue and sets up the
    // `metrics` recorder, without a server.
    let guard = match Observability::builder()
        .service_name(JOB)
        .without_server()
        .install()
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("etl_pipeline: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows = std::env::var("ETL_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let fail_at = std::env::var("ETL_FAIL_AT")
        .ok()
        .and_then(|v| v.parse().ok());
    let gateway = match Pushgateway::from_env(JOB) {
        Ok(gateway) => gateway,
        Err(e) => {
            eprintln!("etl_pipeline: {e}");
            return ExitCode::FAILURE;
        }
    };

    let config = EtlConfig::new("orders");
    let mut tap = OrdersTap::new(rows, fail_at);
    let mut target = MemoryTarget::default();
    let result = run_batch_job(&config, &mut tap, &mut target, gateway.as_ref());

    let text = flext_observability::prometheus::render();
    for line in text
        .lines()
        .filter(|l| l.starts_with("etl_") && !l.contains("_bucket"))
    {
        println!("{line}");
    }
    drop(guard);
    match result {
        Ok(report) => {
            println!(
                "\nread {} rows, wrote {}, rejected {}; quality score {:.4}",
                report.rows_read,
                report.rows_written,
                report.rows_rejected,
                report.quality.score()
            );
            if gateway.is_some() {
                println!("pushed (job=\"{JOB}\", pipeline=\"{}\")", config.pipeline);
            } else {
                println!("no Pushgateway configured: set FLEXT_OBS_PUSHGATEWAY_URL to push");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("etl_pipeline: {e}");
            ExitCode::FAILURE
        }
    }
}
