//! Per-request overhead of each layer, in process.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use flext_observability::http::ServerLayer;
use tower::ServiceExt;

use crate::{median, quick};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Bare,
    NoopLayer,
    LoggingBare,
    LoggingMetrics,
    LoggingSpan,
    LoggingFull,
    FlextMetrics,
    AxumPrometheus,
    FlextSpan,
    FlextFull,
    TraceMetrics,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Bare => "bare router (baseline)",
            Variant::NoopLayer => "bare router + a no-op layer (axum's cost of `Router::layer`)",
            Variant::LoggingBare => "handler logging one line, no layer (baseline)",
            Variant::LoggingMetrics => "the same + `ServerLayer` metrics only",
            Variant::LoggingSpan => "the same + `ServerLayer` metrics + span",
            Variant::LoggingFull => "the same + `ServerLayer` default (+ correlation id)",
            Variant::FlextMetrics => {
                "flext `ServerLayer` metrics only (`spans(false).correlation(false)`)"
            }
            Variant::AxumPrometheus => "axum-prometheus 0.10.1 `PrometheusMetricLayer`",
            Variant::FlextSpan => "flext `ServerLayer` metrics + span (`correlation(false)`)",
            Variant::FlextFull => "flext `ServerLayer` default (metrics + span + correlation id)",
            Variant::TraceMetrics => "tower-http 0.7.1 `TraceLayer` + `metrics` middleware",
        }
    }
}

fn base() -> Router {
    Router::new().route("/orders/{id}", get(|| async { "ok" }))
}

/// A handler that writes one log line, as the example's do.
fn logging() -> Router {
    Router::new().route(
        "/orders/{id}",
        get(|| async {
            tracing::info!(order = 7, "order fetched");
            "ok"
        }),
    )
}

/// What axum's own metrics example does: labels from the request, `metrics` macros.
async fn record_metrics(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = matched.map(|m| m.as_str().to_owned()).unwrap_or_default();
    let response = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_requests_duration_seconds", &labels).record(start.elapsed());
    response
}

fn router(v: Variant, prometheus: &axum_prometheus::PrometheusMetricLayer<'static>) -> Router {
    match v {
        Variant::Bare => base(),
        Variant::NoopLayer => base().layer(tower::layer::util::Identity::new()),
        Variant::LoggingBare => logging(),
        Variant::LoggingMetrics => {
            logging().layer(ServerLayer::new().spans(false).correlation(false))
        }
        Variant::LoggingSpan => logging().layer(ServerLayer::new().correlation(false)),
        Variant::LoggingFull => logging().layer(ServerLayer::new()),
        Variant::FlextMetrics => base().layer(ServerLayer::new().spans(false).correlation(false)),
        Variant::FlextSpan => base().layer(ServerLayer::new().correlation(false)),
        Variant::FlextFull => base().layer(ServerLayer::new()),
        Variant::AxumPrometheus => base().layer(prometheus.clone()),
        Variant::TraceMetrics => base()
            .layer(middleware::from_fn(record_metrics))
            .layer(tower_http::trace::TraceLayer::new_for_http()),
    }
}

const URIS: [&str; 8] = [
    "/orders/1",
    "/orders/22",
    "/orders/333",
    "/orders/4444",
    "/orders/5",
    "/orders/66",
    "/orders/777",
    "/orders/8888",
];

async fn run(router: &Router, n: usize) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        let request = Request::get(URIS[i % URIS.len()])
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        black_box(response);
    }
    start.elapsed()
}

/// Nanoseconds per request of each variant, median of interleaved rounds.
fn measure(
    runtime: &tokio::runtime::Runtime,
    variants: &[Variant],
    with_spans: bool,
    prom: &axum_prometheus::PrometheusMetricLayer<'static>,
) -> Vec<(Variant, f64)> {
    let (rounds, n) = if quick() { (3, 2_000) } else { (21, 20_000) };
    let routers: Vec<(Variant, Router)> = variants.iter().map(|&v| (v, router(v, prom))).collect();
    let body = || {
        runtime.block_on(async {
            for (_, r) in &routers {
                run(r, n / 2).await;
            }
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); routers.len()];
            for round in 0..rounds {
                // Rotate the order so no variant always runs first.
                for k in 0..routers.len() {
                    let i = (k + round) % routers.len();
                    let t = run(&routers[i].1, n).await;
                    samples[i].push(t.as_nanos() as f64 / n as f64);
                }
            }
            routers
                .iter()
                .zip(samples.iter_mut())
                .map(|((v, _), s)| (*v, median(s)))
                .collect::<Vec<_>>()
        })
    };
    if with_spans {
        tracing::subscriber::with_default(tracing_subscriber::registry(), body)
    } else {
        body()
    }
}

