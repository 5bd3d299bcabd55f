//! End-to-end: the `etl_pipeline` example's batch job runs three times, each in a process
//! of its own, and pushes to a real Pushgateway; a real Prometheus scrapes the gateway and
//! the README's PromQL, read from the README itself, answers about those runs. Also the
//! Pushgateway API semantics: PUT replaces a group, POST adds to it, DELETE removes it,
//! grouping values with `/` are encoded, an empty selection is refused.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::time::Duration;

use flext_observability::push::{PushError, Pushgateway};
use flext_observability::{Counter, business_metric};
use flext_observability_examples::etl::{
    BatchError, EtlConfig, JOB, MemoryTarget, OrdersTap, run_batch_job,
};
use flext_observability_tests::child::{self, Child};
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

/// The body of one batch run in a process of its own, as the example runs.
#[test]
#[ignore = "child process of `readme_promql_answers_about_runs_pushed_by_separate_processes`, which runs it"]
fn child_process_batch_run() {
    child::enter("child_process_batch_run");
    let rows: u64 = std::env::var(CHILD_ROWS)
        .expect("the parent sets the row count")
        .parse()
        .expect("row count");
    let fail_at: Option<u64> = std::env::var(CHILD_FAIL_AT)
        .ok()
        .map(|v| v.parse().expect("row number"));
    let gateway = Pushgateway::from_env(JOB)
        .expect("gateway URL")
        .expect("the parent sets FLEXT_OBS_PUSHGATEWAY_URL");
    let result = run_batch_job(
        &EtlConfig::new("orders"),
        &mut OrdersTap::new(rows, fail_at),
        &mut MemoryTarget::default(),
        Some(&gateway),
    );
    match fail_at {
        None => {
            result.expect("the run and its push succeed");
        }
        Some(_) => assert!(
            matches!(result, Err(BatchError::Run { push: None, .. })),
            "{result:?}"
        ),
    }
}

const CHILD_ROWS: &str = "FLEXT_OBS_TEST_BATCH_ROWS";
const CHILD_FAIL_AT: &str = "FLEXT_OBS_TEST_BATCH_FAIL_AT";

/// Runs [`child_process_batch_run`] in a new process: fresh counters, as each run of the
/// example has.
fn run_in_a_new_process(gateway: &Gateway, rows: u64, fail_at: Option<u64>) {
    let mut process = Child::new("child_process_batch_run")
        .env(CHILD_ROWS, &rows.to_string())
        .env("FLEXT_OBS_PUSHGATEWAY_URL", &gateway.base_url());
    if let Some(row) = fail_at {
        process = process.env(CHILD_FAIL_AT, &row.to_string());
    }
    process.run();
}

