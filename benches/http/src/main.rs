//! The HTTP server layer against its peers, in one run.
//!
//! ```sh
//! cd benches/http && cargo bench --bench http                       # both parts, ~3 minutes
//! cd benches/http && FLEXT_BENCH_QUICK=1 cargo bench --bench http  # smoke run
//! cd benches/http && FLEXT_BENCH_PART=overhead cargo bench --bench http
//! cd benches/http && FLEXT_BENCH_PART=throughput cargo bench --bench http   # needs `wrk`
//! ```
//!
//! **Overhead**: an axum router with one trivial handler (`GET /orders/{id}`), called
//! in process through `tower::ServiceExt::oneshot` on a current-thread runtime, with
//! each layer added with `Router::layer`; the overhead of a layer is its time per
//! request minus the bare router's, measured in the same round (rounds interleave the
//! variants; the median of the rounds is reported). Metrics-only variants run with no
//! `tracing` subscriber; span variants with a `tracing_subscriber::registry()` as the
//! thread's default (spans are created and recorded by the registry, nothing exported).
//!
//! **Throughput**: the `http_service` example's app (`src/bin/http_app.rs`, with the
//! layer or without it, installed as the example installs it) under `wrk` on loopback,
//! alternating the two servers; the median requests per second of each.

mod overhead;
mod throughput;

fn main() {
    let part = std::env::var("FLEXT_BENCH_PART").unwrap_or_default();
    if part.is_empty() || part == "overhead" {
        overhead::main();
    }
    if part == "profile" {
        // One variant in a loop, for a profiler: FLEXT_BENCH_PART=profile perf record …
        overhead::profile();
        return;
    }
    if part.is_empty() || part == "throughput" {
        throughput::main();
    }
}

/// Whether this is a smoke run (`FLEXT_BENCH_QUICK=1`).
pub(crate) fn quick() -> bool {
    std::env::var("FLEXT_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// The median of `values` (sorted in place).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    }
}
