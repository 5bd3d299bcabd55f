//! One configuration of the stack, measured in this process (a `tracing` subscriber is
//! global: one configuration per process). Run by the driver (`benches/stack.rs`), which
//! sets the environment (`LOG_LEVEL`, `OTEL_*`) and reads the `name<TAB>value` lines
//! printed here.
//!
//! ```sh
//! stack-case <mode>      # CALLS=1000000 BLOCKS=21
//! ```
//!
//! Modes:
//!
//! - `monitor`: `install()` as the environment says (an OTLP endpoint on a local sink
//!   collector when `FLEXT_BENCH_SINK=1`), then `#[monitor]` and
//!   `#[monitor(span = false)]` alternated in blocks;
//! - `json-line` (features `logs`): the same, plus a monitored function that writes one
//!   log line;
//! - `peer-json-line`: the same functions under `tracing-subscriber`'s own JSON layer;
//! - `peer-instrument-registry`: `#[tracing::instrument]` under a registry;
//! - `peer-otel-batch`, `peer-otel-batch-ratio` (feature `otlp`): `#[tracing::instrument]`
//!   under `tracing-opentelemetry` and the OpenTelemetry SDK's batch exporter (OTLP/HTTP
//!   to the sink), sampling every trace or 1 % of them.
//!
//! Times are the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): exporter threads
//! are not charged to the call, and a shared machine's other work is not either.

use std::hint::black_box;

use flext_observability::monitor;

#[monitor]
fn with_span(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[monitor(span = false)]
fn metrics_only(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[monitor]
fn logged(x: u64) -> u64 {
    tracing::info!(x, "work done");
    black_box(x).wrapping_mul(31)
}

#[monitor(span = false)]
fn logged_no_span(x: u64) -> u64 {
    tracing::info!(x, "work done");
    black_box(x).wrapping_mul(31)
}

#[tracing::instrument(skip_all)]
fn instrumented(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

/// This thread's CPU time, ns.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    #[allow(clippy::cast_sign_loss)]
    let ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    ns
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A function measured: called with the loop index.
type Call = fn(u64) -> u64;

/// ns per call of `f` over `calls` calls.
fn block(calls: u64, f: fn(u64) -> u64) -> f64 {
    let start = cpu_ns();
    for i in 0..calls {
        black_box(f(i));
    }
    (cpu_ns() - start) as f64 / calls as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The functions alternated block by block (same CPU frequency, caches, neighbours),
/// after a warm-up; prints each one's median ns per call, and the median of the
/// per-block ratios of each to the last one.
fn alternate(fns: &[(&str, Call)]) {
    let calls = env_u64("CALLS", 1_000_000);
    let blocks = env_u64("BLOCKS", 21);
    let per_block = (calls / blocks).max(1);
    for (_, f) in fns {
        block(per_block / 4 + 1, *f);
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); fns.len()];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); fns.len()];
    for _ in 0..blocks {
        let t: Vec<f64> = fns.iter().map(|(_, f)| block(per_block, *f)).collect();
        let base = t[t.len() - 1];
        for (i, v) in t.iter().enumerate() {
            times[i].push(*v);
            ratios[i].push(v / base);
        }
    }
    let last = fns[fns.len() - 1].0;
    for (i, (name, _)) in fns.iter().enumerate() {
        println!("{name}\t{:.2}", median(times[i].clone()));
        if i + 1 < fns.len() {
            println!("{name}/{last}\t{:.3}", median(ratios[i].clone()));
        }
    }
}

/// A local OTLP/HTTP collector that answers every request at once and counts bytes.
#[cfg(feature = "otlp")]
mod sink {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicU64, Ordering};

    pub(crate) static BYTES: AtomicU64 = AtomicU64::new(0);
    pub(crate) static REQUESTS: AtomicU64 = AtomicU64::new(0);

    pub(crate) fn start() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream));
            }
        });
        format!("http://{addr}")
    }

    fn serve(stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut out = stream;
        loop {
            let mut length = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            BYTES.fetch_add(length as u64, Ordering::Relaxed);
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
            if out.write_all(reply).is_err() {
                return;
            }
        }
    }
}

