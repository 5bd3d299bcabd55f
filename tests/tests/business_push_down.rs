//! A Pushgateway that is down: the push fails with a clear error after its retries, and
//! nothing else breaks (the job's metrics are recorded and served, a later push to a
//! gateway that is up succeeds). A gateway that answers errors: `5xx` is retried, `4xx`
//! is not; credentials never show in errors and are sent as Basic authentication.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use flext_observability::push::{PushError, Pushgateway};
use flext_observability::{Counter, Observability, business_metric};
use flext_observability_examples::etl::{
    BatchError, ETL_RUNS_TOTAL, EtlConfig, JOB, MemoryTarget, OrdersTap, run_batch_job,
};
use flext_observability_tests::servers::Pushgateway as Gateway;
use flext_observability_tests::{free_port, http, sample};

/// Pushed to a scripted gateway.
#[business_metric]
static PUSH_SCRIPTED_TOTAL: Counter;

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
    assert!(message.contains("failed too: cannot reach"), "{message}");

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

/// One request as a scripted server received it.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<String>,
    body: String,
}

/// A loopback HTTP server that answers the given statuses in turn (one connection per
/// request), then stops; joining it gives what it received.
fn scripted(answers: &[(u16, &'static str)]) -> (SocketAddr, JoinHandle<Vec<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let answers = answers.to_vec();
    let handle = std::thread::spawn(move || {
        let mut received = Vec::new();
        for (status, body) in answers {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                if line.trim().is_empty() {
                    break;
                }
                headers.push(line.trim().to_owned());
            }
            let length = headers
                .iter()
                .find_map(|h| {
                    h.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().expect("length"))
                })
                .unwrap_or(0);
            let mut request_body = vec![0u8; length];
            reader.read_exact(&mut request_body).expect("body");
            let mut stream = reader.into_inner();
            write!(
                stream,
                "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .expect("answer");
            received.push(Received {
                request_line: request_line.trim().to_owned(),
                headers,
                body: String::from_utf8(request_body).expect("UTF-8 body"),
            });
        }
        received
    });
    (addr, handle)
}

#[test]
fn server_errors_are_retried_and_client_errors_are_not() {
    // Without a `pipeline` label: the other test pushes this process's series under
    // the grouping label `pipeline`.
    PUSH_SCRIPTED_TOTAL.inc();
    let (addr, server) = scripted(&[(503, "busy"), (502, "still busy"), (202, "")]);
    let gateway = Pushgateway::new(&format!("http://pusher:s%3Acret@{addr}"), JOB)
        .expect("gateway URL")
        .retries(3)
        .backoff(Duration::from_millis(5));
    gateway.push_add().expect("the third attempt succeeds");
    let received = server.join().expect("server");
    assert_eq!(received.len(), 3, "two retries, then success");
    for request in &received {
        assert_eq!(
            request.request_line,
            "POST /metrics/job/etl_pipeline HTTP/1.1"
        );
        assert!(
            request
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("authorization: Basic cHVzaGVyOnM6Y3JldA==")),
            "credentials go in a Basic authorization header: {:?}",
            request.headers
        );
        // The whole registry, in the text format.
        assert!(
            request.body.contains("\npush_scripted_total 1\n"),
            "{}",
            request.body
        );
        assert!(request.body.ends_with('\n'));
    }

    let (addr, server) = scripted(&[(400, "text format parsing error in line 1")]);
    let gateway = Pushgateway::new(&format!("http://pusher:secret@{addr}"), JOB)
        .expect("gateway URL")
        .retries(3)
        .backoff(Duration::from_millis(5));
    let error = gateway.push().unwrap_err();
    assert_eq!(
        server.join().expect("server").len(),
        1,
        "4xx is not retried"
    );
    let PushError::Rejected { status, body, url } = &error else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(*status, 400);
    assert_eq!(body, "text format parsing error in line 1");
    assert_eq!(url, &format!("http://{addr}/metrics/job/etl_pipeline"));
    assert!(
        !format!("{error} {error:?}").contains("secret"),
        "{error:?}"
    );
}

#[test]
fn credentials_never_show_in_unreachable_errors_or_debug_output() {
    let port = free_port();
    let gateway = Pushgateway::new(&format!("http://pusher:hunter2@127.0.0.1:{port}"), JOB)
        .expect("gateway URL")
        .retries(1)
        .backoff(Duration::from_millis(5));
    let shown = format!("{gateway:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("pusher"),
        "{shown}"
    );
    let error = gateway.delete().unwrap_err();
    let PushError::Unreachable { url, attempts, .. } = &error else {
        panic!("expected Unreachable, got {error:?}");
    };
    assert_eq!(*attempts, 2);
    assert_eq!(
        url,
        &format!("http://127.0.0.1:{port}/metrics/job/etl_pipeline")
    );
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("hunter2") && !text.contains("pusher"),
        "{text}"
    );
}
