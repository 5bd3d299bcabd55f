//! Per-call cost of each way to instrument one function, at 1 and 2 threads.
//!
//! Every variant wraps the same body ([`work`]) and records the same facts where the
//! peer can: calls by `function`/`module`/`result`, a duration histogram, an in-flight
//! gauge. Threads come from a persistent pool (long-lived workers, as in a server) and
//! hammer one variant concurrently for a fixed window; each reports its own ns per call.
//! Variants are interleaved run by run, so slow drifts of the machine hit all of them.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use flext_observability_bench_core::{
    emit, median, quick, runs, settle, spread, thread_cpu_ns, wall_clock, work,
};

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// The default duration buckets of `#[monitor]` (22 bounds, 10 µs … 10 s), used by every
/// variant with a histogram so the bucket search costs the same everywhere.
const BOUNDS: &[f64] = flext_observability::DEFAULT_BUCKETS;
const NBOUNDS: usize = 22;
const BOUNDS_NS: [u64; NBOUNDS] = {
    let mut out = [0u64; NBOUNDS];
    let mut i = 0;
    while i < NBOUNDS {
        out[i] = (BOUNDS[i] * 1e9 + 0.5) as u64;
        i += 1;
    }
    out
};

const FUNCTION: &str = "peer_fn";
const MODULE: &str = module_path!();

/// Polls a future that completes on its first poll: the minimal executor every async
/// variant uses.
#[inline(always)]
fn poll_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("benchmark futures complete on their first poll"),
    }
}

/// The error every error-path variant returns.
#[derive(Debug, Clone, Copy)]
pub struct BenchError(u64);

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bench error {}", self.0)
    }
}

impl std::error::Error for BenchError {}

#[inline(always)]
fn unwrap_either(r: Result<u64, BenchError>) -> u64 {
    match r {
        Ok(v) | Err(BenchError(v)) => v,
    }
}

fn quanta_clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

// ---------------------------------------------------------------------------------------
// Baselines
// ---------------------------------------------------------------------------------------

#[inline(never)]
fn bare(x: u64) -> u64 {
    work(x)
}

async fn bare_async_fn(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn bare_async(x: u64) -> u64 {
    poll_ready(bare_async_fn(x))
}

#[inline(never)]
fn bare_err_fn(x: u64) -> Result<u64, BenchError> {
    Err(BenchError(work(x)))
}

#[inline(never)]
fn bare_err(x: u64) -> u64 {
    unwrap_either(bare_err_fn(x))
}

// ---------------------------------------------------------------------------------------
// One clock read (context for the floors)
// ---------------------------------------------------------------------------------------

#[inline(never)]
fn clock_instant(x: u64) -> u64 {
    black_box(Instant::now());
    work(x)
}

#[inline(never)]
fn clock_quanta(x: u64) -> u64 {
    black_box(quanta_clock().raw());
    work(x)
}

#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn clock_rdtsc(x: u64) -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    black_box(unsafe { core::arch::x86_64::_rdtsc() });
    work(x)
}

// ---------------------------------------------------------------------------------------
// Floors: two clock reads + count + bucket + sum, nothing else
// ---------------------------------------------------------------------------------------

/// Counters of one floor variant (or of one thread's shard of it).
#[repr(C, align(128))]
struct Cells {
    count: AtomicU64,
    sum: AtomicU64,
    buckets: [AtomicU64; NBOUNDS + 1],
}

impl Cells {
    const fn new() -> Self {
        Cells {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            buckets: [const { AtomicU64::new(0) }; NBOUNDS + 1],
        }
    }
}

/// Bucket of a duration: the first bound at or above it. The loop stops there, and since
/// the durations of one function cluster, its exit branch is predicted: for a fast
/// function this is one compare.
#[inline(always)]
fn bucket(nanos: u64) -> usize {
    BOUNDS_NS
        .iter()
        .position(|&b| nanos <= b)
        .unwrap_or(NBOUNDS)
}

/// The search `#[monitor]` did before commit 8925ca9 (`MonitorSite::record`): branch-free,
/// it compares the duration with every bound. Kept to show what that costs.
#[inline(always)]
fn bucket_count_all(nanos: u64, bounds: &[u64]) -> usize {
    bounds.iter().filter(|&&b| b < nanos).count()
}

