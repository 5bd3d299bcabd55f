//! The Tokio metrics of the runtime `setup` hands to the builder (feature
//! `tokio-metrics`): workers, tasks alive, busy time, while tasks run and after.

use std::time::{Duration, Instant};

use flext_observability_tests::eventually;

use super::support::{Samples, setup, shared_runtime};

fn value(name: &str) -> Option<f64> {
    Samples::now().get(name, &[])
}

#[test]
fn tokio_runtime_workers_tasks_and_busy_time() {
    setup();
    let rt = shared_runtime();
    let busy_before = value("tokio_runtime_busy_seconds_total").expect("the busy counter");
    let (release, wait) = tokio::sync::watch::channel(false);
    let waiting: Vec<_> = (0..5)
        .map(|_| {
            let mut wait = wait.clone();
            rt.spawn(async move {
                let _ = wait.wait_for(|released| *released).await;
            })
        })
        .collect();
    // Keeps one worker busy for 300 ms.
    let spin = rt.spawn(async {
        let end = Instant::now() + Duration::from_millis(300);
        while Instant::now() < end {
            std::hint::spin_loop();
        }
    });
    rt.block_on(spin).expect("the spinning task");

    assert_eq!(value("tokio_runtime_workers"), Some(2.0));
    let alive = eventually(Duration::from_secs(10), || {
        (value("tokio_runtime_alive_tasks") == Some(5.0)).then_some(())
    });
    assert!(
        alive.is_some(),
        "five waiting tasks: {:?}",
        value("tokio_runtime_alive_tasks")
    );
    let busy = eventually(Duration::from_secs(10), || {
        value("tokio_runtime_busy_seconds_total").filter(|b| b - busy_before >= 0.3)
    });
    assert!(
        busy.is_some(),
        "300 ms of spinning counted: {busy_before} then {:?}",
        value("tokio_runtime_busy_seconds_total")
    );
    let ratio = value("tokio_runtime_busy_ratio").expect("the ratio");
    assert!((0.0..=1.0).contains(&ratio), "{ratio}");
    assert_eq!(value("tokio_runtime_global_queue_depth"), Some(0.0));
    assert!(value("tokio_runtime_parks_total").is_some_and(|p| p > 0.0));

    release.send(true).expect("release");
    for task in waiting {
        rt.block_on(task).expect("a waiting task");
    }
    let gone = eventually(Duration::from_secs(10), || {
        (value("tokio_runtime_alive_tasks") == Some(0.0)).then_some(())
    });
    assert!(gone.is_some(), "{:?}", value("tokio_runtime_alive_tasks"));
}
