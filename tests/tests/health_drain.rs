//! Readiness is 503 until the first results, and again as soon as shutdown starts: the
//! guard fails readiness, waits the drain delay (the server still answers, liveness
//! included), then stops the server.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use flext_observability::{Observability, health_check};
use flext_observability_tests::{eventually, http};

/// Released by the test: until then the first run of the startup check is in progress.
static MIGRATED: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

#[health_check(kind = startup, critical, timeout = "60s", interval = "60s")]
fn migrations() -> Result<(), String> {
    let (done, changed) = &MIGRATED;
    let guard = changed
        .wait_timeout_while(done.lock().unwrap(), Duration::from_secs(50), |done| !*done)
        .unwrap()
        .0;
    if *guard {
        Ok(())
    } else {
        Err("not migrated".into())
    }
}

#[health_check(kind = liveness, critical, interval = "100ms")]
fn alive() -> bool {
    true
}

#[test]
fn readiness_fails_before_first_results_and_during_drain() {
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .system_checks(false)
        .drain_delay(Duration::from_secs(8))
        .install()
        .expect("install");
    let base = format!("http://{}", guard.local_addr().unwrap());
    let get = |path: &str| http::get(&format!("{base}{path}"));

    // The startup check's first run has not finished: not ready, not started, but alive.
    let ready = get("/readyz?verbose").unwrap();
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(
        ready
            .body
            .contains("[-]migrations pending: no result yet\n"),
        "{}",
        ready.body
    );
    assert_eq!(get("/startupz").unwrap().status, 503);
    assert_eq!(get("/health").unwrap().status, 503);
    assert_eq!(get("/livez").unwrap().status, 200);

    {
        let (done, changed) = &MIGRATED;
        *done.lock().unwrap() = true;
        changed.notify_all();
    }
    let ready = eventually(Duration::from_secs(30), || {
        get("/readyz").ok().filter(|r| r.status == 200)
    });
    assert_eq!(ready.map(|r| r.body).as_deref(), Some("ok\n"));
    assert_eq!(get("/startupz").unwrap().status, 200);

    // Shutdown: readiness fails at once, while the server still answers.
    let stopping = std::thread::spawn(move || drop(guard));
    let draining = eventually(Duration::from_secs(5), || {
        get("/readyz?verbose").ok().filter(|r| r.status == 503)
    })
    .expect("readiness fails while draining");
    assert!(
        draining
            .body
            .contains("[+]migrations ok\n[-]shutdown failed: shutting down\n"),
        "{}",
        draining.body
    );
    let live = get("/livez").expect("the server still answers during the drain");
    assert_eq!(live.status, 200);
    let health = get("/health").unwrap();
    assert_eq!(health.status, 503);
    assert!(
        health.body.contains(r#""output":"shutting down""#),
        "{}",
        health.body
    );
    // Excluding the drain is possible, as with kube-apiserver's `shutdown` check.
    assert_eq!(get("/readyz?exclude=shutdown").unwrap().status, 200);

    stopping.join().unwrap();
    assert!(get("/livez").is_err(), "the server stops after the drain");
}
