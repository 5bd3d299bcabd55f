//! A Singer-style ETL batch job (tap → target) with business metrics, pushed to a
//! Pushgateway at the end.
//!
//! ```sh
//! cargo run --example etl_pipeline                       # one run of 1000 rows, prints the metrics
//! ETL_ROWS=50000 cargo run --example etl_pipeline
//! FLEXT_OBS_PUSHGATEWAY_URL=http://localhost:9091 cargo run --example etl_pipeline
//! ```
//!
//! `FLEXT_OBS_PUSHGATEWAY_URL` (or `PROMETHEUS_PUSH_GATEWAY`, the Python FLEXT name) turns
//! the push on; metrics land in the group `job="etl_pipeline", pipeline="orders"`. Scrape
//! the Pushgateway with `honor_labels: true` and ask Prometheus, for example:
//!
//! ```text
//! # success rate over a day
//! sum(increase(etl_runs_total{status="success"}[1d])) / sum(increase(etl_runs_total[1d]))
//! # rows written per second
//! sum by (pipeline) (rate(etl_rows_written_total[1h]))
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
    let gateway = match Pushgateway::from_env(JOB) {
        Ok(gateway) => gateway,
        Err(e) => {
            eprintln!("etl_pipeline: {e}");
            return ExitCode::FAILURE;
        }
    };

    let config = EtlConfig::new("orders");
    let mut tap = OrdersTap::new(rows, None);
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
