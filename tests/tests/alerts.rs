//! Alerting without code (issue 10), against a real Alertmanager from Debian, started by
//! each test on loopback, with local webhook receivers standing in for `PagerDuty` and
//! Slack: a workload that breaks an error-rate threshold, an objective, a latency
//! threshold, a data-quality threshold and a critical health check, then recovers, gets
//! every alert to the right receiver with the right labels, grouped, then resolved; an
//! Alertmanager that is down, then up, loses nothing that still fires and blocks
//! nothing; two Alertmanagers both receive; a silence set through the API suppresses
//! the notification; a real Prometheus running the generated rules fires the same
//! alerts with the same labels on the same data; the `alerting` example's contract; and
//! `amtool` checks of the deployment's configuration.
//!
//! Each scenario runs in a child process of its own (the runtime is installed once per
//! process). CI needs the Debian packages `prometheus-alertmanager` (`prometheus` for
//! the Prometheus comparison and `promtool`).

#[path = "../../examples/alerting.rs"]
#[allow(unreachable_pub, dead_code)] // an example's root, compiled as a module here
mod alerting;
#[path = "alerts/deploy.rs"]
mod deploy;
#[path = "alerts/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flext_observability::objectives::{Objective, ObjectivePercentile};
use flext_observability::{
    Gauge, Observability, ObservabilityGuard, business_metric, health_check, monitor,
};
use flext_observability_tests::child::{self, Child};
use flext_observability_tests::{eventually, free_port, http, missing, require, sample_with};
use serde_json::Value;
use support::{Hook, Manager, PATIENCE, alertmanager_exe, routing};

/// A declined payment.
#[derive(Debug)]
struct Declined;

const CHECKOUT: Objective = Objective::new("checkout").success_rate(ObjectivePercentile::P99);

#[monitor(
    objective = CHECKOUT,
    alert(
        name = "CheckoutErrorRate",
        error_rate > 0.05,
        over = "10s",
        for = "1s",
        severity = "page",
        labels(team = "payments"),
        runbook = "https://runbooks.example.com/checkout"
    )
)]
fn checkout(fail: bool) -> Result<(), Declined> {
    if fail { Err(Declined) } else { Ok(()) }
}

/// A report that takes `ms` milliseconds (a workload with a known duration).
#[monitor(alert(latency_p99 > "50ms", over = "10s", for = "0s"))]
fn slow_report(ms: u64) {
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Share of the orders pipeline's records that passed validation.
#[business_metric(
    labels(pipeline),
    alert(
        name = "OrdersQualityLow",
        below = 0.95,
        for = "1s",
        severity = "ticket"
    )
)]
static ORDERS_DATA_QUALITY_RATIO: Gauge;

static LEDGER_DOWN: AtomicBool = AtomicBool::new(false);

/// The ledger: critical, so failing pages.
#[health_check(critical, interval = "100ms")]
fn ledger() -> Result<(), String> {
    if LEDGER_DOWN.load(Ordering::Relaxed) {
        Err("ledger unreachable".into())
    } else {
        Ok(())
    }
}

fn alertmanager_or_skip() -> bool {
    if alertmanager_exe().is_some() {
        return true;
    }
    missing("Alertmanager", "apt-get install prometheus-alertmanager");
    false
}

/// The runtime as every scenario installs it: the Alertmanagers `urls` (else
/// `FLEXT_OBS_ALERTMANAGER_URL` from the parent), evaluation every 200 ms, health
/// alerts after 1 s.
fn install(urls: &[String]) -> ObservabilityGuard {
    let mut builder = Observability::builder();
    for url in urls {
        builder = builder.alertmanager_url(url);
    }
    let guard = builder
        .service_name("shop")
        .listen("127.0.0.1:0")
        .system_checks(false)
        .alert_evaluation_interval(Duration::from_millis(200))
        .alert_resend_interval(Duration::from_secs(1))
        .health_check_alert_for(Duration::from_secs(1), Duration::from_secs(1))
        .install()
        .expect("install");
    println!("listening on {}", guard.local_addr().expect("a server"));
    guard
}

