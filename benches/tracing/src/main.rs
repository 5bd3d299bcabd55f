//! Per-call cost of spans, in one run:
//!
//! - `#[monitor]` (metrics + span) under a `tracing_subscriber::registry()` subscriber with
//!   a no-op layer,
//!   against `#[tracing::instrument]` alone under the same subscriber, and against
//!   fastrace (`#[fastrace::trace]` under a local parent, null reporter);
//! - `#[monitor]` whose span is filtered out (no subscriber; a subscriber at `WARN`)
//!   against `#[monitor(span = false)]` (metrics only);
//! - `#[monitor]` under the subscriber of `install()`: without an exporter (no layer
//!   wants the span), and exporting while the OTLP collector is down (accepts
//!   connections, never answers). `benches/stack` measures `install()`'s stacks in full.
//!
//! Each case runs in its own process (so each can set the global subscriber), cases
//! interleaved round after round; the median of the rounds is reported.
//!
//! ```sh
//! cd benches/tracing && cargo bench
//! ROUNDS=9 CALLS=2000000 cargo bench
//! ```

use std::hint::black_box;
use std::process::Command;
use std::time::Instant;

use flext_observability::monitor;

#[monitor]
fn with_span(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[monitor(span = false)]
fn metrics_only(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[tracing::instrument(skip_all)]
fn instrumented(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[fastrace::trace]
fn fastraced(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

fn plain(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the operation failed")
    }
}

#[monitor]
fn with_span_err(x: u64) -> Result<u64, Failed> {
    if black_box(x) < u64::MAX { Err(Failed) } else { Ok(x) }
}

#[tracing::instrument(skip_all, err)]
fn instrumented_err(x: u64) -> Result<u64, Failed> {
    if black_box(x) < u64::MAX { Err(Failed) } else { Ok(x) }
}

fn monitor_err(x: u64) -> u64 {
    with_span_err(x).unwrap_or(1)
}

fn instrument_err(x: u64) -> u64 {
    instrumented_err(x).unwrap_or(1)
}

const CASES: &[(&str, &str)] = &[
    ("baseline", "plain function, no instrumentation"),
    (
        "monitor_span_registry",
        "#[monitor] with its span, registry subscriber",
    ),
    (
        "instrument_registry",
        "#[tracing::instrument] alone, registry subscriber",
    ),
    (
        "monitor_err_registry",
        "#[monitor] returning Err (error status + exception event), registry subscriber",
    ),
    (
        "instrument_err_registry",
        "#[tracing::instrument(err)] returning Err, registry subscriber",
    ),
    (
        "fastrace",
        "#[fastrace::trace], local parent, null reporter",
    ),
    ("metrics_only", "#[monitor(span = false)], no subscriber"),
    (
        "monitor_span_no_subscriber",
        "#[monitor], no subscriber (span filtered out)",
    ),
    (
        "metrics_only_warn",
        "#[monitor(span = false)], registry subscriber at WARN",
    ),
    (
        "monitor_span_filtered_warn",
        "#[monitor], registry subscriber at WARN (span filtered out)",
    ),
    (
        "ab_registry_ratio",
        "#[monitor] / #[instrument], alternated in one process, registry subscriber",
    ),
    (
        "ab_otel_ratio",
        "#[monitor] / #[instrument], alternated, install() exporting to a dead collector",
    ),
    (
        "ab_no_subscriber",
        "span filtered out minus metrics only, alternated, no subscriber",
    ),
    (
        "ab_warn_subscriber",
        "span filtered out minus metrics only, alternated, WARN subscriber",
    ),
    (
        "monitor_otel_no_export",
        "#[monitor], install() without an exporter, log level off (no layer wants the span)",
    ),
    (
        "monitor_collector_down",
        "#[monitor], install() with OTLP to a dead collector",
    ),
];

fn time(calls: u64, f: fn(u64) -> u64) -> f64 {
    // Warm-up: slots, callsite interest, caches.
    for i in 0..calls / 10 {
        black_box(f(i));
    }
    let start = Instant::now();
    for i in 0..calls {
        black_box(f(i));
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

struct NullReporter;

impl fastrace::collector::Reporter for NullReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        black_box(spans);
    }
}

/// A registry with a (no-op) layer. A bare `registry()` never frees closed spans (only a
/// `Layered` runs the close guard): it leaks 150 bytes per span and inflates every span
/// cost; every real set-up has at least one layer.
fn registry() -> impl tracing::Subscriber + Send + Sync {
    use tracing_subscriber::layer::SubscriberExt;
    tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new())
}

fn run_case(case: &str, calls: u64) -> f64 {
    use tracing_subscriber::layer::SubscriberExt;
    match case {
        "baseline" => time(calls, plain),
        "monitor_span_registry" => {
            tracing::subscriber::set_global_default(registry()).unwrap();
            time(calls, with_span)
        }
        "instrument_registry" => {
            tracing::subscriber::set_global_default(registry()).unwrap();
            time(calls, instrumented)
        }
        "monitor_err_registry" => {
            tracing::subscriber::set_global_default(registry()).unwrap();
            time(calls, monitor_err)
        }
        "instrument_err_registry" => {
            tracing::subscriber::set_global_default(registry()).unwrap();
            time(calls, instrument_err)
        }
        "fastrace" => {
            fastrace::set_reporter(NullReporter, fastrace::collector::Config::default());
            let root = fastrace::Span::root("bench", fastrace::prelude::SpanContext::random());
            let _parent = root.set_local_parent();
            let ns = time(calls, fastraced);
            drop(_parent);
            drop(root);
            fastrace::flush();
            ns
        }
        "metrics_only" => time(calls, metrics_only),
        "monitor_span_no_subscriber" => time(calls, with_span),
        "metrics_only_warn" | "monitor_span_filtered_warn" => {
            let subscriber =
                tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::WARN);
            tracing::subscriber::set_global_default(subscriber).unwrap();
            if case == "metrics_only_warn" {
                time(calls, metrics_only)
            } else {
                time(calls, with_span)
            }
        }
        "ab_registry_ratio" => {
            tracing::subscriber::set_global_default(registry()).unwrap();
            let block = (calls / 10).max(1);
            let mut ratios = Vec::new();
            for _ in 0..21 {
                let a = time(block, instrumented);
                let b = time(block, with_span);
                ratios.push(b / a);
            }
            median(ratios)
        }
        "ab_otel_ratio" => {
            let _guard = flext_observability::Observability::builder()
                .without_server()
                .log_level("off")
                .otlp_endpoint(format!("http://{}", dead_collector()))
                .otlp_timeout(std::time::Duration::from_millis(200))
                .install()
                .unwrap();
            let block = (calls / 100).max(1);
            let mut ratios = Vec::new();
            for _ in 0..21 {
                let a = time(block, instrumented);
                let b = time(block, with_span);
                ratios.push(b / a);
            }
            median(ratios)
        }
        "ab_no_subscriber" => alternate(calls),
        "ab_warn_subscriber" => {
            let subscriber =
                tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::WARN);
            tracing::subscriber::set_global_default(subscriber).unwrap();
            alternate(calls)
        }
        "monitor_otel_no_export" => {
            let _guard = flext_observability::Observability::builder()
                .without_server()
                .log_level("off")
                .install()
                .unwrap();
            time(calls, with_span)
        }
        "monitor_collector_down" => {
            let addr = dead_collector();
            let _guard = flext_observability::Observability::builder()
                .without_server()
                .log_level("off")
                .otlp_endpoint(format!("http://{addr}"))
                .otlp_timeout(std::time::Duration::from_millis(200))
                .install()
                .unwrap();
            let ns = time(calls, with_span);
            let text = flext_observability::prometheus::render();
            let dropped = text
                .lines()
                .find(|l| {
                    l.starts_with(
                        r#"flext_otlp_dropped_total{signal="traces",reason="queue_full"}"#,
                    )
                })
                .and_then(|l| l.rsplit(' ').next())
                .unwrap_or("?")
                .to_owned();
            eprintln!("collector down: spans dropped (queue full) = {dropped}");
            ns
        }
        other => panic!("unknown case {other}"),
    }
}