#[inline(always)]
fn shared_record(cells: &Cells, nanos: u64) {
    cells.count.fetch_add(1, Ordering::Relaxed);
    cells.sum.fetch_add(nanos, Ordering::Relaxed);
    cells.buckets[bucket(nanos)].fetch_add(1, Ordering::Relaxed);
}

#[inline(always)]
fn single_writer_add(cell: &AtomicU64, v: u64) {
    cell.store(
        cell.load(Ordering::Relaxed).wrapping_add(v),
        Ordering::Relaxed,
    );
}

const SHARDS: usize = 32;
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

#[inline(always)]
fn shard_index() -> usize {
    let i = SHARD.get();
    if i != usize::MAX {
        return i;
    }
    let i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
    SHARD.set(i);
    i
}

static FLOOR_INSTANT: Cells = Cells::new();
static FLOOR_QUANTA: Cells = Cells::new();
static FLOOR_SHARDED: [Cells; SHARDS] = [const { Cells::new() }; SHARDS];
static FLOOR_SLOTS: [Cells; SHARDS] = [const { Cells::new() }; SHARDS];

#[inline(never)]
fn floor_instant_shared(x: u64) -> u64 {
    let start = Instant::now();
    let r = work(x);
    let nanos = start.elapsed().as_nanos() as u64;
    shared_record(&FLOOR_INSTANT, nanos);
    r
}

#[inline(never)]
fn floor_quanta_shared(x: u64) -> u64 {
    let clock = quanta_clock();
    let start = clock.raw();
    let r = work(x);
    let nanos = clock.delta_as_nanos(start, clock.raw());
    shared_record(&FLOOR_QUANTA, nanos);
    r
}

#[inline(never)]
fn floor_quanta_sharded(x: u64) -> u64 {
    let clock = quanta_clock();
    let start = clock.raw();
    let r = work(x);
    let nanos = clock.delta_as_nanos(start, clock.raw());
    shared_record(&FLOOR_SHARDED[shard_index()], nanos);
    r
}

#[inline(never)]
fn floor_quanta_slots(x: u64) -> u64 {
    let clock = quanta_clock();
    let start = clock.raw();
    let r = work(x);
    let nanos = clock.delta_as_nanos(start, clock.raw());
    let cells = &FLOOR_SLOTS[shard_index()];
    single_writer_add(&cells.count, 1);
    single_writer_add(&cells.sum, nanos);
    single_writer_add(&cells.buckets[bucket(nanos)], 1);
    r
}

// Variations of the single-writer floor that tell where the cost is: a branch-free
// bucket count instead of the early exit, and the TSC read inline instead of a call into
// `quanta::Clock::raw`.

static FLOOR_COUNT_ALL: [Cells; SHARDS] = [const { Cells::new() }; SHARDS];
static FLOOR_RDTSC: [Cells; SHARDS] = [const { Cells::new() }; SHARDS];

/// The bounds behind a pointer the optimiser cannot see through, as `#[monitor]` reads
/// them from its `MonitorMeta`.
static BOUNDS_NS_SLICE: &[u64] = &BOUNDS_NS;

#[inline(never)]
fn floor_quanta_slots_count_all(x: u64) -> u64 {
    let clock = quanta_clock();
    let start = clock.raw();
    let r = work(x);
    let nanos = clock.delta_as_nanos(start, clock.raw());
    let cells = &FLOOR_COUNT_ALL[shard_index()];
    single_writer_add(&cells.count, 1);
    single_writer_add(&cells.sum, nanos);
    let index = bucket_count_all(nanos, black_box(BOUNDS_NS_SLICE)).min(NBOUNDS);
    single_writer_add(&cells.buckets[index], 1);
    r
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Ticks to nanoseconds as quanta scales them, with the factor read once.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tsc_nanos(start: u64, end: u64) -> u64 {
    static SCALE: OnceLock<(u64, u32)> = OnceLock::new();
    let &(factor, shift) = SCALE.get_or_init(|| {
        // Calibrate against quanta over 20 ms: ns per tick as a 32.32 fixed-point factor.
        let clock = quanta_clock();
        let (t0, q0) = (rdtsc(), clock.raw());
        std::thread::sleep(Duration::from_millis(20));
        let (t1, q1) = (rdtsc(), clock.raw());
        let ns = clock.delta_as_nanos(q0, q1) as f64;
        (((ns / (t1 - t0) as f64) * (1u64 << 32) as f64) as u64, 32)
    });
    ((u128::from(end.saturating_sub(start)) * u128::from(factor)) >> shift) as u64
}

#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn floor_rdtsc_slots(x: u64) -> u64 {
    let start = rdtsc();
    let r = work(x);
    let nanos = tsc_nanos(start, rdtsc());
    let cells = &FLOOR_RDTSC[shard_index()];
    single_writer_add(&cells.count, 1);
    single_writer_add(&cells.sum, nanos);
    single_writer_add(&cells.buckets[bucket(nanos)], 1);
    r
}

