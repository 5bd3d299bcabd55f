//! A real Prometheus scrapes the health and process metrics; what `/metrics` serves with
//! them passes `promtool check metrics` without a finding and the strict OpenMetrics
//! parser.

#![allow(clippy::float_cmp)] // samples are exact counts and 0/1 states read back as f64

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flext_observability::{Observability, health_check};
use flext_observability_tests::servers::{Prometheus, Target};
use flext_observability_tests::tools::{promtool_check_metrics, python_openmetrics_parse};
use flext_observability_tests::{http, require};

#[health_check(interval = "200ms")]
fn upstream() -> bool {
    true
}

#[health_check(critical, interval = "200ms")]
async fn ledger() -> Result<(), String> {
    tokio::task::yield_now().await;
    Err("ledger replica unreachable".into())
}

#[health_check(interval = "200ms")]
fn invariants() -> bool {
    panic!("invariant check exploded")
}

#[health_check(timeout = "50ms", interval = "200ms")]
async fn slow_partner() -> Result<(), String> {
    tokio::time::sleep(Duration::from_mins(1)).await;
    Ok(())
}

#[test]
fn prometheus_scrapes_health_and_process_metrics() {
    let guard = Observability::builder()
        .service_name("health-e2e")
        .listen("127.0.0.1:0")
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();

    // Exposition checks first: they need no Prometheus.
    let text = flext_observability_tests::eventually(Duration::from_secs(30), || {
        let text = http::get(&format!("http://{addr}/metrics")).ok()?.body;
        text.contains(r#"health_check_runs_total{check="slow_partner",outcome="timeout"} 1"#)
            .then_some(text)
    })
    .expect("every check ran");
    for family in [
        "health_check_status",
        "health_check_runs_total",
        "health_check_duration_seconds",
        "health_check_last_success_timestamp_seconds",
        "health_check_abandoned_runs",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_threads",
        "process_start_time_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    match promtool_check_metrics(&text) {
        Some(check) => assert!(
            check.code == 0 && check.output.trim().is_empty(),
            "promtool: {}\n{text}",
            check.output
        ),
        None => flext_observability_tests::missing("promtool", "apt-get install prometheus"),
    }
    let openmetrics = http::get_with(
        &format!("http://{addr}/metrics"),
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    )
    .unwrap()
    .body;
    match python_openmetrics_parse(&openmetrics) {
        Some(check) => assert_eq!(check.code, 0, "{}\n{openmetrics}", check.output),
        None => flext_observability_tests::missing(
            "the Python OpenMetrics parser",
            "pip install prometheus-client",
        ),
    }

    let prometheus = require!(
        Prometheus::start(&[Target::new("health", addr)], Duration::from_millis(500)),
        "Prometheus",
        "apt-get install prometheus"
    );
    let wait = Duration::from_secs(30);
    let one = |promql: &str| {
        prometheus
            .wait_for(promql, wait, |v| v == 1.0)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    one(r#"health_check_status{job="health",check="upstream",status="healthy"}"#);
    one(r#"health_check_status{job="health",check="ledger",critical="true",status="unhealthy"}"#);
    // A state set: exactly one status of the built-in CPU check is 1.
    one(r#"sum(health_check_status{job="health",check="cpu:utilization",critical="false"})"#);
    let positive = |promql: &str| {
        prometheus
            .wait_for(promql, wait, |v| v > 0.0)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    positive(r#"health_check_runs_total{job="health",check="invariants",outcome="panic"}"#);
    positive(r#"health_check_runs_total{job="health",check="slow_partner",outcome="timeout"}"#);
    positive(r#"health_check_runs_total{job="health",check="ledger",outcome="failed"}"#);
    positive(r#"health_check_duration_seconds_count{job="health",check="upstream"}"#);
    positive(r#"process_cpu_seconds_total{job="health"}"#);
    positive(r#"process_open_fds{job="health"}"#);

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let last_success =
        positive(r#"health_check_last_success_timestamp_seconds{job="health",check="upstream"}"#);
    assert!(
        (now - 600.0..=now + 1.0).contains(&last_success),
        "{last_success}"
    );
    let never = prometheus
        .scalar(r#"health_check_last_success_timestamp_seconds{job="health",check="ledger"}"#);
    assert_eq!(never, Some(0.0));
    let started = positive(r#"process_start_time_seconds{job="health"}"#);
    assert!((now - 3600.0..=now).contains(&started), "{started}");
    // A timed-out run lasts its timeout in the histogram: 50 ms is in the 0.05 bucket.
    let slow = prometheus
        .scalar(
            r#"health_check_duration_seconds_bucket{job="health",check="slow_partner",le="0.05"}"#,
        )
        .unwrap();
    assert!(slow >= 1.0, "{slow}");
    drop(guard);
}
