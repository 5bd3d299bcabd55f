//! An axum service measured, traced and correlated by one layer, with no observability
//! code in its handlers.
//!
//! ```sh
//! cargo run --example http_service                    # drives itself for a few seconds, checks, exits
//! cargo run --example http_service -- --keep-running  # serves what clients send, until Ctrl-C
//! APP_LISTEN=127.0.0.1:8080 FLEXT_OBS_LISTEN=127.0.0.1:9465 cargo run --example http_service
//! HTTP_SERVICE_SECONDS=10 cargo run --example http_service
//! ```
//!
//! The service listens on `APP_LISTEN` (default `127.0.0.1:3000`; when that default is
//! taken, any free port), `/metrics` and the probes on `FLEXT_OBS_LISTEN` (default
//! `127.0.0.1:9464`). Its routes (see `flext_observability_examples::http_service`):
//! `GET /orders/{id}` (200 below 1000, 404 from 1000), `POST /orders` (201), `GET /fail`
//! (500), `GET /panic` (a handler panic, answered 500), `GET /proxy/{id}` (its own
//! `/orders/{id}` through the instrumented client), anything else 404.
//!
//! Run plainly, it sends itself rounds of every route for `HTTP_SERVICE_SECONDS`
//! (default 3), then checks its own metrics and exits non-zero on a wrong count. With
//! `--keep-running` it sends nothing and serves until stopped:
//!
//! ```sh
//! curl -i -H 'X-Correlation-ID: c-42' http://127.0.0.1:3000/orders/7
//! curl -s http://127.0.0.1:9464/metrics | grep ^http_server
//! ```
//!
//! Log lines on standard output are JSON and carry the request's `correlation_id` and
//! trace ids; with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the server and client spans are
//! exported.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use flext_observability::logs::LogFormat;
use flext_observability::{Error, Observability, ObservabilityGuard};
use flext_observability_examples::http_service::{ROUND, app, drive, serve};
use flext_observability_examples::start::{self, value};

const DEFAULT_APP_LISTEN: &str = "127.0.0.1:3000";

fn install() -> Result<ObservabilityGuard, Error> {
    start::install(|| {
        Observability::builder()
            .service_name("http-service")
            .log_format(LogFormat::Json)
    })
}

async fn bind_app() -> Result<tokio::net::TcpListener, String> {
    start::bind_app("APP_LISTEN", DEFAULT_APP_LISTEN).await
}

fn seconds() -> Result<u64, String> {
    start::seconds("HTTP_SERVICE_SECONDS")
}

/// Checks the counts of `rounds` rounds against the exposition.
fn check(rounds: usize) -> Result<(), String> {
    let text = flext_observability::prometheus::render();
    let n = rounds as f64;
    let count = |labels: &str| {
        value(
            &text,
            &format!("http_server_request_duration_seconds_count{{{labels}}}"),
        )
    };
    let expect = [
        // /orders/7 and /orders/42, plus /proxy/7's own call.
        (
            r#"http_request_method="GET",http_response_status_code="200",http_route="/orders/{id}",network_protocol_version="1.1",url_scheme="http""#,
            3.0 * n,
        ),
        (
            r#"http_request_method="GET",http_response_status_code="404",http_route="/orders/{id}",network_protocol_version="1.1",url_scheme="http""#,
            2.0 * n,
        ),
        (
            r#"http_request_method="POST",http_response_status_code="201",http_route="/orders",network_protocol_version="1.1",url_scheme="http""#,
            n,
        ),
        (
            r#"error_type="500",http_request_method="GET",http_response_status_code="500",http_route="/fail",network_protocol_version="1.1",url_scheme="http""#,
            n,
        ),
        (
            r#"error_type="panic",http_request_method="GET",http_response_status_code="500",http_route="/panic",network_protocol_version="1.1",url_scheme="http""#,
            n,
        ),
        (
            r#"http_request_method="GET",http_response_status_code="404",network_protocol_version="1.1",url_scheme="http""#,
            n,
        ),
    ];
    let mut wrong = Vec::new();
    for (labels, want) in expect {
        let got = count(labels);
        eprintln!("  {got:>6}  http_server_request_duration_seconds_count{{{labels}}}");
        if (got - want).abs() > f64::EPSILON {
            wrong.push(format!("{labels}: expected {want}, got {got}"));
        }
    }
    let active = value(
        &text,
        r#"http_server_active_requests{http_request_method="GET",url_scheme="http"}"#,
    );
    eprintln!("  {active:>6}  http_server_active_requests{{GET, http}}");
    if active != 0.0 {
        wrong.push(format!("{active} requests still active"));
    }
    let client = text
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_count"))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .sum::<f64>();
    eprintln!("  {client:>6}  http_client_request_duration_seconds_count (all series)");
    if (client - 2.0 * n).abs() > f64::EPSILON {
        wrong.push(format!("client calls: expected {}, got {client}", 2.0 * n));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n"))
    }
}

async fn run() -> Result<(), String> {
    let keep_running = std::env::args().any(|a| a == "--keep-running");
    let seconds = seconds()?;
    let guard = install().map_err(|e| e.to_string())?;
    let listener = bind_app().await?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("serving http://{addr}");
    if let Some(obs) = guard.local_addr() {
        eprintln!("metrics at http://{obs}/metrics");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(addr), async {
        let _ = stopped.await;
    }));

    let outcome = if keep_running {
        eprintln!("--keep-running: serving until Ctrl-C");
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
    } else {
        eprintln!(
            "sending {} requests a round for {seconds} s (--keep-running to serve only clients)",
            ROUND.len()
        );
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut rounds = 0;
        let mut outcome = Ok(());
        while outcome.is_ok() && (rounds == 0 || Instant::now() < deadline) {
            outcome = drive(addr, 1).await;
            rounds += 1;
            // A small workload: ten rounds a second.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        outcome.and_then(|()| {
            eprintln!("{rounds} rounds; the layer's counts:");
            check(rounds)
        })
    };
    let _ = stop.send(());
    server
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    drop(guard);
    outcome
}

#[tokio::main]
async fn main() -> ExitCode {
    // `/panic` panics on purpose, once a round: one line each, not a backtrace.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<&str>().copied().unwrap_or("");
        if message.contains("on purpose") {
            eprintln!("(the /panic handler panicked, as it should)");
        } else {
            default_hook(info);
        }
    }));
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_service: {e}");
            ExitCode::FAILURE
        }
    }
}
