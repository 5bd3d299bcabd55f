//! Flapping is smoothed by the failure and success thresholds, end to end: the check
//! follows a script of results and, at each run, notes what readiness says (the snapshot
//! every probe answers from holds every result before the run), then `/readyz` and the
//! run counters are read over HTTP. The exact threshold arithmetic is unit-tested in the
//! runner; here each run is instant and its timeout generous, so a slow machine cannot
//! turn a run into a timeout and change the script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flext_observability::health::{self, Probe, Status};
use flext_observability::{Observability, health_check};
use flext_observability_tests::{eventually, http, sample};

/// What the check returns, run after run, and what readiness said at each run.
struct Script {
    results: Mutex<VecDeque<bool>>,
    seen: Mutex<Vec<Option<Status>>>,
}

/// Borrows the registered `Arc<Script>` for each run.
#[health_check(
    critical,
    interval = "2s",
    timeout = "2s",
    failure_threshold = 2,
    success_threshold = 2
)]
fn flapping(script: &Arc<Script>) -> Result<(), String> {
    let Some(pass) = script.results.lock().unwrap().pop_front() else {
        return Ok(());
    };
    let readiness = health::snapshot().map(|s| s.status(Probe::Readiness));
    script.seen.lock().unwrap().push(readiness);
    if pass { Ok(()) } else { Err("flap".into()) }
}

#[test]
fn thresholds_smooth_flapping() {
    const PASS: bool = true;
    const FAIL: bool = false;
    let results = [PASS, FAIL, FAIL, PASS, PASS];
    // Readiness at run k reflects runs 0..k: failing before the first result, then
    // failing only from the second failure in a row, passing again from the second
    // success in a row (after the last run).
    let healthy = Some(Status::Healthy);
    let unhealthy = Some(Status::Unhealthy);
    let expected = [unhealthy, healthy, healthy, unhealthy, unhealthy];

    let script = Arc::new(Script {
        results: Mutex::new(results.into()),
        seen: Mutex::new(Vec::new()),
    });
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .system_checks(false)
        .drain_delay(Duration::ZERO)
        .resource(Arc::clone(&script))
        .install()
        .expect("install");
    let base = format!("http://{}", guard.local_addr().expect("listening"));

    let seen = eventually(Duration::from_mins(2), || {
        let seen = script.seen.lock().unwrap().clone();
        (seen.len() == expected.len()).then_some(seen)
    })
    .expect("the script runs to its end");
    assert_eq!(seen, expected);

    // The last scripted run (the second success) made readiness pass again.
    let ready = eventually(Duration::from_secs(30), || {
        http::get(&format!("{base}/readyz"))
            .ok()
            .filter(|r| r.status == 200)
    });
    assert!(ready.is_some(), "readiness passes after two successes");
    let metrics = http::get(&format!("{base}/metrics")).unwrap().body;
    assert_eq!(
        sample(
            &metrics,
            r#"health_check_runs_total{check="flapping",outcome="failed"}"#
        ),
        Some(2.0),
        "every failure is counted, smoothed or not"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"health_check_runs_total{check="flapping",outcome="timeout"}"#
        ),
        Some(0.0)
    );
    drop(guard);
}
