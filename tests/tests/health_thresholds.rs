//! Flapping is smoothed by the failure and success thresholds. The check follows a script
//! of results and, at each run, asks `/readyz` over HTTP what the previous runs led to:
//! each run sees the snapshot that holds every result before it, so the log is exact.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flext_observability::{Observability, health_check};
use flext_observability_tests::{eventually, free_port, http, sample};

/// What the check returns, run after run, and what `/readyz` said at each run.
struct Script {
    readyz: String,
    results: Mutex<VecDeque<bool>>,
    seen: Mutex<Vec<u16>>,
}

/// Borrows the registered `Arc<Script>` for each run.
#[health_check(
    critical,
    // Generous: a run that timed out would break the script on a loaded machine.
    interval = "1s",
    timeout = "1s",
    failure_threshold = 3,
    success_threshold = 2
)]
fn flapping(script: &Arc<Script>) -> Result<(), String> {
    let Some(pass) = script.results.lock().unwrap().pop_front() else {
        return Ok(());
    };
    let status = http::get(&script.readyz).map_or(0, |r| r.status);
    script.seen.lock().unwrap().push(status);
    if pass { Ok(()) } else { Err("flap".into()) }
}

#[test]
fn thresholds_smooth_flapping() {
    const PASS: bool = true;
    const FAIL: bool = false;
    let results = [
        PASS, FAIL, FAIL, FAIL, PASS, PASS, FAIL, PASS, FAIL, PASS, FAIL, PASS,
    ];
    // `/readyz` at run k reflects runs 0..k: pending (503) before the first result, then
    // failing only from the third failure in a row, passing again from the second success.
    let expected: [u16; 12] = [503, 200, 200, 200, 503, 503, 200, 200, 200, 200, 200, 200];

    let port = free_port();
    let script = Arc::new(Script {
        readyz: format!("http://127.0.0.1:{port}/readyz"),
        results: Mutex::new(results.into()),
        seen: Mutex::new(Vec::new()),
    });
    let guard = Observability::builder()
        .listen(format!("127.0.0.1:{port}"))
        .system_checks(false)
        .drain_delay(Duration::ZERO)
        .resource(Arc::clone(&script))
        .install()
        .expect("install");

    let seen = eventually(Duration::from_mins(1), || {
        let seen = script.seen.lock().unwrap().clone();
        (seen.len() == expected.len()).then_some(seen)
    })
    .expect("the script runs to its end");
    assert_eq!(seen, expected);

    let metrics = http::get(&format!("http://127.0.0.1:{port}/metrics"))
        .unwrap()
        .body;
    assert_eq!(
        sample(
            &metrics,
            r#"health_check_runs_total{check="flapping",outcome="failed"}"#
        ),
        Some(6.0),
        "every failure is counted, smoothed or not"
    );
    let ready = http::get(&script.readyz).unwrap();
    assert_eq!(ready.status, 200, "{}", ready.body);
    drop(guard);
}
