//! The gRPC server layer against its peer, in one run.
//!
//! ```sh
//! cd benches/grpc && cargo bench --bench grpc                       # ~2 minutes
//! cd benches/grpc && FLEXT_BENCH_QUICK=1 cargo bench --bench grpc  # smoke run
//! cd benches/grpc && ./instructions.sh                              # instructions per call (valgrind)
//! ```
//!
//! **Overhead**: the `grpc_service` example's `Orders` service behind tonic's `Routes`
//! (what `Server::builder().add_service(..)` serves), called in process with a unary
//! `GetOrder` request (a gRPC frame in a body, as hyper hands it to tonic), its response
//! read to the trailers, on a current-thread runtime. A layer's overhead is its time per
//! call minus the bare service's in the same round (rounds interleave the variants; the
//! median of the rounds is reported). Metrics-only variants run with no `tracing`
//! subscriber; span variants with a `tracing_subscriber::registry()` as the thread's
//! default (spans created and recorded, nothing exported).
//!
//! The peer: tower-http 0.7.1's `TraceLayer::new_for_grpc()` (its classifier reads
//! `grpc-status` from the headers and the trailers) and a metrics middleware as gRPC
//! services commonly write one: labels from the path, the status from the response
//! headers, `metrics::counter!` and `histogram!` into the `metrics-exporter-prometheus`
//! recorder.

mod peer;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flext_observability::grpc::ServerLayer;
use flext_observability_examples::grpc_service::OrdersService;
use flext_observability_examples::grpc_service::proto::orders_server::OrdersServer;
use http_body_util::{BodyExt, Full};
use tonic::body::Body;
use tonic::service::Routes;
use tower::{Service, ServiceExt};

/// `GetOrderRequest { id: 7 }` in a gRPC frame: not compressed, 2 bytes, field 1 = 7.
const FRAME: &[u8] = &[0, 0, 0, 0, 2, 0x08, 7];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Bare,
    FlextMetrics,
    FlextSpan,
    FlextFull,
    Peer,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Bare => "tonic `Routes`, no layer (baseline)",
            Variant::FlextMetrics => {
                "flext `grpc::ServerLayer` metrics only (`spans(false).correlation(false)`)"
            }
            Variant::FlextSpan => "flext `grpc::ServerLayer` metrics + span (`correlation(false)`)",
            Variant::FlextFull => {
                "flext `grpc::ServerLayer` default (metrics + span + correlation id)"
            }
            Variant::Peer => "tower-http 0.7.1 `TraceLayer::new_for_grpc()` + `metrics` middleware",
        }
    }
}

fn routes() -> Routes {
    Routes::new(OrdersServer::new(OrdersService))
}

fn request() -> http::Request<Body> {
    http::Request::post("/orders.v1.Orders/GetOrder")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::new(Full::new(Bytes::from_static(FRAME))))
        .unwrap()
}

/// `n` calls through `service`, each response read to its end.
async fn run<S, B>(service: &S, n: usize) -> Duration
where
    S: Service<http::Request<Body>, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let start = Instant::now();
    for _ in 0..n {
        let response = service.clone().oneshot(request()).await.unwrap();
        let mut body = std::pin::pin!(response.into_body());
        let mut trailers = false;
        while let Some(frame) = body.frame().await {
            trailers |= frame.unwrap().is_trailers();
        }
        assert!(trailers, "a unary success ends with trailers");
    }
    black_box(start.elapsed())
}

/// One variant's calls.
async fn run_variant(v: Variant, n: usize) -> Duration {
    let layered = |layer: ServerLayer| tower::ServiceBuilder::new().layer(layer).service(routes());
    let known = || ServerLayer::new().known_methods(&["orders.v1.Orders/GetOrder"]);
    match v {
        Variant::Bare => run(&routes(), n).await,
        Variant::FlextMetrics => run(&layered(known().spans(false).correlation(false)), n).await,
        Variant::FlextSpan => run(&layered(known().correlation(false)), n).await,
        Variant::FlextFull => run(&layered(known()), n).await,
        Variant::Peer => run(&peer::stack(routes()), n).await,
    }
}

