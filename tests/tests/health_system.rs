//! Built-in system checks (feature `system`): CPU, memory and disk usage with warn and
//! fail levels, in readiness as non-critical checks (a full machine degrades, it does not
//! fail readiness), never in liveness.

use std::time::Duration;

use flext_observability::Observability;
use flext_observability_tests::{eventually, http};
use serde_json::Value;

#[test]
fn system_checks_degrade_and_never_touch_liveness() {
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .health_details(true)
        .drain_delay(Duration::ZERO)
        // Any real machine uses more than 0.001 % of its memory: the check fails.
        .memory_threshold_percent(0.000_5, 0.001)
        .disk_threshold_percent(100.0, 100.0)
        .install()
        .expect("install");
    let base = format!("http://{}", guard.local_addr().unwrap());
    let body: Value = eventually(Duration::from_secs(30), || {
        let response = http::get(&format!("{base}/health")).ok()?;
        (response.status == 200).then(|| serde_json::from_str(&response.body).unwrap())
    })
    .expect("every system check has a result");

    // A failing non-critical check degrades the whole: `warn`, and probes still pass.
    assert_eq!(body["status"], "warn", "{body}");
    let memory = &body["checks"]["memory:utilization"][0];
    assert_eq!(memory["status"], "fail", "{memory}");
    assert_eq!(memory["observedUnit"], "percent");
    assert_eq!(memory["critical"], false);
    assert!(
        memory["output"]
            .as_str()
            .unwrap()
            .contains("(warn at 0.0005 %, fail at 0.001 %)"),
        "{memory}"
    );
    assert!(matches!(
        memory["details"]["source"].as_str(),
        Some("cgroup" | "host")
    ));
    let limit: u64 = memory["details"]["limit_bytes"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(limit > 0);
    let disk = &body["checks"]["disk:utilization"][0];
    assert_eq!(disk["status"], "pass", "{disk}");
    let used = disk["observedValue"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&used), "{disk}");
    let cpu = &body["checks"]["cpu:utilization"][0];
    let cpu_used = cpu["observedValue"].as_f64().unwrap();
    assert!(cpu_used >= 0.0, "{cpu}");
    assert_eq!(cpu["groups"][0], "system");

    let ready = http::get(&format!("{base}/readyz?verbose")).unwrap();
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(
        ready
            .body
            .contains("[-]memory:utilization failed: memory at"),
        "{}",
        ready.body
    );
    let live = http::get(&format!("{base}/livez?verbose")).unwrap();
    assert_eq!(live.status, 200);
    assert_eq!(
        live.body, "livez check passed\n",
        "no system check in liveness"
    );
    let group = http::get(&format!("{base}/health/system")).unwrap();
    let group: Value = serde_json::from_str(&group.body).unwrap();
    assert_eq!(group["checks"].as_object().unwrap().len(), 3);
    drop(guard);
}
