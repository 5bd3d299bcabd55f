//! Fleets (issue 13): many processes of one service into the engines users already run.
//!
//! - Three processes at once remote-write to a real Prometheus (with
//!   `--web.enable-remote-write-receiver`) and export OTLP to the test receiver: PromQL
//!   over what Prometheus received equals the calls each made, per instance and summed
//!   by `service_name`; each OTLP resource has its own `service.instance.id` and the
//!   same `service.name`, and its start time is the `_created` of `/metrics`.
//! - The receiver down, then up: calls never wait, drops are counted, writing resumes.
//! - A `400` is not retried, a `503` is; the headers of the specification; credentials
//!   (in the URL, a bearer token) are sent and never printed.
//! - Batch runs side by side keep a Pushgateway group each (`per_instance`), and the
//!   documented PromQL adds them up.
//! - A Prometheus scrape: `target_info` carries the resource, Prometheus' own `instance`
//!   is the only one, `_created` is the process start.
//!
//! Every process that installs is a child process (`child`): one installation each.

#![allow(clippy::float_cmp)] // samples are exact counts read back as f64

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use flext_observability::prometheus::{render, render_openmetrics};
use flext_observability::push::Pushgateway;
use flext_observability::remote_write::{BEARER_TOKEN_ENV, INTERVAL_ENV, QUEUE_ENV, URL_ENV};
use flext_observability::{Observability, monitor};
use flext_observability_tests::child::{self, Child};
use flext_observability_tests::otlp::{Receiver, attr};
use flext_observability_tests::remote_write::ScriptedReceiver;
use flext_observability_tests::servers::{Prometheus, Pushgateway as Gateway, Target, which};
use flext_observability_tests::{eventually, free_port, http, require, sample, sample_with};

#[monitor]
fn fleet_work(i: u64) -> u64 {
    i + 1
}

const CALLS: &str = "FLEXT_OBS_TEST_FLEET_CALLS";
const PORT: &str = "FLEXT_OBS_TEST_FLEET_PORT";
const GATEWAY: &str = "FLEXT_OBS_TEST_FLEET_GATEWAY";

fn calls_from_env() -> u64 {
    std::env::var(CALLS)
        .expect("the parent sets the number of calls")
        .parse()
        .expect("a number")
}

/// What a child printed after `KEY=` (libtest may have put the test's name before it).
fn printed(output: &str, key: &str) -> String {
    let key = format!("{}=", key.to_ascii_uppercase());
    output
        .lines()
        .find_map(|l| l.find(&key).map(|at| &l[at + key.len()..]))
        .unwrap_or_else(|| panic!("the child printed no `{key}=`:\n{output}"))
        .trim()
        .to_owned()
}

/// A self-metric of remote write in this process's `/metrics`.
fn rw(name: &str, labels: &[(&str, &str)]) -> f64 {
    sample_with(&render(), name, labels).unwrap_or_else(|| panic!("no {name} {labels:?}"))
}

fn require_prometheus() -> bool {
    if which("prometheus").is_none() {
        flext_observability_tests::missing("Prometheus", "apt-get install prometheus");
        return false;
    }
    true
}

// ---------------------------------------------------------------------------------
// Three processes at once

#[test]
#[ignore = "child process of `three_processes_write_to_one_prometheus`, which runs it"]
fn child_fleet_member() {
    child::enter("child_fleet_member");
    let n = calls_from_env();
    let guard = Observability::builder()
        .without_server()
        .install()
        .expect("install");
    for i in 0..n {
        fleet_work(i);
    }
    let om = render_openmetrics();
    let created = om
        .lines()
        .find(|l| l.starts_with("function_calls_created{function=\"fleet_work\""))
        .and_then(|l| l.rsplit(' ').next())
        .expect("function_calls_created in OpenMetrics")
        .to_owned();
    println!("INSTANCE={}", guard.service_instance_id());
    println!("CREATED={created}");
    // The last push goes when the guard is dropped.
    drop(guard);
    assert!(rw("flext_remote_write_samples_total", &[]) > 0.0);
    for reason in ["queue_full", "rejected", "shutdown"] {
        assert_eq!(
            rw("flext_remote_write_dropped_total", &[("reason", reason)]),
            0.0,
            "{reason}"
        );
    }
}