/// A collector that accepts connections and never answers.
fn dead_collector() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    addr
}

/// Median of (span filtered out − metrics only) over alternating blocks in one process:
/// both see the same CPU frequency, cache and neighbour load.
fn alternate(calls: u64) -> f64 {
    let block = (calls / 10).max(1);
    let mut diffs = Vec::new();
    for _ in 0..21 {
        let a = time(block, metrics_only);
        let b = time(block, with_span);
        diffs.push(b - a);
    }
    median(diffs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let calls: u64 = std::env::var("CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    if let Some(case) = args.next() {
        println!("{}", run_case(&case, calls));
        return;
    }
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let exe = std::env::current_exe().unwrap();
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); CASES.len()];
    for round in 0..rounds {
        for (i, (case, _)) in CASES.iter().enumerate() {
            let out = Command::new(&exe)
                .arg(case)
                .env("CALLS", calls.to_string())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{case}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if round == 0 && !out.stderr.is_empty() {
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
            }
            results[i].push(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap());
        }
    }
    let med: Vec<f64> = results.into_iter().map(median).collect();
    let get = |name: &str| med[CASES.iter().position(|(c, _)| *c == name).unwrap()];
    println!("median of {rounds} runs, {calls} calls each, ns per call:");
    for ((case, what), ns) in CASES.iter().zip(&med) {
        println!("  {case:<28} {ns:>8.2}  {what}");
    }
    println!("ratios:");
    println!(
        "  #[monitor] with span / #[instrument] alone (registry): {:.2} (separate processes), {:.2} (alternated)  (target <= 1.10)",
        get("monitor_span_registry") / get("instrument_registry"),
        get("ab_registry_ratio")
    );
    println!(
        "  #[monitor] with span / #[instrument] alone (exporting, dead collector): {:.2} (alternated)",
        get("ab_otel_ratio")
    );
    println!(
        "  #[monitor] with span / fastrace:                      {:.2}",
        get("monitor_span_registry") / get("fastrace")
    );
    println!(
        "  collector down / no exporter:                         {:.2}",
        get("monitor_collector_down") / get("monitor_otel_no_export")
    );
    println!(
        "  filtered-out span, no subscriber:   {:+.1} ns over metrics only (separate processes), {:+.1} ns (alternated) (target <= 2)",
        get("monitor_span_no_subscriber") - get("metrics_only"),
        get("ab_no_subscriber")
    );
    println!(
        "  filtered-out span, WARN subscriber: {:+.1} ns over metrics only (separate processes), {:+.1} ns (alternated) (target <= 2)",
        get("monitor_span_filtered_warn") - get("metrics_only_warn"),
        get("ab_warn_subscriber")
    );
}
