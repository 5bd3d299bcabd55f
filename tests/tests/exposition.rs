//! What `/metrics` serves: golden text in both formats, `promtool check metrics`, the
//! strict Python OpenMetrics parser, and structural rules promtool does not check.

#![allow(clippy::float_cmp)] // samples are exact counts read back as f64

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use flext_observability::{Observability, ObservabilityGuard, monitor};
use flext_observability_tests::tools::{promtool_check_metrics, python_openmetrics_parse};
use flext_observability_tests::{http, require};

#[derive(Debug)]
struct Invalid;

#[monitor(buckets = [0.5, 1, 5])]
fn golden_ok(x: u32) -> Result<u32, Invalid> {
    if x == 0 { Err(Invalid) } else { Ok(x) }
}

/// One installation for every test of this file, with known facade metrics.
fn server() -> &'static str {
    static ADDR: OnceLock<(ObservabilityGuard, String)> = OnceLock::new();
    &ADDR
        .get_or_init(|| {
            let guard = Observability::builder()
                .service_name("golden")
                .service_version("1.2.3")
                .listen("127.0.0.1:0")
                .histogram_buckets("payload_size", &[100.0, 1000.0])
                // The golden text holds what this file registers, nothing of the host.
                .system_checks(false)
                .process_metrics(false)
                .install()
                .expect("install");
            let base = format!("http://{}", guard.local_addr().unwrap());
            for x in [1, 2, 0] {
                let _ = golden_ok(x);
            }
            metrics::describe_counter!("jobs_processed", "Jobs processed, by queue.");
            metrics::counter!("jobs_processed", "queue" => "emails").increment(3);
            metrics::counter!("jobs_processed", "queue" => "a \"quoted\" \\ back\nslash")
                .increment(1);
            metrics::describe_gauge!("queue_depth", "Items waiting.");
            metrics::gauge!("queue_depth").set(2.5);
            metrics::describe_histogram!(
                "payload_size_bytes",
                metrics::Unit::Bytes,
                "Payload sizes."
            );
            metrics::histogram!("payload_size_bytes").record(50.0);
            metrics::histogram!("payload_size_bytes").record(500.0);
            metrics::histogram!("payload_size_bytes").record(5000.0);
            (guard, base)
        })
        .1
}

/// Replaces what depends on timing (duration buckets and sums of monitored functions),
/// on trace ids (exemplars, present when the OpenTelemetry layer samples the calls), on
/// the process (its start, the `_created` of OpenMetrics; its random instance id in
/// `target_info`) and on the crate's version (`telemetry_sdk_version`).
fn normalize(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.split_once(" # {").map_or(line, |(sample, _)| sample);
            if line.starts_with("function_calls_duration_seconds_bucket")
                || line.starts_with("function_calls_duration_seconds_sum")
            {
                let (series, _) = line.rsplit_once(' ').unwrap();
                format!("{series} <timing>")
            } else if line.contains("_created") && !line.starts_with('#') {
                let (series, _) = line.rsplit_once(' ').unwrap();
                format!("{series} <process start>")
            } else if line.starts_with("target_info{") {
                replace_value(
                    &replace_value(line, "service_instance_id", "<instance>"),
                    "telemetry_sdk_version",
                    "<version>",
                )
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `line` with the value of label `name` replaced by `with`.
fn replace_value(line: &str, name: &str, with: &str) -> String {
    let key = format!("{name}=\"");
    let Some(at) = line.find(&key) else {
        return line.to_owned();
    };
    let start = at + key.len();
    let end = start + line[start..].find('"').expect("a closing quote");
    format!("{}{with}{}", &line[..start], &line[end..])
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        actual,
        expected,
        "exposition differs from {} (UPDATE_GOLDEN=1 rewrites it; review the diff)",
        path.display()
    );
}

fn fetch(accept: Option<&str>) -> http::Response {
    let url = format!("{}/metrics", server());
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
    http::get_with(&url, &headers).expect("GET /metrics")
}

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn text_format_matches_golden() {
    let resp = fetch(None);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(resp.header("vary"), Some("Accept"));
    golden("exposition.txt", &normalize(&resp.body));
}

#[test]
fn openmetrics_format_matches_golden() {
    let resp = fetch(Some(PROMETHEUS_ACCEPT));
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(resp.body.ends_with("# EOF\n"));
    golden("exposition.openmetrics", &normalize(&resp.body));
}

#[test]
fn promtool_accepts_what_metrics_serves() {
    let body = fetch(None).body;
    let check = require!(
        promtool_check_metrics(&body),
        "promtool",
        "apt-get install prometheus"
    );
    assert_eq!(
        check.code, 0,
        "promtool check metrics: exit {}:\n{}",
        check.code, check.output
    );
}

#[test]
fn python_openmetrics_parser_accepts_the_openmetrics_form() {
    let body = fetch(Some("application/openmetrics-text")).body;
    let check = require!(
        python_openmetrics_parse(&body),
        "Python prometheus_client >= 0.26",
        "pip install prometheus-client"
    );
    assert_eq!(
        check.code, 0,
        "parser rejected the exposition:\n{}\n---\n{body}",
        check.output
    );
    for family in [
        "function_calls counter",
        "function_calls_duration_seconds histogram",
        "function_calls_concurrent gauge",
        "build info",
        "jobs_processed counter",
        "queue_depth gauge",
        "payload_size_bytes histogram",
    ] {
        assert!(
            check.output.lines().any(|l| l.starts_with(family)),
            "the parser did not see `{family}`:\n{}",
            check.output
        );
    }
}

/// Rules promtool does not check: one contiguous group per family, no duplicate series,
/// buckets ascending with `+Inf` equal to `_count`, trailing newline.
#[test]
fn families_are_contiguous_and_series_unique() {
    let body = fetch(None).body;
    assert!(body.ends_with('\n'));
    let mut finished_families = HashSet::new();
    let mut current = String::new();
    let mut series = HashSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let family = rest.split(' ').next().unwrap().to_owned();
            assert!(
                finished_families.insert(family.clone()),
                "family {family} appears twice"
            );
            current = family;
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name_labels, _) = line.rsplit_once(' ').unwrap();
        assert!(
            series.insert(name_labels.to_owned()),
            "duplicate series {name_labels}"
        );
        let name = name_labels.split('{').next().unwrap();
        assert!(
            name.starts_with(&current),
            "sample {name} outside its family {current}"
        );
    }
    let mut count = None;
    let mut last_bucket = 0.0;
    for line in body.lines().filter(|l| l.starts_with("payload_size_bytes")) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        if series.contains("_bucket") {
            assert!(value >= last_bucket, "buckets must be cumulative: {line}");
            last_bucket = value;
            if series.contains(r#"le="+Inf""#) {
                count = Some(value);
            }
        } else if series.contains("_count") {
            assert_eq!(Some(value), count, "+Inf bucket must equal _count");
        }
    }
    assert_eq!(count, Some(3.0));
}

#[test]
fn hostile_label_values_are_escaped() {
    let body = fetch(None).body;
    assert!(
        body.contains(r#"jobs_processed_total{queue="a \"quoted\" \\ back\nslash"} 1"#),
        "{body}"
    );
}
