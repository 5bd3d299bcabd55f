//! A Pushgateway that is down: the push fails with a clear error after its retries, and
//! nothing else breaks (the job's metrics are recorded and served, a later push to a
//! gateway that is up succeeds).

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::time::Duration;

use flext_observability::Observability;
use flext_observability::push::{PushError, Pushgateway};
use flext_observability_examples::etl::{
    BatchError, ETL_RUNS_TOTAL, EtlConfig, JOB, MemoryTarget, OrdersTap, run_batch_job,
};
use flext_observability_tests::servers::Pushgateway as Gateway;
use flext_observability_tests::{free_port, http, sample};

#[test]
fn an_unreachable_gateway_is_an_error_and_nothing_else_breaks() {
    let guard = Observability::builder()
        .service_name("etl-offline")
        .listen("127.0.0.1:0")
        .install()
        .expect("install");
    let addr = guard.local_addr().expect("server runs");

    // Nothing listens on this port.
    let url = format!("http://127.0.0.1:{}", free_port());
    let down = Pushgateway::new(&url, JOB)
        .expect("gateway URL")
        .retries(2)
        .backoff(Duration::from_millis(20));
    let config = EtlConfig::new("offline");
    let result = run_batch_job(
        &config,
        &mut OrdersTap::new(100, None),
        &mut MemoryTarget::default(),
        Some(&down),
    );
    let Err(BatchError::Push(error)) = result else {
        panic!("expected a push error, got {result:?}");
    };
    let PushError::Unreachable {
        url: shown,
        attempts,
        ..
    } = &error
    else {
        panic!("expected Unreachable, got {error:?}");
    };
    assert_eq!(*attempts, 3, "one attempt plus two retries");
    assert!(shown.starts_with(&url), "{shown}");
    let message = error.to_string();
    assert!(
        message.contains("cannot reach the Pushgateway")
            && message.contains(&url)
            && message.contains("FLEXT_OBS_PUSHGATEWAY_URL"),
        "{message}"
    );

    // The run itself was recorded and is served.
    assert_eq!(
        ETL_RUNS_TOTAL {
            pipeline: "offline",
            status: "success"
        }
        .series()
        .get(),
        1
    );
    let served = http::get(&format!("http://{addr}/metrics")).expect("scrape");
    assert_eq!(served.status, 200);
    assert_eq!(
        sample(
            &served.body,
            r#"etl_rows_written_total{pipeline="offline",target="target-warehouse"}"#
        ),
        Some(95.0)
    );

    // A run that fails while the gateway is down: the run's error comes first, and the
    // push's is kept with it, not lost. (Same pipeline and test: a process that pushes
    // one pipeline's group must hold that pipeline's series only.)
    let result = run_batch_job(
        &config,
        &mut OrdersTap::new(100, Some(50)),
        &mut MemoryTarget::default(),
        Some(&down),
    );
    let Err(BatchError::Run {
        error,
        push: Some(push),
    }) = &result
    else {
        panic!("expected the run's error with the push's, got {result:?}");
    };
    assert!(error.to_string().contains("row 50"), "{error}");
    assert!(
        matches!(push, PushError::Unreachable { attempts: 3, .. }),
        "{push:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("pipeline run failed") && message.contains("cannot reach the Pushgateway"),
        "{message}"
    );

    // Once a gateway is up, pushing works.
    if let Some(gateway) = Gateway::start() {
        let up = Pushgateway::new(&gateway.base_url(), JOB).expect("gateway URL");
        run_batch_job(
            &config,
            &mut OrdersTap::new(100, None),
            &mut MemoryTarget::default(),
            Some(&up),
        )
        .expect("push to a gateway that is up");
        let text = http::get(&format!("{}/metrics", gateway.base_url()))
            .expect("read the gateway")
            .body;
        assert!(
            text.lines().any(|l| l.starts_with("etl_runs_total{")
                && l.contains(r#"status="success""#)
                && l.ends_with(" 2")),
            "{text}"
        );
    } else {
        flext_observability_tests::missing("Pushgateway", "apt-get install prometheus-pushgateway");
    }
    drop(guard);
}
