//! The status page (issue 15): a known workload, then `/status.json` checked against
//! `/metrics` read at the same moment and against the workload's counts and timing; the
//! page loaded in a real headless chromium (no console error, nothing its CSP blocks,
//! the workload's rows, a screenshot), valid by the W3C checker and without serious
//! axe-core violations; panics in a thread and in a monitored async task counted,
//! logged with their trace id, kept among the recent failures, and passed on to the
//! hook that was there before.

#![allow(clippy::float_cmp)] // counts are exact values read back as f64

#[path = "status/panics.rs"]
mod panics;
#[path = "status/tools.rs"]
mod tools;

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use flext_observability::health::Status;
use flext_observability::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use flext_observability::trace::current_trace_id;
use flext_observability::{Counter, Observability, business_metric, health_check, monitor};
use flext_observability_tests::{eventually, http, missing, sample_with};
use serde_json::Value;

const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

#[derive(Debug)]
struct Declined(u32);

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card declined by the issuer (code {})", self.0)
    }
}

/// The trace of the call that failed on purpose.
static FAILED_TRACE: Mutex<Option<String>> = Mutex::new(None);

/// The declined charge fires `ChargeCardDeclined` (in-process alerting): the page lists it.
#[monitor(
    objective = CHECKOUT,
    alert(name = "ChargeCardDeclined", errors > 0, over = "1m", for = "0s", severity = "page")
)]
fn charge_card(cents: u64) -> Result<u64, Declined> {
    if cents == 0 {
        *FAILED_TRACE.lock().unwrap() = current_trace_id();
        return Err(Declined(51));
    }
    Ok(cents)
}

/// Known timing: at least `INVENTORY_MS` each.
const INVENTORY_MS: u64 = 15;

#[monitor]
fn load_inventory() -> u64 {
    std::thread::sleep(Duration::from_millis(INVENTORY_MS));
    7
}

#[monitor]
async fn ship_order(id: u64) -> Result<u64, String> {
    tokio::task::yield_now().await;
    Ok(id)
}

#[monitor]
fn never_called() {}

#[health_check(critical, interval = "1s")]
fn payments_gateway() -> Result<(), String> {
    Err("gateway unreachable: connection refused".into())
}

#[health_check(interval = "1s")]
fn cache() -> Status {
    Status::Healthy
}

/// Orders placed, by channel.
#[business_metric(labels(channel))]
static STATUS_ORDERS_PLACED_TOTAL: Counter;

const CHARGES: u64 = 40;
const INVENTORY_CALLS: u64 = 25;
const SHIPMENTS: u64 = 5;

fn json(addr: std::net::SocketAddr) -> Value {
    let resp = http::get(&format!("http://{addr}/status.json")).expect("GET /status.json");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    serde_json::from_str(&resp.body).expect("/status.json is JSON")
}

fn function<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == name)
        .unwrap_or_else(|| panic!("{name} in /status.json"))
}

/// The `q` quantile of a function's histogram, as `histogram_quantile` computes it, from
/// `/metrics` (cumulative `_bucket` lines).
fn quantile_from_metrics(text: &str, function: &str, q: f64) -> f64 {
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| {
            l.starts_with("function_calls_duration_seconds_bucket{")
                && l.contains(&format!("function=\"{function}\""))
        })
        .map(|l| {
            let le = l.split(",le=\"").nth(1).unwrap().split('"').next().unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, l.rsplit(' ').next().unwrap().parse().unwrap())
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().unwrap().1;
    let rank = q * total;
    let b = buckets.iter().position(|(_, c)| *c >= rank).unwrap();
    if b == buckets.len() - 1 {
        return buckets[b - 1].0;
    }
    let (start, below) = if b == 0 { (0.0, 0.0) } else { buckets[b - 1] };
    let (end, upto) = buckets[b];
    start + (end - start) * ((rank - below) / (upto - below))
}