pub(crate) fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The peer spawns its upkeep task on the runtime that drives the requests.
    let (prometheus, _handle) = {
        let _entered = runtime.enter();
        axum_prometheus::PrometheusMetricLayer::pair()
    };
    eprintln!("== overhead: metrics only (no tracing subscriber)");
    let metrics_only = measure(
        &runtime,
        &[
            Variant::Bare,
            Variant::NoopLayer,
            Variant::FlextMetrics,
            Variant::AxumPrometheus,
            // Its spans are disabled without a subscriber: a metrics-only peer here.
            Variant::TraceMetrics,
        ],
        false,
        &prometheus,
    );
    eprintln!("== overhead: with spans (tracing_subscriber::registry())");
    let spans = measure(
        &runtime,
        &[
            Variant::Bare,
            Variant::NoopLayer,
            Variant::FlextSpan,
            Variant::FlextFull,
            Variant::TraceMetrics,
            Variant::AxumPrometheus,
        ],
        true,
        &prometheus,
    );
    // Last: `install()` sets the process's subscriber for good.
    eprintln!(
        "== overhead: under install() (JSON logs to a sink, no trace exporter: no OpenTelemetry layer)"
    );
    let _guard = flext_observability::Observability::builder()
        .without_server()
        // axum-prometheus holds the `metrics` recorder.
        .metrics_recorder(false)
        .system_checks(false)
        .log_format(flext_observability::logs::LogFormat::Json)
        .log_writer(std::io::sink())
        .install()
        .expect("install");
    let installed = measure(
        &runtime,
        &[
            Variant::LoggingBare,
            Variant::LoggingMetrics,
            Variant::LoggingSpan,
            Variant::LoggingFull,
        ],
        false,
        &prometheus,
    );
    report("Metrics only, no `tracing` subscriber", &metrics_only);
    report(
        "With a `tracing_subscriber::registry()` recording spans",
        &spans,
    );
    report(
        "Under `install()`: JSON log lines (to a sink), no trace exporter (no OpenTelemetry layer)",
        &installed,
    );

    let overhead = |rows: &[(Variant, f64)], v: Variant| {
        let bare = rows.iter().find(|(x, _)| *x == Variant::Bare).unwrap().1;
        rows.iter()
            .find(|(x, _)| *x == v)
            .map(|(_, t)| t - bare)
            .unwrap()
    };
    // Each mode against the fastest peer measured under the same conditions.
    let peers = [Variant::AxumPrometheus, Variant::TraceMetrics];
    let fastest = |rows: &[(Variant, f64)]| {
        rows.iter()
            .filter(|(v, _)| peers.contains(v))
            .map(|(v, _)| overhead(rows, *v))
            .fold(f64::INFINITY, f64::min)
    };
    println!("\nTargets (issue 9: ≤ 1/3 of the fastest peer's overhead, same conditions):\n");
    for (what, rows, ours) in [
        ("metrics only", &metrics_only, Variant::FlextMetrics),
        ("metrics + span", &spans, Variant::FlextSpan),
    ] {
        let (ours, peer) = (overhead(rows, ours), fastest(rows));
        let ratio = ours / peer;
        println!(
            "- {what}: {ours:.0} ns against {peer:.0} ns = {ratio:.2}×: {}",
            if ratio <= 1.0 / 3.0 { "met" } else { "NOT met" }
        );
    }
}

fn report(title: &str, rows: &[(Variant, f64)]) {
    let bare = rows[0].1;
    println!("\n### {title}\n");
    println!("| variant | ns/request | overhead (ns) |");
    println!("|---|---:|---:|");
    for (v, t) in rows {
        let over = if matches!(v, Variant::Bare | Variant::LoggingBare) {
            "—".to_owned()
        } else {
            format!("{:.0}", t - bare)
        };
        println!("| {} | {t:.0} | {over} |", v.label());
    }
}

/// Runs the metrics-only layer alone for a few seconds (for `perf`).
pub(crate) fn profile() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (prometheus, _handle) = {
        let _entered = runtime.enter();
        axum_prometheus::PrometheusMetricLayer::pair()
    };
    let variant = match std::env::var("FLEXT_BENCH_VARIANT").as_deref() {
        Ok("bare") => Variant::Bare,
        Ok("noop") => Variant::NoopLayer,
        Ok("span") => Variant::FlextSpan,
        Ok("full") => Variant::FlextFull,
        Ok("axum-prometheus") => Variant::AxumPrometheus,
        Ok("trace-metrics") => Variant::TraceMetrics,
        _ => Variant::FlextMetrics,
    };
    let n: usize = std::env::var("FLEXT_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000_000);
    let r = router(variant, &prometheus);
    let t = runtime.block_on(run(&r, n));
    eprintln!(
        "{variant:?}: {:.0} ns/request",
        t.as_nanos() as f64 / n as f64
    );
}
