// The validated `metrics` facade macros: literal names and label keys checked at compile
// time, everything else as in `metrics`.
#![deny(warnings)]

use flext_observability::{counter, gauge, histogram};

fn main() {
    let pipeline = String::from("orders");
    counter!(description: "Rows read.", "etl_read_rows_total").increment(1);
    counter!(description: "Rows read.", "etl_read_rows_total", "pipeline" => pipeline.clone())
        .increment(2);
    counter!(
        description: "Rows read.",
        "etl_read_rows_total",
        "pipeline" => "a",
        "target" => "b",
    )
    .increment(1);
    gauge!(description: "Rows waiting.", "etl_waiting_rows").set(3.0);
    gauge!(target: "etl", level: metrics::Level::DEBUG, description: "Rows waiting.", "etl_waiting_rows")
        .increment(1.0);
    // Not in seconds: its bounds come from `histogram_buckets("etl_payload_", ..)`.
    histogram!(description: "Payload sizes.", buckets: "etl_payload_", "etl_payload_bytes", "pipeline" => pipeline)
        .record(512.0);
    histogram!(description: "Load time.", "etl_load_duration_seconds").record(0.5);
    let kept = counter!(crate = ::flext_observability, description: "Kept.", "etl_kept_total");
    kept.increment(1);
}