/// The firing alerts' names in this process.
fn firing_names() -> Vec<String> {
    let mut names: Vec<String> = flext_observability::alerts::firing()
        .into_iter()
        .map(|a| a.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Calls `checkout` (30 % failing when `failing`) until every alert of `names` fires
/// in this process.
fn until_firing(names: &[&str], failing: bool) {
    let done = eventually(PATIENCE, || {
        for i in 0..10 {
            let _ = checkout(failing && i < 3);
        }
        let firing = firing_names();
        names
            .iter()
            .all(|n| firing.iter().any(|f| f == n))
            .then_some(())
    });
    assert!(
        done.is_some(),
        "never all firing: {:?}, wanted {names:?}",
        firing_names()
    );
}

/// The alert `name` among `hook`'s, with `key=value` among its labels.
fn alert_with(hook: &Hook, name: &str, key: &str, value: &str) -> Option<Value> {
    hook.alerts()
        .into_iter()
        .find(|a| a["labels"]["alertname"] == name && a["labels"][key] == value)
}

/// A label map as sorted pairs.
fn labels(alert: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = alert["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    out.sort();
    out
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn a_workload_breaks_then_recovers_and_each_alert_is_routed_grouped_and_resolved() {
    if !alertmanager_or_skip() {
        return;
    }
    let (pagerduty, slack) = (Hook::start(), Hook::start());
    let am = Manager::start(&routing(&pagerduty, &slack), None);
    let out = Child::new("workload_breaks_then_recovers")
        .env("FLEXT_OBS_ALERTMANAGER_URL", &am.url())
        .run();
    let addr = out
        .lines()
        .find_map(|l| l.split("listening on ").nth(1))
        .unwrap_or_else(|| panic!("the child's address:\n{out}"))
        .to_owned();

    // Routing: pages to PagerDuty, tickets to Slack, nothing crosses.
    for name in [
        "CheckoutErrorRate",
        "HealthCheckFailing",
        "SuccessRateBudgetBurn",
    ] {
        pagerduty.wait_alert(name, "firing");
    }
    for name in [
        "OrdersQualityLow",
        "SlowReportLatencyP99",
        "SuccessRateBudgetBurn",
    ] {
        slack.wait_alert(name, "firing");
    }
    assert!(
        pagerduty
            .alerts()
            .iter()
            .all(|a| a["labels"]["severity"] == "page")
    );
    assert!(
        slack
            .alerts()
            .iter()
            .all(|a| a["labels"]["severity"] == "ticket")
    );
    assert_eq!(
        pagerduty.names(),
        [
            "CheckoutErrorRate",
            "HealthCheckFailing",
            "SuccessRateBudgetBurn"
        ]
    );
    assert_eq!(
        slack.names(),
        [
            "OrdersQualityLow",
            "SlowReportLatencyP99",
            "SuccessRateBudgetBurn"
        ]
    );

    // Labels and annotations, as declared.
    let error_rate = pagerduty.wait_alert("CheckoutErrorRate", "firing");
    assert_eq!(
        labels(&error_rate),
        pairs(&[
            ("alertname", "CheckoutErrorRate"),
            ("function", "checkout"),
            ("instance", &addr),
            ("service_name", "shop"),
            ("severity", "page"),
            ("team", "payments"),
        ]),
        "{error_rate:#}"
    );
    let annotations = &error_rate["annotations"];
    assert_eq!(
        annotations["summary"],
        "shop: more than 5% of `checkout` calls fail (over 10s)"
    );
    assert!(
        annotations["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("The share of failed calls over the last 10s is 0.")),
        "{annotations}"
    );
    assert_eq!(
        annotations["runbook_url"],
        "https://runbooks.example.com/checkout"
    );
    assert_eq!(error_rate["generatorURL"], format!("http://{addr}/status"));
    let quality = slack.wait_alert("OrdersQualityLow", "firing");
    assert_eq!(
        labels(&quality),
        pairs(&[
            ("alertname", "OrdersQualityLow"),
            ("instance", &addr),
            ("pipeline", "orders"),
            ("service_name", "shop"),
            ("severity", "ticket"),
        ])
    );
    assert_eq!(
        quality["annotations"]["summary"],
        "shop: `orders_data_quality_ratio` below 0.95"
    );
    let health = pagerduty.wait_alert("HealthCheckFailing", "firing");
    assert_eq!(health["labels"]["check"], "ledger");

    // The objective's burn alerts: page and ticket windows, grouped by alert per receiver.
    for (hook, severity, windows) in [
        (&pagerduty, "page", ["1h", "6h"]),
        (&slack, "ticket", ["1d", "3d"]),
    ] {
        let grouped = hook
            .all()
            .into_iter()
            .find(|n| {
                n["groupLabels"]["alertname"] == "SuccessRateBudgetBurn" && n["status"] == "firing"
            })
            .expect("a burn notification");
        assert_eq!(grouped["groupLabels"]["service_name"], "shop");
        let mut got: Vec<&str> = grouped["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["labels"]["window"].as_str().unwrap())
            .collect();
        got.sort_unstable();
        assert_eq!(
            got, windows,
            "one notification holds both {severity} windows: {grouped:#}"
        );
        let burn = alert_with(hook, "SuccessRateBudgetBurn", "window", windows[0]).unwrap();
        assert_eq!(burn["labels"]["objective_name"], "checkout");
        assert_eq!(burn["labels"]["objective_percentile"], "99");
        assert_eq!(burn["labels"]["sli"], "success_rate");
        assert_eq!(burn["labels"]["severity"], severity);
    }

    // After recovery, every group gets its resolved notification.
    for name in [
        "CheckoutErrorRate",
        "HealthCheckFailing",
        "SuccessRateBudgetBurn",
    ] {
        pagerduty.wait_alert(name, "resolved");
    }
    for name in [
        "OrdersQualityLow",
        "SlowReportLatencyP99",
        "SuccessRateBudgetBurn",
    ] {
        slack.wait_alert(name, "resolved");
    }
}

#[test]
#[ignore = "child process of `a_workload_breaks_then_recovers_and_each_alert_is_routed_grouped_and_resolved`"]
fn workload_breaks_then_recovers() {
    child::enter("workload_breaks_then_recovers");
    let guard = install(&[]);
    let metrics = format!("http://{}/metrics", guard.local_addr().unwrap());

    LEDGER_DOWN.store(true, Ordering::Relaxed);
    ORDERS_DATA_QUALITY_RATIO { pipeline: "orders" }.set(0.8);
    for _ in 0..5 {
        slow_report(60);
    }
    until_firing(
        &[
            "CheckoutErrorRate",
            "HealthCheckFailing",
            "OrdersQualityLow",
            "SlowReportLatencyP99",
            "SuccessRateBudgetBurn",
        ],
        true,
    );
    let text = http::get(&metrics).unwrap().body;
    assert_eq!(
        sample_with(
            &text,
            "flext_alerts_firing",
            &[("alertname", "SuccessRateBudgetBurn"), ("severity", "page")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample_with(
            &text,
            "flext_alerts_firing",
            &[("alertname", "CheckoutErrorRate"), ("severity", "page")]
        ),
        Some(1.0)
    );
    let firing = flext_observability::alerts::firing();
    assert_eq!(
        firing[0].severity,
        flext_observability::alerts::Severity::Page,
        "pages first"
    );

    // Recovery: healthy again, quality back, and enough good calls that every window's
    // error ratio falls below the slowest burn rate (1 % of calls).
    LEDGER_DOWN.store(false, Ordering::Relaxed);
    ORDERS_DATA_QUALITY_RATIO { pipeline: "orders" }.set(0.99);
    for _ in 0..2_000 {
        slow_report(0);
    }
    for _ in 0..400_000 {
        let _ = checkout(false);
    }
    let quiet = eventually(PATIENCE, || {
        let _ = checkout(false);
        firing_names().is_empty().then_some(())
    });
    assert!(quiet.is_some(), "still firing: {:?}", firing_names());
    let text = http::get(&metrics).unwrap().body;
    assert_eq!(
        sample_with(
            &text,
            "flext_alerts_firing",
            &[("alertname", "CheckoutErrorRate"), ("severity", "page")]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample_with(&text, "flext_alerts_dropped_total", &[]),
        Some(0.0)
    );
    // Dropping the guard hands the last resolutions over before it returns.
    drop(guard);
}

#[test]
fn an_alertmanager_down_then_up_loses_nothing_that_still_fires_and_blocks_nothing() {
    if !alertmanager_or_skip() {
        return;
    }
    let out = Child::new("alertmanager_down_then_up").run();
    // Reported once when it went away, once when it came back.
    assert_eq!(out.matches("is unreachable").count(), 1, "{out}");
    assert_eq!(out.matches("answers again").count(), 1, "{out}");
}

#[test]
#[ignore = "child process of `an_alertmanager_down_then_up_loses_nothing_that_still_fires_and_blocks_nothing`"]
fn alertmanager_down_then_up() {
    child::enter("alertmanager_down_then_up");
    let (pagerduty, slack) = (Hook::start(), Hook::start());
    let port = free_port();
    let guard = install(&[format!("http://127.0.0.1:{port}")]);
    let metrics = format!("http://{}/metrics", guard.local_addr().unwrap());

    ORDERS_DATA_QUALITY_RATIO { pipeline: "orders" }.set(0.5);
    until_firing(&["CheckoutErrorRate", "OrdersQualityLow"], true);
    // Calls and scrapes go on at full speed while nothing answers.
    let started = Instant::now();
    for i in 0..200_000 {
        let _ = checkout(i % 10 < 3);
    }
    let calls = started.elapsed();
    let scrape = Instant::now();
    let text = http::get(&metrics).unwrap().body;
    assert!(text.contains("flext_alerts_firing"), "{text}");
    assert!(
        calls < Duration::from_secs(5) && scrape.elapsed() < Duration::from_secs(2),
        "calls took {calls:?}, a scrape {:?}",
        scrape.elapsed()
    );
    // One alert resolves during the outage; the other still fires when it ends.
    ORDERS_DATA_QUALITY_RATIO { pipeline: "orders" }.set(0.99);
    let resolved = eventually(PATIENCE, || {
        (!firing_names().contains(&"OrdersQualityLow".to_owned())).then_some(())
    });
    assert!(resolved.is_some());
    assert!(firing_names().contains(&"CheckoutErrorRate".to_owned()));

    let am = Manager::start(&routing(&pagerduty, &slack), Some(port));
    let alert = pagerduty.wait_alert("CheckoutErrorRate", "firing");
    assert_eq!(alert["labels"]["function"], "checkout");
    // What resolved meanwhile reaches Alertmanager resolved, never as firing.
    let quality: Vec<Value> = slack
        .alerts()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == "OrdersQualityLow")
        .collect();
    assert!(
        quality.iter().all(|a| a["status"] != "firing"),
        "{quality:#?}"
    );
    let text = http::get(&metrics).unwrap().body;
    assert_eq!(
        sample_with(&text, "flext_alerts_dropped_total", &[]),
        Some(0.0)
    );
    drop(guard);
    drop(am);
}

#[test]
fn two_alertmanagers_both_receive() {
    if !alertmanager_or_skip() {
        return;
    }
    Child::new("two_alertmanagers").run();
}

#[test]
#[ignore = "child process of `two_alertmanagers_both_receive`"]
fn two_alertmanagers() {
    child::enter("two_alertmanagers");
    let (a, b) = (Hook::start(), Hook::start());
    let am_a = Manager::start(&routing(&a, &a), None);
    let am_b = Manager::start(&routing(&b, &b), None);
    let guard = install(&[am_a.url(), am_b.url()]);
    until_firing(&["CheckoutErrorRate"], true);
    for hook in [&a, &b] {
        let alert = hook.wait_alert("CheckoutErrorRate", "firing");
        assert_eq!(alert["labels"]["team"], "payments");
    }
    drop(guard);
}

#[test]
fn a_silence_set_through_the_api_suppresses_the_notification() {
    if !alertmanager_or_skip() {
        return;
    }
    Child::new("silenced").run();
}

#[test]
#[ignore = "child process of `a_silence_set_through_the_api_suppresses_the_notification`"]
fn silenced() {
    child::enter("silenced");
    let (pagerduty, slack) = (Hook::start(), Hook::start());
    let am = Manager::start(&routing(&pagerduty, &slack), None);
    let silence = am.silence("OrdersQualityLow");
    let guard = install(&[am.url()]);
    ORDERS_DATA_QUALITY_RATIO { pipeline: "orders" }.set(0.5);
    for _ in 0..5 {
        slow_report(60);
    }
    until_firing(&["OrdersQualityLow", "SlowReportLatencyP99"], false);
    // Both tickets reached Alertmanager in the same batch, each its own group: the
    // unsilenced one is notified, the silenced one is held.
    slack.wait_alert("SlowReportLatencyP99", "firing");
    let held = am.wait_alert("OrdersQualityLow");
    assert_eq!(held["status"]["state"], "suppressed", "{held:#}");
    assert_eq!(held["status"]["silencedBy"][0], silence.as_str());
    std::thread::sleep(Duration::from_secs(1)); // two more group intervals, for certainty
    assert!(
        !slack.names().contains(&"OrdersQualityLow".to_owned()),
        "a silenced alert was notified: {:#?}",
        slack.all()
    );
    drop(guard);
}

#[test]
fn prometheus_running_the_generated_rules_fires_the_same_alerts_on_the_same_data() {
    if !alertmanager_or_skip() {
        return;
    }
    let Some(_) = flext_observability_tests::servers::which("prometheus") else {
        missing("Prometheus", "apt-get install prometheus");
        return;
    };
    Child::new("same_data").run();
}

#[test]
#[ignore = "child process of `prometheus_running_the_generated_rules_fires_the_same_alerts_on_the_same_data`"]
fn same_data() {
    use flext_observability::artifacts::Artifacts;
    use flext_observability_tests::servers::{Prometheus, Target};

    child::enter("same_data");
    let guard = install(&[]);
    let addr = guard.local_addr().unwrap();
    let rules = Artifacts::from_catalog()
        .service_name("shop")
        .prometheus_rules();
    let prometheus = require!(
        Prometheus::start_with(
            &[Target::new("shop", addr)],
            Duration::from_secs(1),
            "",
            Some(&rules)
        ),
        "Prometheus",
        "apt-get install prometheus"
    );
    ORDERS_DATA_QUALITY_RATIO { pipeline: "orders" }.set(0.8);
    let names = [
        "CheckoutErrorRate",
        "OrdersQualityLow",
        "SuccessRateBudgetBurn",
    ];
    // Keep breaking until Prometheus fires them too, from its scrapes of this process.
    let firing = eventually(PATIENCE, || {
        for i in 0..10 {
            let _ = checkout(i < 3);
        }
        let body = http::get(&format!("{}/api/v1/alerts", prometheus.base_url()))
            .ok()?
            .body;
        let json: Value = serde_json::from_str(&body).ok()?;
        let alerts: Vec<Value> = json["data"]["alerts"]
            .as_array()?
            .iter()
            .filter(|a| a["state"] == "firing")
            .cloned()
            .collect();
        let ours = firing_names();
        names
            .iter()
            .all(|n| {
                alerts.iter().any(|a| a["labels"]["alertname"] == *n) && ours.iter().any(|o| o == n)
            })
            .then_some(alerts)
    })
    .unwrap_or_else(|| panic!("not firing on both sides: in process {:?}", firing_names()));
    let ours = flext_observability::alerts::firing();
    let theirs = |name: &str, key: &str, value: &str| {
        firing
            .iter()
            .find(|a| a["labels"]["alertname"] == name && a["labels"][key] == value)
            .map_or_else(
                || panic!("Prometheus has no {name} with {key}={value}: {firing:#?}"),
                labels,
            )
    };
    let mine = |name: &str, key: &str, value: &str| {
        ours.iter()
            .find(|a| a.name == name && a.labels.iter().any(|(k, v)| k == key && v == value))
            .map_or_else(
                || panic!("no {name} with {key}={value} in process: {ours:#?}"),
                |a| a.labels.clone(),
            )
    };
    // The declared threshold, per instance: the very same labels.
    assert_eq!(
        theirs("CheckoutErrorRate", "function", "checkout"),
        mine("CheckoutErrorRate", "function", "checkout")
    );
    // The gauge: Prometheus adds the scrape's `job`.
    let mut prom = theirs("OrdersQualityLow", "pipeline", "orders");
    prom.retain(|(k, _)| k != "job");
    assert_eq!(prom, mine("OrdersQualityLow", "pipeline", "orders"));
    // The objective: the rule sums every instance, so no `instance` label there.
    for window in ["1h", "6h", "1d", "3d"] {
        let mut inproc = mine("SuccessRateBudgetBurn", "window", window);
        inproc.retain(|(k, _)| k != "instance");
        assert_eq!(theirs("SuccessRateBudgetBurn", "window", window), inproc);
    }
    drop(prometheus);
    drop(guard);
}

#[test]
fn the_alerting_example_gets_both_alerts_to_alertmanager_firing_then_resolved() {
    if !alertmanager_or_skip() {
        return;
    }
    let (pagerduty, slack) = (Hook::start(), Hook::start());
    let am = Manager::start(&routing(&pagerduty, &slack), None);
    let out = Child::new("alerting_example")
        .env("FLEXT_OBS_ALERTMANAGER_URL", &am.url())
        .run();
    assert!(
        out.contains("ChargeCardErrorRate is resolved in Alertmanager"),
        "{out}"
    );
    let page = pagerduty.wait_alert("ChargeCardErrorRate", "firing");
    assert_eq!(page["labels"]["service_name"], "payments");
    assert_eq!(
        page["annotations"]["runbook_url"],
        "https://runbooks.example.com/payments/charge-card"
    );
    pagerduty.wait_alert("ChargeCardErrorRate", "resolved");
    let ticket = slack.wait_alert("LowDataQuality", "firing");
    assert_eq!(ticket["labels"]["pipeline"], "payments");
    slack.wait_alert("LowDataQuality", "resolved");
}

#[test]
#[ignore = "child process of `the_alerting_example_gets_both_alerts_to_alertmanager_firing_then_resolved`"]
fn alerting_example() {
    child::enter("alerting_example");
    // As `examples/alerting.rs` installs it.
    let guard = Observability::builder()
        .service_name("payments")
        .listen("127.0.0.1:0")
        .system_checks(false)
        .alert_evaluation_interval(Duration::from_secs(1))
        .install()
        .expect("install");
    let scenario = alerting::Scenario {
        alertmanager: std::env::var("FLEXT_OBS_ALERTMANAGER_URL").ok(),
        ..alerting::Scenario::default()
    };
    let report = alerting::run(&scenario, |line| println!("{line}"));
    assert!(report.complete(), "{report:?}");
    drop(guard);
}
