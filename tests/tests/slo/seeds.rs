//! promtool cases for the rules beyond objectives: each fires on its condition and
//! stays silent just short of it. The series carry the scrape's `instance` and `job`
//! only; the rules find the service through `build_info`.

use super::promtool::{Case, SERVICE};

const TARGET: &str = r#"instance="10.0.0.1:9464",job="quickstart""#;

fn build_info() -> (String, String) {
    (
        format!(r#"build_info{{{TARGET},service_name="{SERVICE}",version="1.0.0"}}"#),
        "1x400".to_owned(),
    )
}

fn alert(name: &str, labels: &[(&str, &str)]) -> String {
    let mut all: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([
            ("alertname".to_owned(), name.to_owned()),
            ("alertstate".to_owned(), "firing".to_owned()),
            ("service_name".to_owned(), SERVICE.to_owned()),
        ])
        .collect();
    all.sort();
    let inner: Vec<String> = all.iter().map(|(k, v)| format!(r#"{k}="{v}""#)).collect();
    format!("ALERTS{{{}}}", inner.join(", "))
}

fn case(
    about: &str,
    series: Vec<(String, String)>,
    minutes: u32,
    name: &str,
    expected: Vec<String>,
) -> Case {
    let mut series = series;
    series.push(build_info());
    Case {
        about: about.to_owned(),
        series,
        eval_minutes: minutes,
        alertname: name.to_owned(),
        expected,
    }
}

/// `status` of check `check` is 1 (the current one) for the whole run.
fn status(check: &str, critical: bool, status: &str, value: u32) -> (String, String) {
    (
        format!(
            r#"health_check_status{{check="{check}",kind="readiness",critical="{critical}",status="{status}",{TARGET}}}"#
        ),
        format!("{value}x400"),
    )
}

pub(crate) fn cases(max_age_secs: u64) -> Vec<Case> {
    let mut out = health_cases();
    out.extend(pipeline_cases(max_age_secs));
    out
}

/// `#[health_check]`s and the built-in system checks.
fn health_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (check, critical, severity, for_minutes) in [
        ("ledger", true, "page", 1),
        ("cache_warm", false, "ticket", 5),
    ] {
        out.push(case(
            &format!("{check} unhealthy: HealthCheckFailing ({severity})"),
            vec![status(check, critical, "unhealthy", 1)],
            for_minutes + 2,
            "HealthCheckFailing",
            vec![alert(
                "HealthCheckFailing",
                &[("check", check), ("severity", severity)],
            )],
        ));
        out.push(case(
            &format!("{check} degraded, not unhealthy: silent"),
            vec![
                status(check, critical, "unhealthy", 0),
                status(check, critical, "degraded", 1),
            ],
            for_minutes + 2,
            "HealthCheckFailing",
            Vec::new(),
        ));
    }
    for (name, check) in [
        ("CpuAboveThreshold", "cpu:utilization"),
        ("MemoryAboveThreshold", "memory:utilization"),
        ("DiskAboveThreshold", "disk:utilization"),
    ] {
        let instance = [("instance", "10.0.0.1:9464")];
        out.push(case(
            &format!("{check} degraded for 12m: {name} (info)"),
            vec![status(check, false, "degraded", 1)],
            12,
            name,
            vec![alert(name, &[instance[0], ("severity", "info")])],
        ));
        out.push(case(
            &format!("{check} degraded for 8m: silent (for: 10m)"),
            vec![status(check, false, "degraded", 1)],
            8,
            name,
            Vec::new(),
        ));
        out.push(case(
            &format!("{check} unhealthy for 7m: {name} (ticket)"),
            vec![status(check, false, "unhealthy", 1)],
            7,
            name,
            vec![alert(name, &[instance[0], ("severity", "ticket")])],
        ));
    }
    out
}

/// Pipelines: failure rate, last success, data quality.
fn pipeline_cases(max_age_secs: u64) -> Vec<Case> {
    let mut out = Vec::new();
    // Ten runs a minute (the rules read the last hour), `failed` of them failing.
    for (failed, fires) in [(2.0, true), (0.9, false)] {
        out.push(case(
            &format!("{failed} of 10 runs a minute fail"),
            vec![
                (
                    format!(r#"etl_runs_total{{pipeline="orders",status="failure",{TARGET}}}"#),
                    format!("0+{failed}x100"),
                ),
                (
                    format!(r#"etl_runs_total{{pipeline="orders",status="success",{TARGET}}}"#),
                    format!("0+{}x100", 10.0 - failed),
                ),
            ],
            70,
            "PipelineFailureRate",
            if fires {
                vec![alert(
                    "PipelineFailureRate",
                    &[("pipeline", "orders"), ("severity", "ticket")],
                )]
            } else {
                Vec::new()
            },
        ));
    }
    // promtool's clock starts at 0: a success at 0 is `eval` old.
    let minutes = u32::try_from(max_age_secs / 60).unwrap();
    for (eval, fires) in [(minutes + 2, true), (minutes - 2, false)] {
        out.push(case(
            &format!("last success {eval}m ago"),
            vec![(
                format!(r#"etl_last_success_timestamp_seconds{{pipeline="orders",{TARGET}}}"#),
                format!("0x{}", eval + 1),
            )],
            eval,
            "BatchRunTooOld",
            if fires {
                vec![alert(
                    "BatchRunTooOld",
                    &[("pipeline", "orders"), ("severity", "ticket")],
                )]
            } else {
                Vec::new()
            },
        ));
    }
    for (score, fires) in [(0.9, true), (0.96, false)] {
        out.push(case(
            &format!("data quality {score}"),
            vec![
                (
                    format!(r#"etl_data_quality_score_ratio{{pipeline="orders",{TARGET}}}"#),
                    format!("{score}x20"),
                ),
                (
                    format!(r#"etl_data_quality_ratio{{pipeline="orders",dimension="validity",{TARGET}}}"#),
                    format!("{score}x20"),
                ),
            ],
            10,
            "DataQualityLow",
            if fires {
                vec![
                    alert(
                        "DataQualityLow",
                        &[("dimension", "validity"), ("pipeline", "orders"), ("severity", "ticket")],
                    ),
                    alert("DataQualityLow", &[("pipeline", "orders"), ("severity", "ticket")]),
                ]
            } else {
                Vec::new()
            },
        ));
    }
    out
}
