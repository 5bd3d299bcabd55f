//! A Singer-style ETL batch job (tap → target) with business metrics and database query
//! metrics, pushed to a Pushgateway at the end.
//!
//! ```sh
//! cargo run --example etl_pipeline                       # one run of 1000 rows, prints the metrics
//! ETL_ROWS=50000 cargo run --example etl_pipeline
//! ETL_FAIL_AT=500 cargo run --example etl_pipeline       # the source fails at row 500
//! DATABASE_URL=postgres://user@localhost/warehouse cargo run --example etl_pipeline
//! FLEXT_OBS_PUSHGATEWAY_URL=http://localhost:9091 cargo run --example etl_pipeline
//! ```
//!
//! The tap reads the orders from a `SQLite` file, `target/etl_pipeline/orders.db` (or
//! `ETL_SQLITE_PATH`), which it fills with the generated orders on first use. The
//! accepted rows go to `PostgreSQL` (table `etl_orders`, upserted in one transaction) when
//! `DATABASE_URL` is set, else stay in memory. Every query of both is measured
//! (`db_client_operation_duration_seconds{db_system_name="sqlite"|"postgresql",
//! db_query_summary="SELECT orders",…}`, feature `sqlx`) and pushed with the pipeline's
//! metrics.
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

use std::path::PathBuf;
use std::process::ExitCode;

use flext_observability::Observability;
use flext_observability::push::Pushgateway;
use flext_observability_examples::etl::{EtlConfig, JOB, MemoryTarget, run_batch_job};
use flext_observability_examples::etl_sql::{PostgresTarget, SqliteTap};

/// `ETL_SQLITE_PATH`, else `etl_pipeline/orders.db` in Cargo's target directory.
fn sqlite_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ETL_SQLITE_PATH") {
        return path.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")),
        PathBuf::from,
    );
    target.join("etl_pipeline").join("orders.db")
}

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

    // The job's thread blocks on each query: a runtime of its own, no worker threads.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("etl_pipeline: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = sqlite_path();
    let mut tap = match SqliteTap::open(&rt, &path, rows, fail_at) {
        Ok(tap) => tap,
        Err(e) => {
            eprintln!("etl_pipeline: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let config = EtlConfig::new("orders");
    let result = match std::env::var("DATABASE_URL") {
        Ok(url) => match PostgresTarget::open(&rt, &url) {
            Ok(mut target) => run_batch_job(&config, &mut tap, &mut target, gateway.as_ref()),
            Err(e) => {
                // The URL may hold a password: say where, not what.
                eprintln!("etl_pipeline: cannot open the PostgreSQL target (DATABASE_URL): {e}");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => run_batch_job(
            &config,
            &mut tap,
            &mut MemoryTarget::default(),
            gateway.as_ref(),
        ),
    };

    let text = flext_observability::prometheus::render();
    for line in text.lines().filter(|l| {
        (l.starts_with("etl_") && !l.contains("_bucket"))
            || l.starts_with("db_client_operation_duration_seconds_count")
    }) {
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
