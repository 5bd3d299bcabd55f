//! A tonic service measured and traced by one layer, with the standard gRPC health
//! service answered from its health checks, and no observability code in its handler.
//!
//! ```sh
//! cargo run --example grpc_service                    # drives itself for a few seconds, checks, exits
//! cargo run --example grpc_service -- --keep-running  # serves what clients send, until Ctrl-C
//! APP_GRPC_LISTEN=127.0.0.1:50052 FLEXT_OBS_LISTEN=127.0.0.1:9465 cargo run --example grpc_service
//! ORDERS_DB_DOWN_FILE=/tmp/orders-db-down cargo run --example grpc_service -- --keep-running
//! ```
//!
//! `orders.v1.Orders/GetOrder` (`proto/orders/v1/orders.proto`) and
//! `grpc.health.v1.Health` listen on `APP_GRPC_LISTEN` (default `127.0.0.1:50051`; when
//! that default is taken, any free port); `/metrics` and the HTTP probes on
//! `FLEXT_OBS_LISTEN` (default `127.0.0.1:9464`). `GetOrder` answers `OK` below id 1000,
//! `NOT_FOUND` from 1000, `INTERNAL` for 13. The readiness check `orders-db` runs every
//! second and fails while the file named by `ORDERS_DB_DOWN_FILE` exists:
//!
//! ```sh
//! grpcurl -plaintext -d '{"id": 7}' 127.0.0.1:50051 orders.v1.Orders/GetOrder   # needs -proto examples/proto/orders/v1/orders.proto
//! grpc_health_probe -addr 127.0.0.1:50051                      # SERVING
//! touch /tmp/orders-db-down                                    # within a second: NOT_SERVING
//! grpc_health_probe -addr 127.0.0.1:50051 -service orders-db   # NOT_SERVING
//! curl -s http://127.0.0.1:9464/metrics | grep ^rpc_
//! ```
//!
//! Run plainly, it calls itself in rounds (ids 7, 42, 1000, 13) for
//! `GRPC_SERVICE_SECONDS` (default 3), checks its own counts, and exits non-zero on a
//! wrong one. With `--keep-running` it sends nothing and serves until stopped. Stopping
//! drops the guard first: readiness and every health service turn `NOT_SERVING` while
//! the drain delay runs (when something asked for readiness), then the server stops.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use flext_observability::logs::LogFormat;
use flext_observability::{Error, Observability, ObservabilityGuard, health_check};
use flext_observability_examples::grpc_service::{ROUND, client, drive, orders_db, serve};
use flext_observability_examples::start::{self, value};

const DEFAULT_APP_LISTEN: &str = "127.0.0.1:50051";

/// The orders database: down while the file named by `ORDERS_DB_DOWN_FILE` exists.
#[health_check(name = "orders-db", critical, interval = "1s", timeout = "500ms")]
fn orders_database() -> Result<(), String> {
    orders_db()
}

fn install() -> Result<ObservabilityGuard, Error> {
    start::install(|| {
        Observability::builder()
            .service_name("grpc-service")
            .log_format(LogFormat::Json)
    })
}

async fn bind_app() -> Result<tokio::net::TcpListener, String> {
    start::bind_app("APP_GRPC_LISTEN", DEFAULT_APP_LISTEN).await
}

fn seconds() -> Result<u64, String> {
    start::seconds("GRPC_SERVICE_SECONDS")
}

/// Checks the counts of `rounds` rounds against the exposition: the server's and the
/// client's, by status code.
fn check(rounds: usize, addr: SocketAddr) -> Result<(), String> {
    let text = flext_observability::prometheus::render();
    let n = rounds as f64;
    let method = r#"rpc_method="orders.v1.Orders/GetOrder""#;
    let dest = format!(
        r#"server_address="{}",server_port="{}""#,
        addr.ip(),
        addr.port()
    );
    let expect = [
        (
            format!(
                r#"rpc_server_call_duration_seconds_count{{{method},rpc_status_code="OK",rpc_system_name="grpc"}}"#
            ),
            2.0 * n,
        ),
        (
            format!(
                r#"rpc_server_call_duration_seconds_count{{{method},rpc_status_code="NOT_FOUND",rpc_system_name="grpc"}}"#
            ),
            n,
        ),
        (
            format!(
                r#"rpc_server_call_duration_seconds_count{{error_type="INTERNAL",{method},rpc_status_code="INTERNAL",rpc_system_name="grpc"}}"#
            ),
            n,
        ),
        (
            format!(
                r#"rpc_client_call_duration_seconds_count{{{method},rpc_status_code="OK",rpc_system_name="grpc",{dest}}}"#
            ),
            2.0 * n,
        ),
        (
            format!(
                r#"rpc_client_call_duration_seconds_count{{error_type="NOT_FOUND",{method},rpc_status_code="NOT_FOUND",rpc_system_name="grpc",{dest}}}"#
            ),
            n,
        ),
        (
            format!(
                r#"rpc_client_call_duration_seconds_count{{error_type="INTERNAL",{method},rpc_status_code="INTERNAL",rpc_system_name="grpc",{dest}}}"#
            ),
            n,
        ),
    ];
    let mut wrong = Vec::new();
    for (series, want) in expect {
        let got = value(&text, &series);
        eprintln!("  {got:>6}  {series}");
        if (got - want).abs() > f64::EPSILON {
            wrong.push(format!("{series}: expected {want}, got {got}"));
        }
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
    eprintln!("serving gRPC on {addr} (orders.v1.Orders, grpc.health.v1.Health)");
    if let Some(obs) = guard.local_addr() {
        eprintln!("metrics at http://{obs}/metrics");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, async {
        let _ = stopped.await;
    }));

    let outcome = if keep_running {
        eprintln!("--keep-running: serving until Ctrl-C");
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
    } else {
        eprintln!(
            "sending {} calls a round for {seconds} s (--keep-running to serve only clients)",
            ROUND.len()
        );
        let mut client = client(&format!("http://{addr}"))
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut rounds = 0;
        let mut outcome = Ok(());
        while outcome.is_ok() && (rounds == 0 || Instant::now() < deadline) {
            outcome = drive(&mut client, 1).await;
            rounds += 1;
            // A small workload: ten rounds a second.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        outcome.and_then(|()| {
            eprintln!("{rounds} rounds; the layers' counts:");
            check(rounds, addr)
        })
    };
    // The guard first: readiness turns NOT_SERVING for the drain delay while the server
    // still answers, and open Watch calls end; then the server stops.
    drop(guard);
    let _ = stop.send(());
    server
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    outcome
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("grpc_service: {e}");
            ExitCode::FAILURE
        }
    }
}
