// `alert(..)` in every form, on every shape that takes it, with `core`, `std`, the
// crate and the prelude shadowed: the declarations use absolute paths only, and each
// becomes one rule of the generated Prometheus rules.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

mod core {}
mod std {}
mod flext_observability {}

use ::flext_observability::{business_metric, monitor, Counter, Gauge};

struct Option;
struct Some;
struct None;
struct f64;
struct u64;
struct usize;
struct Duration;

#[derive(Debug)]
struct Declined;

#[monitor(
    alert(error_rate > 0.05, over = "5m", severity = "page"),
    alert(latency_p99 > "500ms", over = "5m"),
    alert(
        name = "ChargesFailing",
        errors > 0,
        over = "1h",
        for = "0s",
        severity = "info",
        summary = "{{ $labels.service_name }} failed {{ $value }} charges",
        description = "See the runbook.",
        runbook = "https://runbooks.example.com/charges",
        labels(team = "payments", r#tier = "1")
    )
)]
fn charge_card(cents: ::core::primitive::u64) -> ::core::result::Result<(), Declined> {
    if cents == 0 { ::core::result::Result::Err(Declined) } else { ::core::result::Result::Ok(()) }
}

/// The slow API of the seeds: above 5 s pages.
#[monitor(alert(latency_p999 > "5s", for = "2m", severity = "page"))]
async fn slow_api() {}

struct Repo;

#[monitor(alert(error_rate > 0.1))]
impl Repo {
    fn load(&self) -> ::core::result::Result<(), Declined> {
        ::core::result::Result::Ok(())
    }

    #[monitor(alert(name = "RepoSaveSlow", latency_p95 > "1s"))]
    fn save(&self) {}

    #[monitor(skip)]
    fn ignored(&self) {}
}

/// Share of valid records, 0 to 1.
#[business_metric(labels(pipeline), alert(below = 0.95, severity = "ticket"))]
static ETL_DATA_QUALITY_RATIO: Gauge;

/// Queue depth.
#[business_metric(alert(name = "QueueBacklog", above = 1000, for = "10m"), alert(below = -1))]
static QUEUE_DEPTH: Gauge;

/// Failed pipeline runs.
#[business_metric(labels(pipeline), alert(above = 0, over = "1h", for = "0s", severity = "page"))]
static ETL_FAILURES_TOTAL: Counter;

/// Rows written.
#[business_metric(alert(name = "NothingWritten", below = 1, over = "2h"))]
static ETL_ROWS_WRITTEN_TOTAL: Counter;

fn main() {
    charge_card(1).unwrap();
    Repo.load().unwrap();
    Repo.save();
    Repo.ignored();
    let rules = ::flext_observability::artifacts::Artifacts::from_catalog().prometheus_rules();
    for alert in [
        "ChargeCardErrorRate",
        "ChargeCardLatencyP99",
        "ChargesFailing",
        "SlowApiLatencyP999",
        "RepoLoadErrorRate",
        "RepoSaveErrorRate",
        "RepoSaveSlow",
        "EtlDataQualityRatioLow",
        "QueueBacklog",
        "QueueDepthLow",
        "EtlFailuresHigh",
        "NothingWritten",
    ] {
        ::std::assert!(rules.contains(&::std::format!("- alert: {alert}\n")), "{alert}:\n{rules}");
    }
    ::std::assert!(!rules.contains("RepoIgnored"), "{rules}");
    ::std::assert!(rules.contains("          team: payments\n          tier: \"1\"\n"), "{rules}");
}
