//! A small order service, instrumented with `#[monitor]` and nothing else.
//!
//! ```sh
//! cargo run --example quickstart                 # runs 30 s, serves /metrics meanwhile
//! cargo run --example quickstart -- --keep-running
//! FLEXT_OBS_QUICKSTART_SECONDS=5 cargo run --example quickstart
//! cargo run --example quickstart -- --write-artifacts DIR   # rules, routing, dashboards; then exits
//! ```
//!
//! It listens on `FLEXT_OBS_LISTEN` (default `127.0.0.1:9464`), prints the URL, runs a
//! workload through sync, async and sometimes-failing functions, fetches its own
//! `/metrics` over HTTP and prints an excerpt (all on standard error).
//!
//! Every call is also a span. Log lines, on standard output, are JSON (unless
//! `LOG_FORMAT=text`) and carry the trace and span ids of the order they belong to, so
//! `… 2>/dev/null | jq` reads them. With a collector,
//!
//! ```sh
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example quickstart
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc cargo run --example quickstart
//! ```
//!
//! traces and metrics are exported over OTLP as well.
//!
//! Three functions carry service-level objectives. `stock` and `checkout` hold; `payments` is
//! deliberately stricter than the card provider allows (it declines one card in eight and
//! often takes 5 ms), so its error budget burns and its alerts fire, which is what the
//! end-to-end tests check. `--write-artifacts DIR` writes `DIR/prometheus-rules.yml`,
//! `DIR/alertmanager.yml` and `DIR/grafana/*.json` for this catalogue (see
//! `flext_observability::artifacts`, and `deploy/` for a Prometheus, Alertmanager and
//! Grafana set up around them).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flext_observability::artifacts::Artifacts;
use flext_observability::logs::LogFormat;
use flext_observability::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use flext_observability::{Error, Observability, ObservabilityGuard, monitor};

/// The name the service runs under; the generated rules select it.
pub(crate) const SERVICE: &str = "quickstart-orders";

/// Reserving stock: 99.9 % of calls succeed, 99 % within 10 ms. Holds.
pub(crate) const STOCK: Objective = Objective::new("stock")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms10, ObjectivePercentile::P99);

/// Charging cards: 99 % succeed, 99 % within 5 ms. Broken on purpose (see above).
pub(crate) const PAYMENTS: Objective = Objective::new("payments")
    .success_rate(ObjectivePercentile::P99)
    .latency(ObjectiveLatency::Ms5, ObjectivePercentile::P99);

/// Placing an order: 95 % within 1 s, whatever the outcome (declined cards and invalid
/// orders are answers, not failures of the checkout). Holds.
pub(crate) const CHECKOUT: Objective =
    Objective::new("checkout").latency(ObjectiveLatency::Ms1000, ObjectivePercentile::P95);

#[derive(Debug)]
struct PaymentDeclined;

#[derive(Debug)]
struct InvalidOrder(&'static str);

struct Order {
    id: u64,
    quantity: u32,
    amount_cents: u64,
}

/// Cheap deterministic pseudo-randomness, so the example needs no extra crate.
fn random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x2545_f491_4f6c_dd1d);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

/// Sync, fast, fails on bad input.
#[monitor]
fn validate(order: &Order) -> Result<(), InvalidOrder> {
    if order.quantity == 0 {
        return Err(InvalidOrder("quantity must be positive"));
    }
    Ok(())
}

/// Async, waits on "the database".
#[monitor(objective = STOCK)]
async fn reserve_stock(order: &Order) -> u32 {
    tokio::time::sleep(Duration::from_micros(200 + random() % 800)).await;
    order.quantity
}

/// Async, fails about one time in eight.
#[monitor(objective = PAYMENTS)]
async fn charge_card(amount_cents: u64) -> Result<u64, PaymentDeclined> {
    tokio::time::sleep(Duration::from_millis(1 + random() % 5)).await;
    if random().is_multiple_of(8) {
        Err(PaymentDeclined)
    } else {
        Ok(amount_cents)
    }
}

struct Checkout;

