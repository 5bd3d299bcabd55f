//! End-to-end: the `etl_pipeline` example's batch job pushes to a real Pushgateway, a real
//! Prometheus scrapes the gateway, and PromQL returns the pushed values. Also the
//! Pushgateway API semantics: PUT replaces a group, POST adds to it, DELETE removes it,
//! grouping values with `/` are encoded.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::time::Duration;

use flext_observability::push::Pushgateway;
use flext_observability::{Counter, business_metric};
use flext_observability_examples::etl::{
    BatchError, EtlConfig, JOB, MemoryTarget, OrdersTap, run_batch_job,
};
use flext_observability_tests::servers::{Prometheus, Pushgateway as Gateway, Target};
use flext_observability_tests::{http, require, tools};

/// Pushed alone, to test PUT and POST.
#[business_metric]
static PUSH_ALPHA_TOTAL: Counter;

/// Pushed alone, to test PUT and POST.
#[business_metric]
static PUSH_BETA_TOTAL: Counter;

/// The value of `metric` in the gateway's own exposition for the series that has all of
/// `labels` (the gateway adds `job`, `instance` and the grouping labels, in its order).
fn gateway_value(gateway: &Gateway, metric: &str, labels: &[&str]) -> Option<f64> {
    let text = http::get(&format!("{}/metrics", gateway.base_url()))
        .expect("read the gateway")
        .body;
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().expect("a number"))
}

#[test]
fn the_batch_job_pushes_and_prometheus_reads_the_values() {
    let gateway = require!(
        Gateway::start(),
        "Pushgateway",
        "apt-get install prometheus-pushgateway"
    );
    let client = Pushgateway::new(&gateway.base_url(), JOB).expect("gateway URL");
    let config = EtlConfig::new("orders");

    // A good run, then one whose source fails half-way: both are pushed.
    let report = run_batch_job(
        &config,
        &mut OrdersTap::new(1000, None),
        &mut MemoryTarget::default(),
        Some(&client),
    )
    .expect("the first run succeeds");
    assert_eq!(
        (report.rows_read, report.rows_written, report.rows_rejected),
        (1000, 955, 45)
    );
    let failed = run_batch_job(
        &config,
        &mut OrdersTap::new(1000, Some(500)),
        &mut MemoryTarget::default(),
        Some(&client),
    );
    assert!(matches!(failed, Err(BatchError::Run(_))), "{failed:?}");

    // What was pushed passes `promtool check metrics` without a finding.
    let text = flext_observability::prometheus::render();
    let check = require!(
        tools::promtool_check_metrics(&text),
        "promtool",
        "apt-get install prometheus"
    );
    assert_eq!(
        check.code, 0,
        "promtool findings:\n{}\n{text}",
        check.output
    );

    let prometheus = require!(
        Prometheus::start(
            &[Target {
                honor_labels: true,
                ..Target::new("pushgateway", gateway.addr)
            }],
            Duration::from_millis(500),
        ),
        "Prometheus",
        "apt-get install prometheus"
    );
    assert_pushed_values(&prometheus);
}

/// What Prometheus reads from the gateway after the two runs.
fn assert_pushed_values(prometheus: &Prometheus) {
    let wait = Duration::from_secs(30);
    let selector = r#"job="etl_pipeline",pipeline="orders""#;
    let runs = |status: &str| format!(r#"etl_runs_total{{{selector},status="{status}"}}"#);
    assert_eq!(
        prometheus.wait_for(&runs("success"), wait, |v| v > 0.0),
        Ok(1.0)
    );
    assert_eq!(prometheus.scalar(&runs("failure")), Some(1.0));
    // The success rate, as the README writes it (instant form).
    assert_eq!(
        prometheus.scalar(&format!(
            r#"sum(etl_runs_total{{{selector},status="success"}}) / sum(etl_runs_total{{{selector}}})"#
        )),
        Some(0.5)
    );
    let q = |metric: &str, extra: &str| {
        prometheus
            .scalar(&format!("{metric}{{{selector}{extra}}}"))
            .unwrap_or_else(|| panic!("no {metric}{extra}; targets: {}", prometheus.targets()))
    };
    assert_eq!(q("etl_rows_read_total", r#",tap="tap-orders""#), 1000.0);
    assert_eq!(
        q("etl_rows_written_total", r#",target="target-warehouse""#),
        955.0
    );
    assert_eq!(
        q("etl_rows_rejected_total", r#",reason="missing_field""#),
        20.0 + 10.0
    );
    assert_eq!(
        q("etl_rows_rejected_total", r#",reason="invalid_format""#),
        25.0 + 13.0
    );
    assert_eq!(q("etl_run_duration_seconds_count", ""), 2.0);
    assert_eq!(q("etl_run_duration_seconds_bucket", r#",le="3600""#), 2.0);
    assert_eq!(
        q("etl_data_quality_ratio", r#",dimension="completeness""#),
        0.98
    );
    assert_eq!(
        q("etl_data_quality_ratio", r#",dimension="validity""#),
        0.975
    );
    assert_eq!(
        q("etl_data_quality_ratio", r#",dimension="consistency""#),
        0.99
    );
    assert_eq!(
        q("etl_data_quality_ratio", r#",dimension="accuracy""#),
        0.987
    );
    let score = q("etl_data_quality_score_ratio", "");
    assert!(
        (score - (0.3 * 0.98 + 0.3 * 0.975 + 0.2 * 0.99 + 0.2 * 0.987)).abs() < 1e-12,
        "{score}"
    );
    assert!(q("etl_last_success_timestamp_seconds", "") > 1.7e9);
}

#[test]
fn put_replaces_post_adds_delete_removes_and_slashes_are_encoded() {
    let gateway = require!(
        Gateway::start(),
        "Pushgateway",
        "apt-get install prometheus-pushgateway"
    );
    PUSH_ALPHA_TOTAL.inc_by(3u32);
    PUSH_BETA_TOTAL.inc_by(5u32);
    let client = Pushgateway::new(&gateway.base_url(), "semantics")
        .expect("gateway URL")
        .grouping("path", "/srv/batch/in")
        .instance("");
    let group = [r#"job="semantics""#, r#"path="/srv/batch/in""#];
    let alpha = || gateway_value(&gateway, "push_alpha_total", &group);
    let beta = || gateway_value(&gateway, "push_beta_total", &group);

    client
        .push_metrics(&["push_alpha_total"])
        .expect("PUT alpha");
    assert_eq!((alpha(), beta()), (Some(3.0), None));
    client
        .push_add_metrics(&["push_beta_total"])
        .expect("POST beta");
    assert_eq!(
        (alpha(), beta()),
        (Some(3.0), Some(5.0)),
        "POST keeps the others"
    );
    PUSH_BETA_TOTAL.inc();
    client.push_metrics(&["push_beta_total"]).expect("PUT beta");
    assert_eq!(
        (alpha(), beta()),
        (None, Some(6.0)),
        "PUT replaces the group"
    );
    client.delete().expect("DELETE");
    assert_eq!((alpha(), beta()), (None, None));

    let err = client.push_metrics(&["push_gamma_total"]).unwrap_err();
    assert!(err.to_string().contains("push_gamma_total"), "{err}");
}
