//! Shared pieces of the core benchmarks: the timed body, run settings, statistics and the
//! line protocol between the driver (`benches/core.rs`) and its child processes.
//!
//! Each section runs in its own process so that global state (the `metrics` global
//! recorder, statics registered by `#[monitor]`, allocator state after building 10k
//! series) never leaks from one measurement into another.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The work every variant wraps: a few cycles the optimiser cannot remove or hoist.
#[inline(always)]
pub fn work(x: u64) -> u64 {
    black_box(
        black_box(x)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17),
    )
}

/// Bucket bounds (seconds) of the render benchmark's histograms: the 11 Prometheus
/// default buckets.
pub const BOUNDS_11: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Whether `FLEXT_BENCH_QUICK` asks for a smoke run.
pub fn quick() -> bool {
    std::env::var_os("FLEXT_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Repetitions of a measurement; the median is reported.
pub fn runs() -> usize {
    std::env::var("FLEXT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { 3 } else { 11 })
}

/// Median of a non-empty sample.
pub fn median(values: &mut [f64]) -> f64 {
    assert!(!values.is_empty(), "median of nothing");
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        f64::midpoint(values[n / 2 - 1], values[n / 2])
    }
}

/// Relative spread of a sample: (max - min) / median.
pub fn spread(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    let m = median(&mut v);
    let (lo, hi) = (v[0], v[v.len() - 1]);
    if m > 0.0 { (hi - lo) / m } else { 0.0 }
}

/// Emits one result line for the driver: `@result <section> <name> <param> <value> <extra>`.
pub fn emit(section: &str, name: &str, param: &str, value: f64, extra: &str) {
    println!("@result\t{section}\t{name}\t{param}\t{value}\t{extra}");
}

/// Times `render` `runs()` times (after one warm-up call) and emits the median time in
/// milliseconds (CPU time of the rendering thread, or wall time with `FLEXT_BENCH_WALL`)
/// and the size of the output in bytes.
pub fn bench_render(peer: &str, series: usize, mut render: impl FnMut() -> usize) {
    let bytes = black_box(render());
    let mut times = Vec::new();
    // Renders are cheap to repeat and noisier than call loops (page faults, cache).
    let repeats = std::env::var("FLEXT_BENCH_RENDER_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick() { 3 } else { 25 });
    for _ in 0..repeats {
        let (t, cpu) = (Instant::now(), thread_cpu_ns());
        let n = black_box(render());
        times.push(if wall_clock() {
            t.elapsed().as_secs_f64() * 1e3
        } else {
            (thread_cpu_ns() - cpu) as f64 / 1e6
        });
        assert_eq!(n, bytes, "{peer}: output size changed between renders");
    }
    let spread = spread(&times);
    let ms = median(&mut times);
    eprintln!(
        "  render {peer:<40} {series:>6} series: {ms:>9.3} ms  {bytes:>9} bytes  (spread {:.0}%)",
        spread * 100.0
    );
    emit("render", peer, &series.to_string(), ms, &format!("{bytes}"));
}

/// Label values of series `i` of the render benchmark.
pub fn series_labels(i: usize) -> (String, &'static str) {
    (format!("handler_{i:05}"), "bench_app::api")
}

/// Duration recorded into series `i`, so bucket counts differ between series.
pub fn series_observation(i: usize) -> f64 {
    [0.003, 0.02, 0.07, 0.3, 1.5, 7.0, 12.0][i % 7]
}

/// Sleeps so a child process starts measuring on a settled machine.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(if quick() { 10 } else { 200 }));
}

/// CPU time of the calling thread, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock id is supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Busy-loops `threads` threads for `window` and returns the lowest share of the window
/// a thread was given a CPU: below 1 when other processes (other builds and tests on this
/// shared 2-vCPU machine) compete for the cores.
pub fn probe_occupancy(threads: usize, window: Duration) -> f64 {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let cpu = thread_cpu_ns();
                let start = Instant::now();
                let mut x = 0u64;
                while start.elapsed() < window {
                    for _ in 0..1000 {
                        x = black_box(x.wrapping_add(1));
                    }
                }
                (thread_cpu_ns() - cpu) as f64 / start.elapsed().as_nanos() as f64
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(f64::INFINITY, f64::min)
}

/// Whether per-call times use wall-clock time (`FLEXT_BENCH_WALL=1`) instead of each
/// thread's CPU time.
pub fn wall_clock() -> bool {
    std::env::var_os("FLEXT_BENCH_WALL").is_some_and(|v| !v.is_empty() && v != "0")
}