#[test]
fn three_processes_write_to_one_prometheus() {
    let prometheus = require!(
        Prometheus::start(&[], Duration::from_secs(1)),
        "Prometheus",
        "apt-get install prometheus"
    );
    let otlp = Receiver::start();
    let calls = [3_u64, 5, 8];
    let rw_url = prometheus.remote_write_url();
    let otlp_url = otlp.http_endpoint();
    // All three at once.
    let outputs: Vec<String> = std::thread::scope(|s| {
        let running: Vec<_> = calls
            .iter()
            .map(|n| {
                let (rw_url, otlp_url, n) = (&rw_url, &otlp_url, n.to_string());
                s.spawn(move || {
                    Child::new("child_fleet_member")
                        .envs(&[
                            (CALLS, &n),
                            ("OTEL_SERVICE_NAME", "fleet"),
                            (URL_ENV, rw_url),
                            (INTERVAL_ENV, "200ms"),
                            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_url),
                            ("OTEL_TRACES_EXPORTER", "none"),
                            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
                        ])
                        .run()
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let ids: Vec<String> = outputs.iter().map(|o| printed(o, "instance")).collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 3, "one instance id per process: {ids:?}");

    // Exactly the calls each process made, under its own instance.
    for (id, n) in ids.iter().zip(calls) {
        let promql =
            format!("sum(function_calls_total{{function=\"fleet_work\",instance=\"{id}\"}})");
        assert_eq!(prometheus.scalar(&promql), Some(n as f64), "{promql}");
        let info = prometheus.query(&format!("target_info{{instance=\"{id}\"}}"));
        assert_eq!(info.len(), 1, "{info:?}");
        let labels = &info[0]["metric"];
        assert_eq!(labels["service_instance_id"], id.as_str());
        assert_eq!(labels["service_name"], "fleet");
        assert_eq!(labels["job"], "fleet");
    }
    let series = prometheus
        .query("count by (instance) (function_calls_total{function=\"fleet_work\",result=\"ok\"})");
    assert_eq!(
        series.len(),
        3,
        "per-instance series are distinct: {series:?}"
    );
    let summed =
        prometheus.query("sum by (service_name) (function_calls_total{function=\"fleet_work\"})");
    assert_eq!(summed.len(), 1, "{summed:?}");
    assert_eq!(summed[0]["metric"]["service_name"], "fleet");
    assert_eq!(summed[0]["value"][1], "16");

    otlp_resources_are_per_process(&otlp, &ids, &outputs);
}

/// One OTLP resource per process, the same service; each process's start time is its
/// `_created`.
fn otlp_resources_are_per_process(otlp: &Receiver, ids: &[String], outputs: &[String]) {
    let resources: Vec<(String, String, u64)> = otlp.with(|r| {
        r.metrics
            .iter()
            .flat_map(|req| &req.resource_metrics)
            .map(|rm| {
                let attrs = &rm.resource.as_ref().expect("a resource").attributes;
                let start = rm
                    .scope_metrics
                    .iter()
                    .flat_map(|s| &s.metrics)
                    .find(|m| m.name == "function.calls")
                    .and_then(|m| match m.data.as_ref()? {
                        flext_observability_tests::otlp::MetricData::Sum(sum) => {
                            Some(sum.data_points.first()?.start_time_unix_nano)
                        }
                        _ => None,
                    })
                    .unwrap_or(0);
                (
                    attr(attrs, "service.name").unwrap_or_default(),
                    attr(attrs, "service.instance.id").unwrap_or_default(),
                    start,
                )
            })
            .collect()
    });
    let otlp_ids: BTreeSet<&String> = resources.iter().map(|(_, id, _)| id).collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        otlp_ids, distinct,
        "service.instance.id at the OTLP receiver"
    );
    assert!(
        resources.iter().all(|(name, _, _)| name == "fleet"),
        "{resources:?}"
    );
    for (id, output) in ids.iter().zip(outputs) {
        let created: f64 = printed(output, "created").parse().unwrap();
        let start = resources
            .iter()
            .find(|(_, i, s)| i == id && *s > 0)
            .map(|(_, _, s)| *s)
            .expect("a function.calls point with a start time");
        let start_ms = (start / 1_000_000) as f64;
        assert_eq!(start_ms, (created * 1000.0).round(), "{id}");
    }
}

// ---------------------------------------------------------------------------------
// The receiver down, then up

#[test]
#[ignore = "child process of `writing_resumes_when_the_receiver_comes_up`, which runs it"]
fn child_down_then_up() {
    child::enter("child_down_then_up");
    let port: u16 = std::env::var(PORT).unwrap().parse().unwrap();
    let guard = Observability::builder()
        .without_server()
        .install()
        .expect("install");
    let id = guard.service_instance_id().to_owned();
    let mut calls = 0;
    let mut slowest = Duration::ZERO;
    let mut call_some = |calls: &mut u64| {
        for _ in 0..20 {
            let started = Instant::now();
            fleet_work(*calls);
            slowest = slowest.max(started.elapsed());
            *calls += 1;
        }
    };
    // Nothing listens: pushes queue up, the oldest go.
    let dropped = eventually(Duration::from_secs(30), || {
        call_some(&mut calls);
        let dropped = rw(
            "flext_remote_write_dropped_total",
            &[("reason", "queue_full")],
        );
        (dropped > 0.0).then_some(dropped)
    })
    .expect("pushes dropped while the receiver is down");
    assert!(rw("flext_remote_write_retries_total", &[]) > 0.0);
    assert!(rw("flext_remote_write_pending_samples", &[]) > 0.0);
    assert_eq!(rw("flext_remote_write_samples_total", &[]), 0.0);
    // The receiver comes up on that port: the waiting request gets through, then the
    // queued ones, then every new push.
    let prometheus = Prometheus::start_receiver(port).expect("the parent checked");
    let promql = format!("sum(function_calls_total{{function=\"fleet_work\",instance=\"{id}\"}})");
    prometheus
        .wait_for(&promql, Duration::from_secs(30), |v| v == calls as f64)
        .unwrap();
    assert!(rw("flext_remote_write_samples_total", &[]) > 0.0);
    // A monitored call never waited for the receiver (which was down for seconds).
    assert!(
        slowest < Duration::from_millis(250),
        "the slowest call took {slowest:?}"
    );
    println!("DROPPED={dropped} calls={calls} slowest={slowest:?}");
    drop(guard);
}

#[test]
fn writing_resumes_when_the_receiver_comes_up() {
    if !require_prometheus() {
        return;
    }
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let out = Child::new("child_down_then_up")
        .envs(&[
            (PORT, &port.to_string()),
            (URL_ENV, &url),
            (INTERVAL_ENV, "100ms"),
            (QUEUE_ENV, "3"),
        ])
        .run();
    assert_eq!(
        out.matches("remote write to http://127.0.0.1").count(),
        2,
        "one warning when it fails, one line when it works again:\n{out}"
    );
    assert!(out.contains("works again"), "{out}");
}

// ---------------------------------------------------------------------------------
// Rejections, retries, headers, credentials

#[test]
#[ignore = "child process of `a_400_is_not_retried_a_503_is_and_credentials_never_show`, which runs it"]
fn child_scripted() {
    child::enter("child_scripted");
    let builder = Observability::builder().without_server();
    // `Debug` of the settings: the credentials must not show.
    println!("BUILDER={builder:?}");
    let guard = builder.install().expect("install");
    for i in 0..4 {
        fleet_work(i);
    }
    let (rejected, retries) = eventually(Duration::from_secs(30), || {
        let rejected = rw(
            "flext_remote_write_dropped_total",
            &[("reason", "rejected")],
        );
        let retries = rw("flext_remote_write_retries_total", &[]);
        let sent = rw("flext_remote_write_samples_total", &[]);
        (retries > 0.0 && sent > 0.0).then_some((rejected, retries))
    })
    .expect("a retried request got through");
    println!("REJECTED={rejected}");
    println!("RETRIES={retries}");
    println!("METRICS={}", render());
    drop(guard);
}

#[test]
fn a_400_is_not_retried_a_503_is_and_credentials_never_show() {
    // Basic authentication from the URL; the receiver answers 400, then 503, then 204.
    let receiver = ScriptedReceiver::start(&[400, 503]);
    let url = receiver
        .url()
        .replace("http://", "http://fleet-user:s3cr3t-pw@");
    let out = Child::new("child_scripted")
        .envs(&[
            (URL_ENV, &url),
            (INTERVAL_ENV, "300ms"),
            ("OTEL_SERVICE_NAME", "fleet"),
        ])
        .run();
    let got = receiver.received();
    assert!(got.len() >= 3, "{} requests", got.len());
    let statuses: Vec<u16> = got.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..3], [400, 503, 204], "{statuses:?}");
    // The 400 was not sent again: the next request is a newer push.
    let (first, second, third) = (&got[0], &got[1], &got[2]);
    assert_ne!(first.body, second.body);
    let ts = |r: &flext_observability_tests::remote_write::Received| {
        r.decode().timeseries[0].samples[0].timestamp
    };
    assert!(ts(second) > ts(first));
    // The 503 was: the same request again.
    assert_eq!(second.body, third.body);
    let rejected: f64 = printed(&out, "rejected").parse().unwrap();
    assert_eq!(rejected, first.decode().timeseries.len() as f64);
    assert!(printed(&out, "retries").parse::<f64>().unwrap() >= 1.0);
    for r in &got {
        assert_eq!(r.header("content-encoding"), Some("snappy"));
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(r.header("x-prometheus-remote-write-version"), Some("0.1.0"));
        assert!(
            r.header("user-agent")
                .is_some_and(|ua| ua.starts_with("flext-observability/")),
            "{:?}",
            r.headers
        );
        assert_eq!(
            r.header("authorization"),
            Some("Basic ZmxlZXQtdXNlcjpzM2NyM3QtcHc=")
        );
        for series in r.decode().timeseries {
            assert_eq!(series.label("job"), Some("fleet"));
            assert!(series.label("instance").is_some_and(|i| !i.is_empty()));
            let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
            assert!(names.is_sorted(), "{names:?}");
            assert_eq!(series.samples.len(), 1);
        }
    }
    let last = got.last().unwrap().decode();
    let calls: f64 = last
        .timeseries
        .iter()
        .filter(|s| {
            s.label("__name__") == Some("function_calls_total")
                && s.label("function") == Some("fleet_work")
        })
        .map(|s| s.samples[0].value)
        .sum();
    assert_eq!(calls, 4.0);
    assert!(out.contains("was rejected (status 400"), "{out}");
    for secret in ["s3cr3t", "ZmxlZXQtdXNlcjpzM2NyM3QtcHc", "fleet-user"] {
        assert!(!out.contains(secret), "`{secret}` in the output:\n{out}");
    }

    // A bearer token from the environment, a receiver failing twice.
    let receiver = ScriptedReceiver::start(&[503, 503]);
    let out = Child::new("child_scripted")
        .envs(&[
            (URL_ENV, &receiver.url()),
            (INTERVAL_ENV, "300ms"),
            (BEARER_TOKEN_ENV, "tok-s3cr3t"),
        ])
        .run();
    let got = receiver.received();
    assert!(
        got.iter()
            .all(|r| r.header("authorization") == Some("Bearer tok-s3cr3t"))
    );
    assert!(out.contains("scripted 503"), "the failure is said:\n{out}");
    assert!(!out.contains("tok-s3cr3t"), "{out}");
}

// ---------------------------------------------------------------------------------
// Pushgateway: parallel runs

#[test]
#[ignore = "child process of `parallel_batch_runs_keep_a_pushgateway_group_each`, which runs it"]
fn child_batch_run() {
    child::enter("child_batch_run");
    let n = calls_from_env();
    let guard = Observability::builder()
        .without_server()
        .service_name("fleet-batch")
        .install()
        .expect("install");
    for i in 0..n {
        fleet_work(i);
    }
    let gateway = std::env::var(GATEWAY).unwrap();
    Pushgateway::new(&gateway, "fleet-batch")
        .unwrap()
        .per_instance()
        .push()
        .expect("push");
    println!("INSTANCE={}", guard.service_instance_id());
}

#[test]
fn parallel_batch_runs_keep_a_pushgateway_group_each() {
    let gateway = require!(
        Gateway::start(),
        "Pushgateway",
        "apt-get install prometheus-pushgateway"
    );
    let calls = [2_u64, 4, 7];
    let base = gateway.base_url();
    let outputs: Vec<String> = std::thread::scope(|s| {
        let running: Vec<_> = calls
            .iter()
            .map(|n| {
                let (base, n) = (&base, n.to_string());
                s.spawn(move || {
                    Child::new("child_batch_run")
                        .envs(&[(CALLS, &n), (GATEWAY, base)])
                        .run()
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let text = http::get(&format!("{base}/metrics")).unwrap().body;
    for (output, n) in outputs.iter().zip(calls) {
        let id = printed(output, "instance");
        let value = sample_with(
            &text,
            "function_calls_total",
            &[
                ("function", "fleet_work"),
                ("instance", &id),
                ("job", "fleet-batch"),
                ("result", "ok"),
            ],
        );
        assert_eq!(value, Some(n as f64), "the run {id} kept its group");
    }
    // The README's PromQL over a Prometheus that scrapes the gateway.
    let mut target = Target::new("pushgateway", gateway.addr);
    target.honor_labels = true;
    let prometheus = require!(
        Prometheus::start(&[target], Duration::from_millis(500)),
        "Prometheus",
        "apt-get install prometheus"
    );
    prometheus
        .wait_for(
            "count(push_time_seconds{job=\"fleet-batch\"})",
            Duration::from_secs(30),
            |v| v == 3.0,
        )
        .unwrap();
    let sum = "sum without (instance) (function_calls_total{job=\"fleet-batch\",function=\"fleet_work\",result=\"ok\"})";
    assert_eq!(prometheus.scalar(sum), Some(13.0));
    let by_service = "sum by (service_name) (function_calls_total{job=\"fleet-batch\"})";
    assert_eq!(prometheus.scalar(by_service), Some(13.0));
}

// ---------------------------------------------------------------------------------
// A scrape: target_info, Prometheus' instance, _created

#[test]
#[ignore = "child process of `a_scrape_sees_target_info_and_created`, which runs it"]
fn child_scraped() {
    child::enter("child_scraped");
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .service_name("scraped")
        .service_namespace("shop")
        .install()
        .expect("install");
    fleet_work(1);
    let addr = guard.local_addr().unwrap();
    let text = render();
    assert!(
        text.contains("\ntarget_info{service_name=\"scraped\","),
        "{text}"
    );
    assert!(
        !text.contains("instance=\""),
        "no instance label of ours:\n{text}"
    );
    let om = render_openmetrics();
    assert!(
        om.starts_with("# TYPE target info\n# HELP target Target metadata\ntarget_info{"),
        "the target family first:\n{om}"
    );
    let prometheus = Prometheus::start(&[Target::new("scraped", addr)], Duration::from_millis(300))
        .expect("the parent checked");
    prometheus
        .wait_for("count(target_info)", Duration::from_secs(30), |v| v == 1.0)
        .unwrap();
    let info = prometheus.query("target_info");
    let labels = &info[0]["metric"];
    assert_eq!(
        labels["instance"],
        addr.to_string().as_str(),
        "Prometheus' own"
    );
    assert_eq!(labels["job"], "scraped");
    assert_eq!(labels["service_instance_id"], guard.service_instance_id());
    assert_eq!(labels["service_namespace"], "shop");
    assert_eq!(labels["service_name"], "scraped");
    assert_eq!(labels["telemetry_sdk_language"], "rust");
    let calls = prometheus.query("function_calls_total{function=\"fleet_work\",result=\"ok\"}");
    assert_eq!(calls[0]["metric"]["instance"], addr.to_string().as_str());
    // `_created` (OpenMetrics, which Prometheus asks for): the process start.
    let created = prometheus
        .scalar("function_calls_created{function=\"fleet_work\",result=\"ok\"}")
        .expect("function_calls_created scraped");
    let served = sample(
        &om,
        "function_calls_created{function=\"fleet_work\",module=\"fleet\",service_name=\"scraped\",result=\"ok\"}",
    )
    .expect("in /metrics");
    assert_eq!(created, served);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        created <= now && created > now - 600.0,
        "{created} vs {now}"
    );
    drop(guard);
}

#[test]
fn a_scrape_sees_target_info_and_created() {
    if !require_prometheus() {
        return;
    }
    Child::new("child_scraped").run();
}