/// The status line and headers of `GET path`.
fn raw_head(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split("\r\n\r\n").next().unwrap().to_owned() + "\r\n"
}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn status_page_shows_the_workload_in_json_and_in_a_browser() {
    let installed = Instant::now();
    let guard = Observability::builder()
        .service_name("shop")
        .listen("127.0.0.1:0")
        .health_details(true)
        .system_checks(false)
        .status_sample_interval(Duration::from_secs(1))
        .alert_evaluation_interval(Duration::from_millis(200))
        .trace_url_template("http://jaeger.example:16686/trace/{trace_id}")
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();

    for _ in 0..CHARGES {
        charge_card(1250).unwrap();
    }
    charge_card(0).unwrap_err();
    let failed_trace = FAILED_TRACE
        .lock()
        .unwrap()
        .clone()
        .expect("a sampled trace");
    let inventory_start = Instant::now();
    for _ in 0..INVENTORY_CALLS {
        load_inventory();
    }
    let inventory_end = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for id in 0..SHIPMENTS {
        runtime.block_on(ship_order(id)).unwrap();
    }
    STATUS_ORDERS_PLACED_TOTAL { channel: "web" }.inc_by(3u8);
    STATUS_ORDERS_PLACED_TOTAL { channel: "phone" }.inc();

    // A sample after the workload (the sparklines) and the failing check's result.
    let doc = eventually(Duration::from_secs(20), || {
        let doc = json(addr);
        let spark = function(&doc, "load_inventory")["sparkline"]
            .as_array()?
            .clone();
        let failing = doc["health"]["checks"]
            .as_array()?
            .iter()
            .any(|c| c["name"] == "payments_gateway" && c["status"] == "unhealthy");
        // The page draws a sparkline from two points on.
        (failing && spark.len() >= 2 && spark.iter().any(|v| v.as_f64() > Some(0.0))).then_some(doc)
    })
    .expect("a sample with the workload and the failing check within 20 s");

    // The same moment: nothing runs now, so /metrics and /status.json agree exactly.
    let doc_again = json(addr);
    let metrics = http::get(&format!("http://{addr}/metrics")).unwrap().body;
    let doc_after = json(addr);
    for name in [
        "charge_card",
        "load_inventory",
        "ship_order",
        "never_called",
    ] {
        let f = function(&doc_again, name);
        assert_eq!(
            f["calls"],
            function(&doc_after, name)["calls"],
            "{name} is quiet"
        );
        for (result, error, key) in [
            ("ok", None, "ok"),
            ("error", Some("panic"), "panic"),
            ("cancelled", None, "cancelled"),
        ] {
            let mut labels = vec![("function", name), ("result", result)];
            if let Some(e) = error {
                labels.push(("error", e));
            }
            let from_metrics = sample_with(&metrics, "function_calls_total", &labels)
                .unwrap_or_else(|| panic!("{name} {result} in /metrics"));
            assert_eq!(f["calls"][key].as_f64(), Some(from_metrics), "{name} {key}");
        }
        let sum = sample_with(
            &metrics,
            "function_calls_duration_seconds_sum",
            &[("function", name)],
        )
        .unwrap();
        let status_sum = f["duration_seconds_sum"].as_f64().unwrap();
        assert!(
            (status_sum - sum).abs() <= 1e-9 * sum.max(1.0),
            "{name}: {status_sum} vs {sum}"
        );
        let in_flight =
            sample_with(&metrics, "function_calls_concurrent", &[("function", name)]).unwrap();
        assert_eq!(f["in_flight"].as_f64(), Some(in_flight));
    }
    let charge = function(&doc_again, "charge_card");
    assert_eq!(charge["calls"]["ok"], CHARGES);
    assert_eq!(charge["calls"]["error"], 1);
    assert_eq!(function(&doc_again, "ship_order")["calls"]["ok"], SHIPMENTS);
    assert_eq!(function(&doc_again, "never_called")["attention"], "idle");
    let orders = doc_again["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "status_orders_placed_total")
        .expect("the business metric among the metrics");
    for series in orders["series"].as_array().unwrap() {
        let channel = series["labels"]["channel"].as_str().unwrap();
        assert_eq!(
            series["value"].as_f64(),
            sample_with(
                &metrics,
                "status_orders_placed_total",
                &[("channel", channel)]
            )
        );
    }
    assert_eq!(orders["series"].as_array().unwrap().len(), 2);

    // Rates and quantiles against the known workload: every call is inside the 1-minute
    // window, whose length is what the rate divides by.
    let elapsed = installed.elapsed().as_secs_f64();
    assert!(
        elapsed < 55.0,
        "the checks below assume a young process ({elapsed} s)"
    );
    let inventory = function(&doc, "load_inventory");
    let one = &inventory["windows"]["1m"];
    let seconds = doc["windows"][0]["seconds"].as_f64().unwrap();
    assert!(
        seconds >= inventory_end.duration_since(installed).as_secs_f64() && seconds <= elapsed,
        "the window covers the workload: {seconds} s of {elapsed} s"
    );
    assert_eq!(one["calls"], INVENTORY_CALLS);
    let rate = one["rate"].as_f64().unwrap();
    assert!(
        (rate * seconds - INVENTORY_CALLS as f64).abs() < 1e-6,
        "{rate}/s over {seconds} s"
    );
    let busy = inventory_end.duration_since(inventory_start).as_secs_f64();
    assert!(
        rate <= INVENTORY_CALLS as f64 / busy,
        "{rate}/s at most the calls over their own span"
    );
    // Every call slept at least 15 ms: every quantile lies above the 10 ms bound (the
    // highest below 15 ms), and equals what `histogram_quantile` gives from /metrics.
    let minimum = INVENTORY_MS as f64 / 1000.0;
    for q in ["p50", "p95", "p99"] {
        let value = one[q].as_f64().unwrap();
        assert!(value > 0.01 && value <= 10.0, "{q} {value}");
        let expected = quantile_from_metrics(
            &metrics,
            "load_inventory",
            match q {
                "p50" => 0.5,
                "p95" => 0.95,
                _ => 0.99,
            },
        );
        assert!(
            (value - expected).abs() < 1e-9,
            "{q}: {value} vs histogram_quantile {expected}"
        );
    }
    assert_eq!(charge["objective"]["name"], "checkout");
    assert_eq!(charge["objective"]["success_rate_percent"], 99.9);
    // 1 error in 41 calls against a 0.1 % budget: spent, and it shows first.
    assert!(charge["objective"]["success_budget_left"].as_f64().unwrap() < 0.0);
    assert_eq!(charge["attention"], "budget spent");
    assert_eq!(doc["functions"][0]["function"], "charge_card");

    // The forced error, with its trace; the slow calls; the failing check.
    let failure = doc["recent_failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["function"] == "charge_card")
        .expect("the forced error among the recent failures");
    assert_eq!(failure["kind"], "error");
    assert_eq!(failure["trace_id"], failed_trace.as_str());
    assert_eq!(
        failure["trace_url"],
        format!("http://jaeger.example:16686/trace/{failed_trace}").as_str()
    );
    assert_eq!(failure["message"], "card declined by the issuer (code 51)");
    assert!(
        failure["error_type"]
            .as_str()
            .unwrap()
            .ends_with("Declined")
    );
    let slow = doc["slowest_calls"].as_array().unwrap();
    assert!(
        slow.iter().any(|s| s["function"] == "load_inventory"
            && s["duration_seconds"].as_f64() >= Some(minimum)),
        "{slow:?}"
    );
    let gateway = doc["health"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "payments_gateway")
        .unwrap();
    assert_eq!(
        gateway["message"],
        "gateway unreachable: connection refused"
    );
    assert_eq!(doc["health"]["status"], "unhealthy");
    // The declined charge's alert, as in-process alerting holds it.
    let doc = eventually(Duration::from_secs(20), || {
        let doc = json(addr);
        doc["alerts"]["firing"]
            .as_array()?
            .iter()
            .any(|a| a["name"] == "ChargeCardDeclined")
            .then_some(doc)
    })
    .expect("ChargeCardDeclined firing on the page within 20 s");
    assert_eq!(doc["alerts"]["enabled"], true);
    let alert = doc["alerts"]["firing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "ChargeCardDeclined")
        .unwrap();
    assert_eq!(alert["severity"], "page");
    assert_eq!(alert["labels"]["service_name"], "shop", "{alert}");
    assert!(doc["slow_queries"].is_array());

    // `/` sends browsers to the page (read raw: the client would follow it).
    let head = raw_head(addr, "/");
    assert!(head.starts_with("HTTP/1.1 302"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nlocation: /status\r\n"),
        "{head}"
    );

    browser_checks(addr, &failed_trace);
    drop(guard);
}

/// The page in chromium, the W3C checker and axe-core.
fn browser_checks(addr: std::net::SocketAddr, failed_trace: &str) {
    let page = http::get(&format!("http://{addr}/status")).unwrap();
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(!page.body.contains("<script"), "the page runs no script");
    let target = tools::target_dir();
    let html_file = target.join("status-page.html");
    std::fs::write(&html_file, &page.body).unwrap();

    if let Err(why) = tools::browser_available() {
        missing("headless chromium with Selenium", &why);
        return;
    }
    let npm = match tools::npm_packages() {
        Ok(npm) => npm,
        Err(why) => {
            missing("vnu-jar and axe-core (npm)", &why);
            return;
        }
    };
    let screenshot = target.join("status-page.png");
    let report = tools::browse(&format!("http://{addr}/status"), &screenshot, &npm.axe_js);
    let logs = report["logs"].as_array().unwrap();
    assert!(
        logs.is_empty(),
        "the browser logged (console errors, CSP violations, failed loads): {logs:#?}"
    );
    assert_eq!(report["title"], "shop status");
    let rows = &report["rows"];
    let functions = rows["Monitored functions"].as_array().unwrap();
    let row = |name: &str| {
        functions
            .iter()
            .filter_map(Value::as_str)
            .find(|r| r.starts_with(name))
            .unwrap_or_else(|| panic!("a row for {name} in {functions:#?}"))
            .to_owned()
    };
    assert!(
        row("charge_card").contains(&format!("{CHARGES} ok, 1 error")),
        "{}",
        row("charge_card")
    );
    assert!(row("load_inventory").contains(&format!("{INVENTORY_CALLS} ok")));
    assert!(row("ship_order").contains(&format!("{SHIPMENTS} ok")));
    assert!(row("never_called").contains("idle"));
    let checks = rows["Health checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .filter_map(Value::as_str)
            .any(|r| r.starts_with("payments_gateway unhealthy")
                && r.contains("gateway unreachable")),
        "{checks:#?}"
    );
    let alerts = rows["Firing alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .filter_map(Value::as_str)
            .any(|r| r.starts_with("ChargeCardDeclined page")),
        "{alerts:#?}"
    );
    let failures = rows["Failed calls, newest first"].as_array().unwrap();
    assert!(
        failures
            .iter()
            .filter_map(Value::as_str)
            .any(|r| r.starts_with("charge_card") && r.contains(failed_trace)),
        "{failures:#?}"
    );
    // The hashed stylesheet applied: badges have their background.
    let style = &report["badge_style"];
    assert_ne!(style["background"], "rgba(0, 0, 0, 0)", "{style}");
    assert!(report["svg_count"].as_u64() > Some(0), "sparklines drawn");
    let bytes = report["screenshot_bytes"].as_u64().unwrap();
    assert!(
        bytes > 20_000,
        "the screenshot {} has {bytes} bytes",
        screenshot.display()
    );
    let axe = report["axe"]
        .as_array()
        .unwrap_or_else(|| panic!("axe: {}", report["axe"]));
    let serious: Vec<&Value> = axe
        .iter()
        .filter(|v| matches!(v[1].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "serious accessibility violations: {serious:#?}"
    );
    match tools::html_errors(&npm.vnu_jar, &html_file) {
        Ok(errors) => assert!(errors.is_empty(), "the W3C checker: {errors}"),
        Err(why) => missing("the W3C HTML checker (Java)", &why),
    }
}

#[test]
fn panics_are_counted_logged_and_kept() {
    panics::parent();
}

#[test]
#[ignore = "child process of `panics_are_counted_logged_and_kept`, which runs it"]
fn panics_child() {
    panics::child();
}
