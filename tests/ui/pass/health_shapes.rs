// Every supported shape of `#[health_check]`: sync and async, every return type,
// parameters by reference and by value, lifetimes, every option.
#![deny(warnings)]

use std::fmt;
use std::sync::Arc;

use flext_observability::health::{HealthReport, Kind, Status};
use flext_observability::{Observability, health_check};

#[derive(Debug)]
struct DbError;

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("db error")
    }
}

struct Pool {
    size: u32,
}

#[derive(Clone)]
struct Client(Arc<str>);

#[health_check]
fn sync_result() -> Result<(), String> {
    Ok(())
}

#[health_check]
async fn async_result() -> Result<(), DbError> {
    Err(DbError)
}

#[health_check]
fn report() -> HealthReport {
    HealthReport::degraded("slow").observed(2.5, "s").detail("replica", 2)
}

#[health_check]
async fn report_or_error() -> Result<HealthReport, std::io::Error> {
    Ok(HealthReport::healthy())
}

#[health_check]
fn status() -> Status {
    Status::Healthy
}

#[health_check]
fn status_or_error() -> Result<Status, &'static str> {
    Ok(Status::Degraded)
}

#[health_check]
fn boolean() -> bool {
    true
}

#[health_check]
fn by_reference(pool: &Pool) -> Result<(), String> {
    if pool.size > 0 { Ok(()) } else { Err("empty".into()) }
}

#[health_check]
async fn by_value_and_reference(client: Client, pool: &Pool) -> Result<(), String> {
    let _ = (client.0.len(), pool.size);
    Ok(())
}

#[health_check]
fn with_lifetime<'a>(pool: &'a Pool) -> Result<(), &'a str> {
    if pool.size > 0 { Ok(()) } else { Err("empty") }
}

#[health_check(
    name = "orders-db:connections",
    timeout = "250ms",
    interval = "2s",
    critical,
    kind = liveness,
    groups = ["database", "orders"],
    failure_threshold = 3,
    success_threshold = 2
)]
async fn every_option() -> Result<(), String> {
    Ok(())
}

#[health_check(kind = "startup", critical = false)]
fn quoted_kind() -> bool {
    true
}

#[health_check(kind = readiness, critical = true)]
pub(crate) fn r#type() -> bool {
    true
}

// Compiled out: no registration either.
#[cfg(any())]
#[health_check]
fn compiled_out() -> bool {
    true
}

fn outer() -> bool {
    // A check declared inside a function body registers too.
    #[health_check]
    fn nested() -> bool {
        true
    }
    nested()
}

fn main() {
    let _ = outer();
    let guard = Observability::builder()
        .without_server()
        .system_checks(false)
        .resource(Pool { size: 1 })
        .resource(Client(Arc::from("http://x")))
        .install()
        .expect("install");
    let snapshot = flext_observability::health::snapshot().unwrap();
    let names: Vec<&str> = snapshot.checks().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "async_result",
            "boolean",
            "by_reference",
            "by_value_and_reference",
            "nested",
            "orders-db:connections",
            "quoted_kind",
            "report",
            "report_or_error",
            "status",
            "status_or_error",
            "sync_result",
            "type",
            "with_lifetime",
        ]
    );
    let every = snapshot.check("orders-db:connections").unwrap();
    assert_eq!(every.kind(), Kind::Liveness);
    assert!(every.critical());
    assert_eq!(every.groups().collect::<Vec<_>>(), ["database", "orders"]);
    assert_eq!(snapshot.check("quoted_kind").unwrap().kind(), Kind::Startup);
    assert!(snapshot.check("type").unwrap().critical());
    // The functions stay callable as written.
    assert!(sync_result().is_ok() && boolean() && r#type());
    drop(guard);
}
