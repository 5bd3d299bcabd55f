//! Helpers shared by the integration tests: a plain HTTP client, real Prometheus
//! components (Prometheus, Pushgateway, Alertmanager, promtool) and the Python
//! OpenMetrics parser started on loopback, a real OTLP receiver, and child processes
//! for what shows once per process. `tests/README.md` says which test uses which.
//!
//! When a component is missing the test prints a loud `SKIPPED` banner and returns;
//! with `FLEXT_OBS_REQUIRE_E2E=1` (set by `.ci/run`) it fails instead.

#![allow(missing_debug_implementations)] // test helpers, never printed
#![allow(clippy::missing_panics_doc, clippy::missing_errors_doc)] // test helpers: errors are test failures

pub mod child;
pub mod http;
pub mod otlp;
pub mod postgres;
pub mod servers;
pub mod tools;

use std::time::{Duration, Instant};

/// Whether missing end-to-end components must fail the test (`FLEXT_OBS_REQUIRE_E2E=1`).
pub fn e2e_required() -> bool {
    std::env::var("FLEXT_OBS_REQUIRE_E2E").is_ok_and(|v| v == "1" || v == "true")
}

/// Reports a missing component: panics under CI, prints a banner otherwise.
pub fn missing(what: &str, how: &str) {
    let message = format!("{what} is not available ({how})");
    assert!(!e2e_required(), "FLEXT_OBS_REQUIRE_E2E is set: {message}");
    eprintln!("\n{bar}\nSKIPPED: {message}\n{bar}\n", bar = "!".repeat(78));
}

/// Returns from the test when `$opt` is `None`, after [`missing`].
#[macro_export]
macro_rules! require {
    ($opt:expr, $what:expr, $how:expr) => {
        match $opt {
            Some(v) => v,
            None => {
                $crate::missing($what, $how);
                return;
            }
        }
    };
}

/// Polls `f` until it returns `Some`, for at most `timeout`.
pub fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free TCP port on loopback (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a loopback port")
}

/// The value of the sample whose line starts with `prefix` (name and labels up to a
/// point) in Prometheus text, if exactly one line matches.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((name_labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if name_labels == series {
            assert!(found.is_none(), "series {series} appears twice");
            found = Some(value.parse::<f64>().expect("sample value is a number"));
        }
    }
    found
}