// ---------------------------------------------------------------------------------------
// Ours: #[monitor]
// ---------------------------------------------------------------------------------------

#[flext_observability::monitor]
#[inline(never)]
fn monitored(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn ours_sync(x: u64) -> u64 {
    monitored(x)
}

#[flext_observability::monitor]
async fn monitored_async_fn(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn ours_async(x: u64) -> u64 {
    poll_ready(monitored_async_fn(x))
}

#[flext_observability::monitor]
#[inline(never)]
fn monitored_err_fn(x: u64) -> Result<u64, BenchError> {
    Err(BenchError(work(x)))
}

#[inline(never)]
fn ours_err(x: u64) -> u64 {
    unwrap_either(monitored_err_fn(x))
}

#[flext_observability::monitor(span = false)]
#[inline(never)]
fn monitored_nospan(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn ours_nospan(x: u64) -> u64 {
    monitored_nospan(x)
}

// ---------------------------------------------------------------------------------------
// autometrics 3.0, prometheus-0_14 backend, with the in-flight gauge
// ---------------------------------------------------------------------------------------

#[autometrics::autometrics(track_concurrency)]
#[inline(never)]
fn autometrics_fn(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn am_sync(x: u64) -> u64 {
    autometrics_fn(x)
}

#[autometrics::autometrics(track_concurrency)]
async fn autometrics_async_fn(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn am_async(x: u64) -> u64 {
    poll_ready(autometrics_async_fn(x))
}

#[autometrics::autometrics(track_concurrency)]
#[inline(never)]
fn autometrics_err_fn(x: u64) -> Result<u64, BenchError> {
    Err(BenchError(work(x)))
}

#[inline(never)]
fn am_err(x: u64) -> u64 {
    unwrap_either(autometrics_err_fn(x))
}

// ---------------------------------------------------------------------------------------
// #[tracing::instrument] with a tracing-subscriber registry as global default
// ---------------------------------------------------------------------------------------

#[tracing::instrument(skip_all)]
#[inline(never)]
fn traced_fn(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn tracing_sync(x: u64) -> u64 {
    traced_fn(x)
}

#[tracing::instrument(skip_all)]
async fn traced_async_fn(x: u64) -> u64 {
    work(x)
}

#[inline(never)]
fn tracing_async(x: u64) -> u64 {
    poll_ready(traced_async_fn(x))
}

#[tracing::instrument(skip_all, err)]
#[inline(never)]
fn traced_err_fn(x: u64) -> Result<u64, BenchError> {
    Err(BenchError(work(x)))
}

#[inline(never)]
fn tracing_err(x: u64) -> u64 {
    unwrap_either(traced_err_fn(x))
}

// ---------------------------------------------------------------------------------------
// `metrics` facade + metrics-exporter-prometheus recorder
// ---------------------------------------------------------------------------------------

struct MetricsHandles {
    calls: metrics::Counter,
    duration: metrics::Histogram,
    in_flight: metrics::Gauge,
}

static METRICS_HANDLES: OnceLock<MetricsHandles> = OnceLock::new();

#[inline(never)]
fn metrics_cached(x: u64) -> u64 {
    let h = METRICS_HANDLES
        .get()
        .expect("handles are created before measuring");
    h.in_flight.increment(1.0);
    let start = Instant::now();
    let r = work(x);
    h.duration.record(start.elapsed().as_secs_f64());
    h.calls.increment(1);
    h.in_flight.decrement(1.0);
    r
}

#[inline(never)]
fn metrics_macros(x: u64) -> u64 {
    let in_flight =
        metrics::gauge!("function_calls_concurrent", "function" => FUNCTION, "module" => MODULE);
    in_flight.increment(1.0);
    let start = Instant::now();
    let r = work(x);
    metrics::histogram!("function_calls_duration_seconds", "function" => FUNCTION, "module" => MODULE)
        .record(start.elapsed().as_secs_f64());
    metrics::counter!("function_calls_total", "function" => FUNCTION, "module" => MODULE, "result" => "ok")
        .increment(1);
    in_flight.decrement(1.0);
    r
}

// ---------------------------------------------------------------------------------------
// `prometheus` crate, cached children
// ---------------------------------------------------------------------------------------

struct PrometheusHandles {
    calls: prometheus::IntCounter,
    duration: prometheus::Histogram,
    in_flight: prometheus::IntGauge,
}

static PROMETHEUS_HANDLES: OnceLock<PrometheusHandles> = OnceLock::new();

fn prometheus_handles() -> PrometheusHandles {
    let registry = prometheus::Registry::new();
    let calls = prometheus::IntCounterVec::new(
        prometheus::Opts::new("function_calls_total", "Calls."),
        &["function", "module", "result"],
    )
    .unwrap();
    let duration = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("function_calls_duration_seconds", "Durations.")
            .buckets(BOUNDS.to_vec()),
        &["function", "module"],
    )
    .unwrap();
    let in_flight = prometheus::IntGaugeVec::new(
        prometheus::Opts::new("function_calls_concurrent", "In flight."),
        &["function", "module"],
    )
    .unwrap();
    registry.register(Box::new(calls.clone())).unwrap();
    registry.register(Box::new(duration.clone())).unwrap();
    registry.register(Box::new(in_flight.clone())).unwrap();
    let handles = PrometheusHandles {
        calls: calls.with_label_values(&[FUNCTION, MODULE, "ok"]),
        duration: duration.with_label_values(&[FUNCTION, MODULE]),
        in_flight: in_flight.with_label_values(&[FUNCTION, MODULE]),
    };
    // The registry lives as long as the process, like a real one.
    std::mem::forget(registry);
    handles
}

#[inline(never)]
fn prometheus_cached(x: u64) -> u64 {
    let h = PROMETHEUS_HANDLES
        .get()
        .expect("handles are created before measuring");
    h.in_flight.inc();
    let start = Instant::now();
    let r = work(x);
    h.duration.observe(start.elapsed().as_secs_f64());
    h.calls.inc();
    h.in_flight.dec();
    r
}

// ---------------------------------------------------------------------------------------
// prometheus-client, cached handles
// ---------------------------------------------------------------------------------------

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::gauge::Gauge as PcGauge;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    function: &'static str,
    module: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FnLabels {
    function: &'static str,
    module: &'static str,
}

struct PcHandles {
    calls: PcCounter,
    duration: PcHistogram,
    in_flight: PcGauge,
}

static PC_HANDLES: OnceLock<PcHandles> = OnceLock::new();

fn pc_handles() -> PcHandles {
    let mut registry = prometheus_client::registry::Registry::default();
    let calls = PcFamily::<CallLabels, PcCounter>::default();
    let duration =
        PcFamily::<FnLabels, PcHistogram, fn() -> PcHistogram>::new_with_constructor(|| {
            PcHistogram::new(BOUNDS.iter().copied())
        });
    let in_flight = PcFamily::<FnLabels, PcGauge>::default();
    registry.register("function_calls", "Calls.", calls.clone());
    registry.register(
        "function_calls_duration_seconds",
        "Durations.",
        duration.clone(),
    );
    registry.register("function_calls_concurrent", "In flight.", in_flight.clone());
    let fn_labels = FnLabels {
        function: FUNCTION,
        module: MODULE,
    };
    let handles = PcHandles {
        calls: calls
            .get_or_create(&CallLabels {
                function: FUNCTION,
                module: MODULE,
                result: "ok",
            })
            .clone(),
        duration: duration.get_or_create(&fn_labels).clone(),
        in_flight: in_flight.get_or_create(&fn_labels).clone(),
    };
    std::mem::forget(registry);
    handles
}

#[inline(never)]
fn pc_cached(x: u64) -> u64 {
    let h = PC_HANDLES
        .get()
        .expect("handles are created before measuring");
    h.in_flight.inc();
    let start = Instant::now();
    let r = work(x);
    h.duration.observe(start.elapsed().as_secs_f64());
    h.calls.inc();
    h.in_flight.dec();
    r
}

/// What `#[monitor]` with its span does, assembled from peers: an `#[instrument]` span
/// around a prometheus-client-instrumented body.
#[tracing::instrument(skip_all)]
#[inline(never)]
fn traced_pc_fn(x: u64) -> u64 {
    pc_cached(x)
}

#[inline(never)]
fn tracing_pc(x: u64) -> u64 {
    traced_pc_fn(x)
}

// ---------------------------------------------------------------------------------------
// Variants
// ---------------------------------------------------------------------------------------

type Measure = fn(&Pool, usize, Duration) -> Sample;

struct Variant {
    name: &'static str,
    /// Variant whose time is subtracted to get the overhead.
    baseline: &'static str,
    measure: Measure,
}

macro_rules! variant {
    ($name:literal, $baseline:literal, $f:path) => {
        Variant {
            name: $name,
            baseline: $baseline,
            measure: |pool, threads, window| pool.measure(threads, window, $f),
        }
    };
}

/// Whether this process runs with a `tracing` subscriber (`FLEXT_BENCH_TRACED=1`): then
/// `#[monitor]` opens its span on every call, and the `tracing` variants have someone to
/// talk to. Without one (the default process) its span is filtered out at the callsite.
fn traced() -> bool {
    std::env::var_os("FLEXT_BENCH_TRACED").is_some_and(|v| !v.is_empty() && v != "0")
}

fn variants(traced: bool) -> Vec<Variant> {
    if traced {
        // Names carry a `traced_` prefix so the driver keeps both processes' rows apart.
        return vec![
            variant!("traced_bare", "traced_bare", bare),
            variant!("traced_bare_async", "traced_bare_async", bare_async),
            variant!("traced_bare_err", "traced_bare_err", bare_err),
            variant!("traced_monitor_sync", "traced_bare", ours_sync),
            variant!("traced_monitor_async", "traced_bare_async", ours_async),
            variant!("traced_monitor_err", "traced_bare_err", ours_err),
            variant!("traced_monitor_nospan", "traced_bare", ours_nospan),
            variant!("traced_tracing_sync", "traced_bare", tracing_sync),
            variant!("traced_tracing_async", "traced_bare_async", tracing_async),
            variant!("traced_tracing_err", "traced_bare_err", tracing_err),
            variant!("traced_tracing_pc", "traced_bare", tracing_pc),
        ];
    }
    let mut v = vec![
        variant!("bare", "bare", bare),
        variant!("bare_async", "bare_async", bare_async),
        variant!("bare_err", "bare_err", bare_err),
        variant!("clock_instant", "bare", clock_instant),
        variant!("clock_quanta", "bare", clock_quanta),
    ];
    #[cfg(target_arch = "x86_64")]
    v.push(variant!("clock_rdtsc", "bare", clock_rdtsc));
    v.extend([
        variant!("floor_instant_shared", "bare", floor_instant_shared),
        variant!("floor_quanta_shared", "bare", floor_quanta_shared),
        variant!("floor_quanta_sharded", "bare", floor_quanta_sharded),
        variant!("floor_quanta_slots", "bare", floor_quanta_slots),
    ]);
    v.push(variant!(
        "floor_quanta_slots_count_all",
        "bare",
        floor_quanta_slots_count_all
    ));
    #[cfg(target_arch = "x86_64")]
    v.push(variant!("floor_rdtsc_slots", "bare", floor_rdtsc_slots));
    v.extend([
        variant!("monitor_sync", "bare", ours_sync),
        variant!("monitor_async", "bare_async", ours_async),
        variant!("monitor_err", "bare_err", ours_err),
        variant!("monitor_nospan", "bare", ours_nospan),
        variant!("autometrics_sync", "bare", am_sync),
        variant!("autometrics_async", "bare_async", am_async),
        variant!("autometrics_err", "bare_err", am_err),
        variant!("metrics_cached", "bare", metrics_cached),
        variant!("metrics_macros", "bare", metrics_macros),
        variant!("prometheus_cached", "bare", prometheus_cached),
        variant!("prometheus_client_cached", "bare", pc_cached),
    ]);
    v
}

// ---------------------------------------------------------------------------------------
// Persistent worker pool
// ---------------------------------------------------------------------------------------

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    workers: Vec<mpsc::Sender<Job>>,
}

/// Calls per stop-flag check: small against the window, large against the check.
const CHUNK: u64 = 256;

impl Pool {
    fn new(n: usize) -> Pool {
        let workers = (0..n)
            .map(|i| {
                let (tx, rx) = mpsc::channel::<Job>();
                std::thread::Builder::new()
                    .name(format!("bench-worker-{i}"))
                    .spawn(move || {
                        for job in rx {
                            job();
                        }
                    })
                    .expect("spawn a worker");
                tx
            })
            .collect();
        Pool { workers }
    }

    /// Runs `f` on `threads` workers at once for `window`; returns the mean over threads
    /// of each thread's ns per call (its CPU time, or wall time with `FLEXT_BENCH_WALL`),
    /// and the lowest share of the window a thread actually ran (CPU ÷ wall time).
    fn measure<F>(&self, threads: usize, window: Duration, f: F) -> Sample
    where
        F: Fn(u64) -> u64 + Copy + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(threads + 1));
        let (tx, rx) = mpsc::channel::<(f64, f64)>();
        for worker in &self.workers[..threads] {
            let (stop, barrier, tx) = (stop.clone(), barrier.clone(), tx.clone());
            worker
                .send(Box::new(move || {
                    barrier.wait();
                    let cpu_start = thread_cpu_ns();
                    let start = Instant::now();
                    let mut n = 0u64;
                    let mut acc = 0u64;
                    loop {
                        for i in 0..CHUNK {
                            acc = acc.wrapping_add(f(black_box(n + i)));
                        }
                        n += CHUNK;
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    let elapsed = start.elapsed().as_nanos() as f64;
                    let cpu = (thread_cpu_ns() - cpu_start) as f64;
                    black_box(acc);
                    let per_call = if wall_clock() { elapsed } else { cpu } / n as f64;
                    tx.send((per_call, cpu / elapsed)).unwrap();
                }))
                .expect("worker alive");
        }
        drop(tx);
        barrier.wait();
        std::thread::sleep(window);
        stop.store(true, Ordering::Relaxed);
        let per_thread: Vec<(f64, f64)> = rx.iter().collect();
        assert_eq!(per_thread.len(), threads);
        Sample {
            ns: per_thread.iter().map(|p| p.0).sum::<f64>() / threads as f64,
            occupancy: per_thread.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
        }
    }
}

struct Sample {
    ns: f64,
    occupancy: f64,
}

// ---------------------------------------------------------------------------------------
// Section entry point
// ---------------------------------------------------------------------------------------

/// Installs everything the variants need; returns the metrics-exporter handle.
fn setup() -> metrics_exporter_prometheus::PrometheusHandle {
    // Ours: installed like an application would (no server, and the `metrics` recorder
    // slot left to metrics-exporter-prometheus, which the facade variants measure).
    let _guard = flext_observability::Observability::builder()
        .without_server()
        .metrics_recorder(false)
        .install()
        .expect("install flext-observability");
    let metrics_handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(BOUNDS)
        .expect("buckets")
        .install_recorder()
        .expect("install metrics-exporter-prometheus");
    // A bare `Registry` as the subscriber never frees a closed span (only a `Layered`
    // around it runs the close guard that clears the slab slot): 150 bytes and a page
    // fault now and then per call, 3 GB after 20M calls. Every real set-up has a layer;
    // `Identity` is the cheapest one.
    if traced() {
        use tracing_subscriber::layer::SubscriberExt as _;
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new()),
        )
        .expect("set the tracing subscriber");
    }

    METRICS_HANDLES.get_or_init(|| MetricsHandles {
        calls: metrics::counter!("function_calls_total", "function" => FUNCTION, "module" => MODULE, "result" => "ok"),
        duration: metrics::histogram!("function_calls_duration_seconds", "function" => FUNCTION, "module" => MODULE),
        in_flight: metrics::gauge!("function_calls_concurrent", "function" => FUNCTION, "module" => MODULE),
    });
    PROMETHEUS_HANDLES.get_or_init(prometheus_handles);
    PC_HANDLES.get_or_init(pc_handles);
    quanta_clock();
    metrics_handle
}

/// Runs one variant `FLEXT_BENCH_CALLS` times on this thread, for `valgrind
/// --tool=callgrind` or `perf record` (`FLEXT_BENCH_SECTION=profile`).
pub fn profile() {
    let _handle = setup();
    let name = std::env::var("FLEXT_BENCH_VARIANT").expect("FLEXT_BENCH_VARIANT=<variant name>");
    let calls: u64 = std::env::var("FLEXT_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let pool = Pool::new(1);
    let v = variants(traced())
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| {
            panic!(
                "unknown variant {name}; one of: {}",
                variants(traced())
                    .iter()
                    .map(|v| v.name)
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        });
    // Warm up, then a window long enough for about `calls` calls.
    (v.measure)(&pool, 1, Duration::from_millis(10));
    let t = Instant::now();
    let s = (v.measure)(&pool, 1, Duration::from_millis(50));
    let per_call = s.ns.max(1.0);
    let window = Duration::from_nanos((calls as f64 * per_call) as u64).max(t.elapsed() / 10);
    let s = (v.measure)(&pool, 1, window);
    eprintln!("{name}: {:.1} ns/call over {window:?}", s.ns);
}

pub fn main() {
    let metrics_handle = setup();
    let variants = variants(traced());
    let pool = Pool::new(2);
    let thread_counts = [1usize, 2];
    let window = Duration::from_millis(if quick() { 15 } else { 100 });
    let runs = runs();
    let retries: usize = std::env::var("FLEXT_BENCH_RETRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { 0 } else { 5 });

    settle();
    // Warm-up: every variant on every thread count (also assigns per-thread slots and
    // creates every lazily built structure before anything is timed).
    for v in &variants {
        for &t in &thread_counts {
            (v.measure)(&pool, t, window / 2);
            metrics_handle.run_upkeep();
        }
    }

    let mut samples: Vec<[Vec<f64>; 2]> =
        variants.iter().map(|_| [Vec::new(), Vec::new()]).collect();
    let mut occupancy = [f64::INFINITY; 2];
    let mut occupancies = Vec::new();
    for run in 0..runs {
        for (i, v) in variants.iter().enumerate() {
            for (k, &t) in thread_counts.iter().enumerate() {
                // A window in which a worker lost its CPU to a neighbour is measured again
                // (a few times at most, after a pause); the best-served window is kept.
                // Two threads only contend when both actually run at once.
                let mut sample = (v.measure)(&pool, t, window);
                for _ in 0..retries {
                    if sample.occupancy >= 0.95 {
                        break;
                    }
                    metrics_handle.run_upkeep();
                    std::thread::sleep(window);
                    let again = (v.measure)(&pool, t, window);
                    if again.occupancy > sample.occupancy {
                        sample = again;
                    }
                }
                samples[i][k].push(sample.ns);
                if std::env::var_os("FLEXT_BENCH_VERBOSE").is_some() && sample.occupancy < 0.95 {
                    eprintln!(
                        "  {} {t}t: {:.1} ns/call, occupancy {:.3}",
                        v.name, sample.ns, sample.occupancy
                    );
                }
                occupancy[k] = occupancy[k].min(sample.occupancy);
                occupancies.push(sample.occupancy);
                // Drains the exporter's histogram buffers outside the timed window, as
                // its periodic upkeep does in production.
                metrics_handle.run_upkeep();
            }
        }
        eprintln!("  calls: run {}/{runs} done", run + 1);
    }

    let low = occupancies.iter().filter(|&&o| o < 0.95).count();
    let prefix = if traced() { "traced_" } else { "" };
    emit("occupancy", &format!("{prefix}min"), "1", occupancy[0], "");
    emit("occupancy", &format!("{prefix}min"), "2", occupancy[1], "");
    emit(
        "occupancy",
        &format!("{prefix}disturbed"),
        "all",
        low as f64,
        &occupancies.len().to_string(),
    );
    for (i, v) in variants.iter().enumerate() {
        for (k, &t) in thread_counts.iter().enumerate() {
            let s = &mut samples[i][k];
            if std::env::var_os("FLEXT_BENCH_VERBOSE").is_some() {
                let all: Vec<String> = s.iter().map(|v| format!("{v:.1}")).collect();
                eprintln!("  {:<26} {t}t: {}", v.name, all.join(" "));
            }
            let spread = spread(s);
            let m = median(s);
            emit(
                "calls",
                v.name,
                &t.to_string(),
                m,
                &format!("{}:{spread:.3}", v.baseline),
            );
        }
    }

    // Sanity: the monitored functions really counted (guards against a variant that the
    // optimiser reduced to nothing).
    let text = flext_observability::prometheus::render();
    for name in [
        "monitored",
        "monitored_async_fn",
        "monitored_err_fn",
        "monitored_nospan",
    ] {
        let needle = format!("function_calls_total{{function=\"{name}\"");
        let count: u64 = text
            .lines()
            .filter(|l| l.starts_with(&needle))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
        assert!(count > 1000, "{name} recorded only {count} calls:\n{text}");
    }
}