/// Every method of the block is monitored, labelled `Checkout::<method>`.
#[monitor]
impl Checkout {
    /// The order id is recorded on the span; the card amount is not.
    #[monitor(objective = CHECKOUT, fields(order.id = order.id))]
    async fn place(&self, order: Order) -> Result<u64, String> {
        validate(&order).map_err(|e| e.0.to_owned())?;
        reserve_stock(&order).await;
        let charged = charge_card(order.amount_cents)
            .await
            .map_err(|_| format!("order {} declined", order.id))?;
        // A sample of orders is logged: each line carries this order's trace id.
        if order.id % 500 == 1 {
            tracing::info!(order_id = order.id, charged, "order placed");
        }
        Ok(charged)
    }
}

/// The rules, routing and dashboards of this catalogue, for the name it runs under.
pub(crate) fn artifacts() -> Artifacts {
    Artifacts::from_catalog().service_name(SERVICE)
}

fn install() -> Result<ObservabilityGuard, Error> {
    let json = std::env::var_os("LOG_FORMAT").is_none();
    let builder = || {
        let builder = Observability::builder().service_name(SERVICE);
        // JSON log lines by default; `LOG_FORMAT=text` for human-readable ones.
        if json {
            builder.log_format(LogFormat::Json)
        } else {
            builder
        }
    };
    match builder().install() {
        // Someone else has 9464: carry on, on any free port.
        Err(Error::Bind { addr, error }) if error.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("{addr} is in use; listening on a free port instead");
            builder().listen("127.0.0.1:0").install()
        }
        other => other,
    }
}

fn scrape(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[tokio::main]
pub(crate) async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--write-artifacts") {
        let dir = args
            .get(at + 1)
            .ok_or("--write-artifacts needs a directory: --write-artifacts DIR")?;
        for path in artifacts().write_to(dir)? {
            eprintln!("wrote {}", path.display());
        }
        return Ok(());
    }
    let keep_running = args.iter().any(|a| a == "--keep-running");
    let seconds: u64 = match std::env::var("FLEXT_OBS_QUICKSTART_SECONDS") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("FLEXT_OBS_QUICKSTART_SECONDS: `{s}` is not a number"))?,
        Err(_) => 30,
    };

    let guard = install()?;
    let addr = guard.local_addr().ok_or("the embedded server is off")?;
    eprintln!("serving http://{addr}/metrics");
    match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) => eprintln!("exporting traces and metrics over OTLP to {endpoint}"),
        Err(_) => {
            eprintln!("set OTEL_EXPORTER_OTLP_ENDPOINT to export traces and metrics over OTLP");
        }
    }
    if keep_running {
        eprintln!("running until interrupted (Ctrl-C)");
    } else {
        eprintln!("running for {seconds} s (--keep-running to stay up)");
    }

    let checkout = Checkout;
    let started = Instant::now();
    let mut next_id = 0u64;
    let (mut succeeded, mut failed) = (0u64, 0u64);
    let mut excerpt_shown = false;
    while keep_running || started.elapsed() < Duration::from_secs(seconds) {
        let batch: Vec<_> = (0..16)
            .map(|_| {
                next_id += 1;
                Order {
                    id: next_id,
                    quantity: u32::try_from(random() % 5).unwrap_or(1),
                    amount_cents: 100 + random() % 10_000,
                }
            })
            .collect();
        for order in batch {
            match checkout.place(order).await {
                Ok(_) => succeeded += 1,
                Err(_) => failed += 1,
            }
        }
        if !excerpt_shown && started.elapsed() > Duration::from_millis(500) {
            excerpt_shown = true;
            let response = tokio::task::spawn_blocking(move || scrape(addr)).await??;
            let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
            let status = head.lines().next().unwrap_or_default();
            eprintln!("\nGET /metrics -> {status}; the series that moved:");
            // Every series exists from the start, at zero: show the ones the orders moved.
            for line in body.lines().filter(|l| {
                l.starts_with("build_info")
                    || (l.starts_with("function_calls_total") && !l.ends_with(" 0"))
            }) {
                eprintln!("  {line}");
            }
            if !status.contains(" 200 ") {
                return Err(format!("unexpected answer from /metrics: {status}").into());
            }
            eprintln!();
        }
    }
    eprintln!("placed {next_id} orders: {succeeded} succeeded, {failed} failed; stopping");
    if succeeded + failed != next_id {
        return Err(format!(
            "{next_id} orders placed, {} accounted for",
            succeeded + failed
        )
        .into());
    }
    drop(guard);
    Ok(())
}