/// `install()` from the environment (the log writer a sink: lines cost their
/// formatting, not a terminal).
fn install() -> flext_observability::ObservabilityGuard {
    let builder = flext_observability::Observability::builder().without_server();
    #[cfg(feature = "logs")]
    let builder = builder.log_writer(std::io::sink());
    #[cfg(feature = "otlp")]
    let builder = if std::env::var("FLEXT_BENCH_SINK").is_ok() {
        builder
            .otlp_endpoint(sink::start())
            // Metrics once, at the end: the calls are what is measured.
            .metric_export_interval(std::time::Duration::from_secs(3600))
    } else {
        builder
    };
    let guard = builder.install().expect("install");
    #[cfg(feature = "logs")]
    println!(
        "@layers\t{}",
        flext_observability::logs::installed_layers().join(",")
    );
    guard
}

/// What our exporter did, from its self-metrics.
#[cfg(feature = "otlp")]
fn exporter_stats() {
    let text = flext_observability::prometheus::render();
    for line in text.lines().filter(|l| l.starts_with("flext_otlp_")) {
        if line.contains("signal=\"traces\"") {
            let (series, value) = line.rsplit_once(' ').unwrap();
            eprintln!("  {series} = {value}");
        }
    }
}

#[cfg(feature = "otlp")]
fn peer_otel(sampler: opentelemetry_sdk::trace::Sampler) {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let endpoint = sink::start();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .build();
    let tracer = provider.tracer("peer");
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    alternate(&[("instrument", instrumented), ("monitor", with_span)]);
    let _ = provider.shutdown();
    eprintln!(
        "  sink received {} requests, {} bytes",
        sink::REQUESTS.load(std::sync::atomic::Ordering::Relaxed),
        sink::BYTES.load(std::sync::atomic::Ordering::Relaxed)
    );
}

fn main() {
    let mode = std::env::args().nth(1).expect("a mode");
    match mode.as_str() {
        "monitor" => {
            let guard = install();
            alternate(&[("monitor", with_span), ("span_false", metrics_only)]);
            #[cfg(feature = "otlp")]
            exporter_stats();
            drop(guard);
        }
        #[cfg(feature = "logs")]
        "json-line" => {
            let _guard = install();
            alternate(&[
                ("monitor_line", logged),
                ("span_false_line", logged_no_span),
                ("monitor", with_span),
                ("span_false", metrics_only),
            ]);
        }
        #[cfg(feature = "logs")]
        "peer-json-line" => {
            use tracing_subscriber::Layer as _;
            use tracing_subscriber::layer::SubscriberExt as _;
            let layer = tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink)
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .unwrap();
            alternate(&[
                ("monitor_line", logged),
                ("span_false_line", logged_no_span),
                ("monitor", with_span),
                ("span_false", metrics_only),
            ]);
        }
        "peer-instrument-registry" => {
            use tracing_subscriber::layer::SubscriberExt as _;
            // A registry with a (no-op) layer: a bare `registry()` never frees closed
            // spans (only a `Layered` runs the close guard), see BENCHMARKS.md.
            tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new()),
            )
            .unwrap();
            alternate(&[("instrument", instrumented), ("monitor", with_span)]);
        }
        #[cfg(feature = "otlp")]
        "peer-otel-batch" => peer_otel(opentelemetry_sdk::trace::Sampler::AlwaysOn),
        #[cfg(feature = "otlp")]
        "peer-otel-batch-ratio" => peer_otel(opentelemetry_sdk::trace::Sampler::ParentBased(
            Box::new(opentelemetry_sdk::trace::Sampler::TraceIdRatioBased(0.01)),
        )),
        other => panic!("unknown mode {other} (or not in this build's features)"),
    }
}
