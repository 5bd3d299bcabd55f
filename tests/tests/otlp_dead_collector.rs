//! A collector that accepts connections and never answers: monitored calls proceed,
//! memory stays bounded (the span queue drops instead of growing), every span is
//! accounted for on `/metrics` (exported, dropped on arrival, or failed), and dropping the
//! guard gives up on the collector within a bounded time however long the export
//! timeout.

#![allow(clippy::float_cmp)] // samples are exact counts read back as f64

use std::time::{Duration, Instant};

use flext_observability::{Observability, monitor};
use flext_observability_tests::otlp::Blackhole;
use flext_observability_tests::{eventually, http, sample};

#[monitor]
fn work(i: u64) -> u64 {
    i.wrapping_mul(2_654_435_761)
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_proceed_memory_is_bounded_and_drops_are_counted() {
    const QUEUE: usize = 64;
    let collector = Blackhole::start();
    // No built-in system checks: each of their runs is a span too, and this test accounts
    // for every span exactly.
    let guard = Observability::builder()
        .service_name("dead-collector")
        .listen("127.0.0.1:0")
        .system_checks(false)
        .otlp_endpoint(format!("http://{}", collector.addr))
        .otlp_timeout(Duration::from_millis(300))
        .otlp_queue_size(QUEUE)
        .metric_export_interval(Duration::from_millis(100))
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();

    let calls = 20_000u64;
    let before = rss();
    for round in 0..5 {
        let mut acc = 0u64;
        for i in 0..calls {
            acc = acc.wrapping_add(work(i + round));
        }
        assert_ne!(acc, 0);
    }
    let after = rss();

    let text = http::get(&format!("http://{addr}/metrics")).unwrap().body;
    let counter = |text: &str, name: &str, labels: &str| {
        sample(text, &format!(r#"{name}{{signal="traces"{labels}}}"#))
            .expect("the exporter's counters are served")
    };
    let queue_full = counter(&text, "flext_otlp_dropped_total", r#",reason="queue_full""#);
    assert!(queue_full > 0.0, "the queue overflowed and said so");
    // Every span is accounted for: exported, dropped on arrival (queue full), or dropped
    // after its export failed. Once the exporter has worked through its queue (at most
    // the queue and one batch are in flight), the three add up to every call.
    let total = (5 * calls) as f64;
    let accounted = eventually(Duration::from_mins(1), || {
        let text = http::get(&format!("http://{addr}/metrics")).ok()?.body;
        let sum = counter(&text, "flext_otlp_exported_total", "")
            + counter(&text, "flext_otlp_dropped_total", r#",reason="queue_full""#)
            + counter(
                &text,
                "flext_otlp_dropped_total",
                r#",reason="export_failed""#,
            );
        (sum == total).then_some(sum)
    });
    assert_eq!(accounted, Some(total), "every span accounted for");
    if let (Some(before), Some(after)) = (before, after) {
        // 100,000 spans kept in memory would take far more than this.
        assert!(
            after.saturating_sub(before) < 48 << 20,
            "memory grew by {} bytes",
            after - before
        );
    }
    let calls_counted = sample(
        &text,
        r#"function_calls_total{function="work",module="otlp_dead_collector",service_name="dead-collector",result="ok"}"#,
    )
    .unwrap();
    assert_eq!(calls_counted, (5 * calls) as f64);

    // Metric exports time out against the blackhole and are counted as dropped.
    let failed = eventually(Duration::from_secs(30), || {
        let text = http::get(&format!("http://{addr}/metrics")).ok()?.body;
        sample(
            &text,
            r#"flext_otlp_dropped_total{signal="metrics",reason="export_failed"}"#,
        )
        .filter(|v| *v > 0.0)
    });
    assert!(failed.is_some(), "failed metric exports are counted");
    // Shutting down waits a bounded time for the dead collector, then gives up.
    drop(guard);

    // With an export timeout of a minute, a final flush could wait out that minute (and
    // one per signal, in turn). Shutting down waits a few seconds in total instead.
    // A collector of its own: whatever it receives was sent by this installation.
    let collector = Blackhole::start();
    let guard = Observability::builder()
        .without_server()
        .otlp_endpoint(format!("http://{}", collector.addr))
        .otlp_timeout(Duration::from_mins(1))
        .metric_export_interval(Duration::from_millis(100))
        .install()
        .expect("install again");
    for i in 0..100 {
        work(i);
    }
    // An export is under way (and hanging) when the guard is dropped.
    let sending = eventually(Duration::from_secs(30), || {
        (collector.received() > 0).then_some(())
    });
    assert!(sending.is_some(), "an export reached the dead collector");
    let started = Instant::now();
    drop(guard);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "dropping the guard took {took:?} against a dead collector"
    );
}

/// Installs from the environment alone (a collector that refuses connections), makes
/// calls until failed exports are counted, then stops: what it prints is what a user
/// sees.
#[test]
#[ignore = "child process of `a_dead_collector_is_not_silent`, which runs it"]
fn child_refused_collector() {
    flext_observability_tests::child::enter("child_refused_collector");
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .system_checks(false)
        .install()
        .expect("install");
    let url = format!("http://{}/metrics", guard.local_addr().unwrap());
    let failed = eventually(Duration::from_secs(30), || {
        for i in 0..100 {
            work(i);
        }
        let text = http::get(&url).ok()?.body;
        sample(
            &text,
            r#"flext_otlp_dropped_total{signal="traces",reason="export_failed"}"#,
        )
        .filter(|v| *v > 0.0)
    });
    println!("EXPORT_FAILED {}", failed.is_some());
    drop(guard);
    println!("STOPPED");
}

#[test]
fn a_dead_collector_is_not_silent() {
    let out = flext_observability_tests::child::Child::new("child_refused_collector")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://user:S3CRET@127.0.0.1:1",
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
        .run();
    // Failed exports are counted as failed, not as a full queue.
    assert!(out.contains("EXPORT_FAILED true"), "{out}");
    // The warning names the endpoint (credentials withheld) and the error, once.
    assert!(
        out.contains("OTLP trace export to http://***@127.0.0.1:1/v1/traces failed"),
        "{out}"
    );
    assert_eq!(out.matches("OTLP trace export to").count(), 1, "{out}");
    assert!(!out.contains("S3CRET"), "{out}");
    // Shutting down says why it may wait, and for how long.
    assert!(
        out.contains("the OTLP collector failed its last export; flushing waits at most 5s")
            && out.contains("STOPPED"),
        "{out}"
    );
}
