//! `grpc.health.v1.Health` through two clients: tonic's (generated here from
//! grpc-proto's `health.proto`, with `List`) and Python's `grpcio-health-checking`, an
//! independent implementation. A check that flips shows on `Watch` within its interval.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use flext_observability_tests::{eventually, require};
use tonic::Code;

use super::common::proto::health::health_check_response::ServingStatus;
use super::common::proto::health::{HealthCheckRequest, HealthCheckResponse, HealthListRequest};
use super::common::{Env, PROBE_MAX_WATCHES, env};

/// How long a flip may take to show: the check's interval (1 s, jitter up to 10 %),
/// and room for a loaded machine to schedule the run and the message.
const FLIP: Duration = Duration::from_secs(2);

fn ask(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

/// `Check` of `service` on `addr`: the status, or the error's code.
fn check(env: &Env, addr: SocketAddr, service: &str) -> Result<ServingStatus, Code> {
    env.runtime.block_on(async {
        let mut health = Env::health_client(addr).await;
        match health.check(ask(service)).await {
            Ok(r) => Ok(r.into_inner().status()),
            Err(status) => Err(status.code()),
        }
    })
}

/// Waits for the first results of the checks: readiness serving.
fn wait_serving(env: &Env) {
    env.set_down(false);
    eventually(Duration::from_secs(15), || {
        (check(env, env.orders, "") == Ok(ServingStatus::Serving)).then_some(())
    })
    .expect("readiness is SERVING once orders-db has run");
}

#[test]
fn check_and_list_answer_from_the_snapshot() {
    let (_turn, env) = env();
    wait_serving(env);
    assert_eq!(
        check(env, env.orders, "orders-db"),
        Ok(ServingStatus::Serving)
    );
    assert_eq!(
        check(env, env.orders, "storage"),
        Ok(ServingStatus::Serving)
    );
    assert_eq!(check(env, env.orders, "nope"), Err(Code::NotFound));
    // The services Kubernetes gRPC probes are given: the HTTP probes' verdicts.
    for probe in ["liveness", "readiness", "startup"] {
        assert_eq!(
            check(env, env.orders, probe),
            Ok(ServingStatus::Serving),
            "{probe}"
        );
    }
    let listed = env.runtime.block_on(async {
        let mut health = Env::health_client(env.orders).await;
        let list = health
            .list(HealthListRequest {})
            .await
            .unwrap()
            .into_inner();
        let mut all: Vec<(String, ServingStatus)> = list
            .statuses
            .into_iter()
            .map(|(name, r)| (name, r.status()))
            .collect();
        all.sort();
        all
    });
    let serving = |name: &str| (name.to_owned(), ServingStatus::Serving);
    assert_eq!(
        listed,
        [
            serving(""),
            serving("liveness"),
            serving("orders-db"),
            serving("readiness"),
            serving("startup"),
            serving("storage")
        ]
    );
}

/// The next message of a `Watch`, and how long it took.
async fn next_status(
    stream: &mut tonic::Streaming<HealthCheckResponse>,
) -> (ServingStatus, Duration) {
    let started = Instant::now();
    let message = tokio::time::timeout(FLIP, stream.message())
        .await
        .expect("a message within the check's interval")
        .unwrap()
        .expect("the stream stays open");
    (message.status(), started.elapsed())
}

#[test]
fn watch_follows_a_flipping_check() {
    let (_turn, env) = env();
    wait_serving(env);
    env.runtime.block_on(async {
        let mut health = Env::health_client(env.orders).await;
        let mut overall = health.watch(ask("")).await.unwrap().into_inner();
        let mut db = health.watch(ask("orders-db")).await.unwrap().into_inner();
        let mut unknown = health.watch(ask("nope")).await.unwrap().into_inner();
        assert_eq!(next_status(&mut overall).await.0, ServingStatus::Serving);
        assert_eq!(next_status(&mut db).await.0, ServingStatus::Serving);
        assert_eq!(
            next_status(&mut unknown).await.0,
            ServingStatus::ServiceUnknown
        );

        env.set_down(true);
        let (status, took) = next_status(&mut overall).await;
        eprintln!("NOT_SERVING on Watch {took:?} after the file appeared");
        assert_eq!(status, ServingStatus::NotServing);
        assert_eq!(next_status(&mut db).await.0, ServingStatus::NotServing);
        env.set_down(false);
        let (status, took) = next_status(&mut overall).await;
        eprintln!("SERVING on Watch {took:?} after the file went");
        assert_eq!(status, ServingStatus::Serving);
        assert_eq!(next_status(&mut db).await.0, ServingStatus::Serving);
        // Nothing changed for an unknown name: the call is still open, silent.
        let silent = tokio::time::timeout(Duration::from_millis(300), unknown.message()).await;
        assert!(silent.is_err(), "{silent:?}");
    });
}

#[test]
fn watches_are_limited() {
    let (_turn, env) = env();
    env.runtime.block_on(async {
        let mut health = Env::health_client(env.probe).await;
        let mut open = Vec::new();
        for _ in 0..PROBE_MAX_WATCHES {
            let mut stream = health.watch(ask("")).await.unwrap().into_inner();
            assert!(stream.message().await.unwrap().is_some());
            open.push(stream);
        }
        let refused = health.watch(ask("")).await.unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        drop(open.pop());
        // The server notices the reset stream, and the watch's permit returns.
        let started = Instant::now();
        loop {
            match health.watch(ask("")).await {
                Ok(_) => break,
                Err(status) => {
                    assert_eq!(status.code(), Code::ResourceExhausted);
                    assert!(started.elapsed() < Duration::from_secs(10), "never freed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    });
}

/// The Python client, when grpcio-health-checking is installed.
fn python() -> Option<Command> {
    let found = Command::new("python3")
        .args(["-c", "import grpc_health.v1.health_pb2_grpc"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found.then(|| {
        let mut command = Command::new("python3");
        command.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/grpc_service/health_client.py"
        ));
        command
    })
}

fn python_once(addr: SocketAddr, args: &[&str]) -> String {
    let mut command = python().unwrap();
    let out = command
        .arg(addr.to_string())
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A Python `Watch`, its lines as they come.
struct PythonWatch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl PythonWatch {
    fn start(addr: SocketAddr, service: &str) -> PythonWatch {
        let mut child = python()
            .unwrap()
            .args([&addr.to_string(), "watch", service])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        PythonWatch { child, lines }
    }

    fn next(&self, within: Duration) -> String {
        let started = Instant::now();
        let line = self
            .lines
            .recv_timeout(within)
            .expect("a Watch message in time");
        eprintln!("python Watch: {line} after {:?}", started.elapsed());
        line
    }
}

impl Drop for PythonWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_independent_client_checks_watches_and_lists() {
    let (_turn, env) = env();
    require!(
        python(),
        "Python grpcio-health-checking",
        "pip install 'grpcio-health-checking>=1.85.1'"
    );
    wait_serving(env);
    assert_eq!(python_once(env.orders, &["check", ""]), "SERVING");
    assert_eq!(python_once(env.orders, &["check", "orders-db"]), "SERVING");
    assert_eq!(
        python_once(env.orders, &["check", "nope"]),
        "ERROR NOT_FOUND"
    );
    assert_eq!(
        python_once(env.orders, &["list"]),
        r#"{"": "SERVING", "liveness": "SERVING", "orders-db": "SERVING", "readiness": "SERVING", "startup": "SERVING", "storage": "SERVING"}"#
    );
    let overall = PythonWatch::start(env.orders, "");
    let unknown = PythonWatch::start(env.orders, "nope");
    let start = Duration::from_secs(15);
    assert_eq!(overall.next(start), "SERVING");
    assert_eq!(unknown.next(start), "SERVICE_UNKNOWN");
    env.set_down(true);
    assert_eq!(overall.next(FLIP), "NOT_SERVING");
    assert_eq!(python_once(env.orders, &["check", ""]), "NOT_SERVING");
    assert_eq!(
        python_once(env.orders, &["list"]),
        r#"{"": "NOT_SERVING", "liveness": "SERVING", "orders-db": "NOT_SERVING", "readiness": "NOT_SERVING", "startup": "SERVING", "storage": "NOT_SERVING"}"#
    );
    env.set_down(false);
    assert_eq!(overall.next(FLIP), "SERVING");
    assert!(
        unknown.lines.try_recv().is_err(),
        "an unknown service's Watch stays open and silent"
    );
}
