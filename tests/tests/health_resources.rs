//! Parameters of health checks come from values registered on the builder, by type; a
//! missing one makes `install()` fail naming the type and the check.

use std::time::Duration;

use flext_observability::health::HealthReport;
use flext_observability::{Error, Observability, health_check};
use flext_observability_tests::{eventually, http};
use serde_json::Value;

/// Shared by reference.
struct Pool {
    name: String,
    connections: u32,
}

/// Cloned for every run.
#[derive(Clone)]
struct Limits {
    min_connections: u32,
}

#[health_check(interval = "100ms")]
async fn pool(pool: &Pool, limits: Limits) -> HealthReport {
    tokio::task::yield_now().await;
    let report = if pool.connections >= limits.min_connections {
        HealthReport::healthy()
    } else {
        HealthReport::degraded("pool below its minimum")
    };
    report
        .observed(f64::from(pool.connections), "connections")
        .detail("pool", &pool.name)
}

#[test]
fn missing_resources_fail_install_naming_types_and_check() {
    let err = Observability::builder()
        .without_server()
        .resource(Limits { min_connections: 1 })
        .install()
        .unwrap_err();
    let Error::Config { source, reason } = &err else {
        panic!("expected a configuration error, got {err}");
    };
    assert_eq!(source, "resource");
    assert!(reason.contains("health check `pool`"), "{reason}");
    assert!(reason.contains("tests/health_resources.rs:"), "{reason}");
    assert!(reason.contains("health_resources::Pool"), "{reason}");
    assert!(!reason.contains("Limits"), "only what is missing: {reason}");
    assert!(
        reason.contains(".resource(value)"),
        "the fix is named: {reason}"
    );
}

#[test]
fn resources_reach_the_check() {
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .system_checks(false)
        .health_details(true)
        .resource(Pool {
            name: "orders-db".into(),
            connections: 3,
        })
        .resource(Limits { min_connections: 5 })
        .install()
        .expect("install");
    let url = format!("http://{}/health/pool", guard.local_addr().unwrap());
    let body: Value = eventually(Duration::from_secs(30), || {
        let response = http::get(&url).ok()?;
        let body: Value = serde_json::from_str(&response.body).ok()?;
        (body["status"] != "fail").then_some(body)
    })
    .expect("the check ran");
    let check = &body["checks"]["pool"][0];
    assert_eq!(check["status"], "warn", "{body}");
    assert_eq!(check["output"], "pool below its minimum");
    assert_eq!(check["observedValue"], 3);
    assert_eq!(check["observedUnit"], "connections");
    assert_eq!(check["details"]["pool"], "orders-db");
    drop(guard);
}
