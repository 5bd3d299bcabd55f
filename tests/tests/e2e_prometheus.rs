//! A real Prometheus scrapes a process using the framework; PromQL returns exactly the
//! calls made.

#![allow(clippy::float_cmp)] // samples are exact counts read back as f64

use std::time::Duration;

use flext_observability::{Observability, monitor};
use flext_observability_tests::require;
use flext_observability_tests::servers::{Prometheus, Target};

#[derive(Debug)]
struct Rejected;

#[monitor]
fn handle_order(id: u32) -> Result<u32, Rejected> {
    if id.is_multiple_of(4) {
        Err(Rejected)
    } else {
        Ok(id)
    }
}

#[monitor]
async fn fetch_inventory(sku: u32) -> u32 {
    tokio::task::yield_now().await;
    sku * 2
}

#[test]
fn prometheus_scrapes_exact_call_counts() {
    let guard = Observability::builder()
        .service_name("e2e-orders")
        .listen("127.0.0.1:0")
        .install()
        .expect("install");
    let addr = guard.local_addr().expect("server runs");

    let mut errors = 0;
    for id in 1..=103 {
        if handle_order(id).is_err() {
            errors += 1;
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..57).map(|i| tokio::spawn(fetch_inventory(i))).collect();
        for t in tasks {
            t.await.unwrap();
        }
    });

    let prometheus = require!(
        Prometheus::start(&[Target::new("orders", addr)], Duration::from_millis(500)),
        "Prometheus",
        "apt-get install prometheus"
    );
    let wait = Duration::from_secs(30);
    let ok = prometheus
        .wait_for(
            r#"function_calls_total{job="orders",function="handle_order",result="ok"}"#,
            wait,
            |v| v > 0.0,
        )
        .unwrap();
    assert_eq!(ok, f64::from(103 - errors));
    let err = prometheus
        .scalar(
            r#"function_calls_total{job="orders",function="handle_order",result="error",error=""}"#,
        )
        .unwrap();
    assert_eq!(err, f64::from(errors));
    let fetched = prometheus
        .wait_for(
            r#"sum(function_calls_total{job="orders",function="fetch_inventory"})"#,
            wait,
            |v| v > 0.0,
        )
        .unwrap();
    assert_eq!(fetched, 57.0);
    let count = prometheus
        .scalar(r#"function_calls_duration_seconds_count{job="orders",function="fetch_inventory"}"#)
        .unwrap();
    assert_eq!(count, 57.0);
    let in_flight = prometheus
        .scalar(r#"function_calls_concurrent{job="orders",function="fetch_inventory"}"#)
        .unwrap();
    assert_eq!(in_flight, 0.0);
    let build = prometheus.query(r#"build_info{job="orders"}"#);
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(build[0]["metric"]["service_name"], "e2e-orders");
    assert_eq!(build[0]["metric"]["crate"], "flext-observability-tests");
    drop(guard);
}