pub(crate) fn quick() -> bool {
    std::env::var("FLEXT_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    }
}

/// Nanoseconds per call of each variant, median of interleaved rounds.
fn measure(
    runtime: &tokio::runtime::Runtime,
    variants: &[Variant],
    with_spans: bool,
) -> Vec<(Variant, f64)> {
    let (rounds, n) = if quick() { (3, 2_000) } else { (21, 20_000) };
    let body = || {
        runtime.block_on(async {
            for v in variants {
                run_variant(*v, n / 2).await;
            }
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
            for round in 0..rounds {
                // Rotate the order so no variant always runs first.
                for k in 0..variants.len() {
                    let i = (k + round) % variants.len();
                    let t = run_variant(variants[i], n).await;
                    samples[i].push(t.as_nanos() as f64 / n as f64);
                }
            }
            variants
                .iter()
                .zip(samples.iter_mut())
                .map(|(v, s)| (*v, median(s)))
                .collect::<Vec<_>>()
        })
    };
    if with_spans {
        tracing::subscriber::with_default(tracing_subscriber::registry(), body)
    } else {
        body()
    }
}

fn report(title: &str, rows: &[(Variant, f64)]) {
    let bare = rows[0].1;
    println!("\n### {title}\n");
    println!("| variant | ns/call | overhead (ns) |");
    println!("|---|---:|---:|");
    for (v, t) in rows {
        let over = if *v == Variant::Bare {
            "—".to_owned()
        } else {
            format!("{:.0}", t - bare)
        };
        println!("| {} | {t:.0} | {over} |", v.label());
    }
}

fn main() {
    peer::install_recorder();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var("FLEXT_BENCH_PART").as_deref() == Ok("profile") {
        profile(&runtime);
        return;
    }
    eprintln!("== overhead: metrics only (no tracing subscriber)");
    let metrics_only = measure(
        &runtime,
        &[Variant::Bare, Variant::FlextMetrics, Variant::Peer],
        false,
    );
    eprintln!("== overhead: with spans (tracing_subscriber::registry())");
    let spans = measure(
        &runtime,
        &[
            Variant::Bare,
            Variant::FlextSpan,
            Variant::FlextFull,
            Variant::Peer,
        ],
        true,
    );
    report("Metrics only, no `tracing` subscriber", &metrics_only);
    report(
        "With a `tracing_subscriber::registry()` recording spans",
        &spans,
    );
    let overhead = |rows: &[(Variant, f64)], v: Variant| {
        rows.iter().find(|(x, _)| *x == v).unwrap().1 - rows[0].1
    };
    println!("\nTargets (issue 11: ≤ 1/3 of the peer's overhead, same conditions):\n");
    for (what, rows, ours) in [
        ("metrics only", &metrics_only, Variant::FlextMetrics),
        ("metrics + span", &spans, Variant::FlextSpan),
        ("default (metrics + span + correlation id)", &spans, Variant::FlextFull),
    ] {
        let (ours, peer) = (overhead(rows, ours), overhead(rows, Variant::Peer));
        let ratio = ours / peer;
        println!(
            "- {what}: {ours:.0} ns against {peer:.0} ns = {ratio:.2}×: {}",
            if ratio <= 1.0 / 3.0 { "met" } else { "NOT met" }
        );
    }
}

/// One variant in a loop, for callgrind or perf (`FLEXT_BENCH_VARIANT`,
/// `FLEXT_BENCH_CALLS`).
fn profile(runtime: &tokio::runtime::Runtime) {
    let variant = match std::env::var("FLEXT_BENCH_VARIANT").as_deref() {
        Ok("bare") => Variant::Bare,
        Ok("span") => Variant::FlextSpan,
        Ok("full") => Variant::FlextFull,
        Ok("peer") => Variant::Peer,
        _ => Variant::FlextMetrics,
    };
    let n: usize = std::env::var("FLEXT_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    // Warm-up outside `measured`: the clock's calibration (time-based, so its instruction
    // count differs from run to run) and every lazily built structure.
    runtime.block_on(run_variant(variant, 100));
    let t = measured(runtime, variant, n);
    eprintln!("{variant:?}: {:.0} ns/call", t.as_nanos() as f64 / n as f64);
}

/// The measured calls: `instructions.sh` collects only inside this function
/// (`--toggle-collect=grpc::measured`).
#[inline(never)]
fn measured(runtime: &tokio::runtime::Runtime, variant: Variant, n: usize) -> Duration {
    runtime.block_on(run_variant(variant, n))
}