/// The PromQL queries of the README's "Business metrics in PromQL" section, as written.
fn readme_queries() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("read README.md");
    let section = readme
        .split("## Business metrics in PromQL")
        .nth(1)
        .expect("the README has the section");
    let block = section
        .split("```promql\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a promql block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The gateway's own `push_time_seconds` of the `etl_pipeline` group.
fn gateway_push_time(gateway: &Gateway) -> f64 {
    gateway_value(
        gateway,
        "push_time_seconds",
        &[r#"job="etl_pipeline""#, r#"pipeline="orders""#],
    )
    .expect("the group was pushed")
}

#[test]
fn readme_promql_answers_about_runs_pushed_by_separate_processes() {
    let gateway = require!(
        Gateway::start(),
        "Pushgateway",
        "apt-get install prometheus-pushgateway"
    );
    let prometheus = require!(
        Prometheus::start(
            &[Target {
                honor_labels: true,
                ..Target::new("pushgateway", gateway.addr)
            }],
            Duration::from_millis(200),
        ),
        "Prometheus",
        "apt-get install prometheus"
    );
    let wait = Duration::from_secs(30);
    let group = r#"job="etl_pipeline",pipeline="orders""#;
    // Prometheus must see every push before the next one: `changes()` counts what it saw.
    let run = |rows: u64, fail_at: Option<u64>| {
        run_in_a_new_process(&gateway, rows, fail_at);
        let pushed = gateway_push_time(&gateway);
        prometheus
            .wait_for(&format!("push_time_seconds{{{group}}}"), wait, |v| {
                v == pushed
            })
            .expect("Prometheus scrapes the push");
    };
    // The baseline run, a bigger successful one, then one whose source fails.
    run(1000, None);
    run(2000, None);
    run(1000, Some(500));

    let queries = readme_queries();
    assert_eq!(queries.len(), 7, "{queries:#?}");
    let value = |i: usize| {
        prometheus
            .scalar(&queries[i])
            .unwrap_or_else(|| panic!("no single value for `{}`", queries[i]))
    };
    let hours = value(0);
    assert!(
        (0.0..0.1).contains(&hours),
        "hours since the last success: {hours}"
    );
    assert_eq!(value(1), 1.0, "the last run failed");
    assert_eq!(value(2), 2.0, "runs after the baseline");
    assert_eq!(value(3), 1.0, "successful runs after the baseline");
    assert_eq!(value(4), 0.5, "success rate");
    // The failed run pushed its status only: rows and duration are the 2000-row run's.
    let q = |promql: &str| {
        prometheus
            .scalar(promql)
            .unwrap_or_else(|| panic!("no single value for `{promql}`"))
    };
    let written = q(&format!("etl_rows_written_total{{{group}}}"));
    assert_eq!(written, 1910.0);
    assert_eq!(
        q(&format!("etl_run_duration_seconds_count{{{group}}}")),
        1.0
    );
    let seconds = q(&format!("etl_run_duration_seconds_sum{{{group}}}"));
    assert!(seconds > 0.0);
    assert_eq!(value(5), written / seconds, "throughput");
    assert_eq!(value(6), 1.0, "the last success took under 15 minutes");

    // The values of the last successful run, as pushed.
    assert_eq!(q(&format!("etl_rows_read_total{{{group}}}")), 2000.0);
    assert_eq!(
        q(&format!(
            r#"etl_rows_rejected_total{{{group},reason="missing_field"}}"#
        )),
        40.0
    );
    assert_eq!(
        q(&format!(
            r#"etl_rows_rejected_total{{{group},reason="invalid_format"}}"#
        )),
        50.0
    );
    assert_eq!(
        q(&format!(
            r#"etl_data_quality_ratio{{{group},dimension="accuracy"}}"#
        )),
        1975.0 / 2000.0
    );
    let score = q(&format!("etl_data_quality_score_ratio{{{group}}}"));
    let expected = 0.3 * 0.98 + 0.3 * 0.975 + 0.2 * 0.99 + 0.2 * (1975.0 / 2000.0);
    assert!((score - expected).abs() < 1e-12, "{score}");
    // Both status series exist in every run (at zero until counted): the failed run
    // replaced the successful run's 1.
    assert_eq!(
        q(&format!(r#"etl_runs_total{{{group},status="success"}}"#)),
        0.0,
        "the failed run replaced etl_runs_total"
    );
}

#[test]
fn what_the_batch_job_exposes_passes_promtool() {
    let config = EtlConfig::new("lint");
    run_batch_job(
        &config,
        &mut OrdersTap::new(1000, None),
        &mut MemoryTarget::default(),
        None,
    )
    .expect("the run succeeds");
    let failed = run_batch_job(
        &config,
        &mut OrdersTap::new(1000, Some(500)),
        &mut MemoryTarget::default(),
        None,
    );
    assert!(
        matches!(failed, Err(BatchError::Run { push: None, .. })),
        "{failed:?}"
    );
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

    // The whole registry: PUT, then POST after a change.
    client.push().expect("PUT everything");
    assert_eq!((alpha(), beta()), (Some(3.0), Some(6.0)));
    PUSH_ALPHA_TOTAL.inc();
    client.push_add().expect("POST everything");
    assert_eq!((alpha(), beta()), (Some(4.0), Some(6.0)));
    client.delete().expect("DELETE");

    let err = client.push_metrics(&["push_gamma_total"]).unwrap_err();
    assert!(err.to_string().contains("push_gamma_total"), "{err}");

    // Choosing nothing is an error, not a PUT that empties the group.
    client
        .push_metrics(&["push_alpha_total"])
        .expect("PUT alpha");
    assert!(matches!(
        client.push_metrics(&[]),
        Err(PushError::NoMetrics)
    ));
    assert!(matches!(
        client.push_add_metrics(&[]),
        Err(PushError::NoMetrics)
    ));
    assert_eq!(alpha(), Some(4.0), "the group is untouched");
}
