//! Remote write against a Prometheus scrape of the same endpoint (issue 13).
//!
//! 10,000 series as in the rendering benchmark (BENCHMARKS.md "Rendering"): each a
//! counter and an 11-bucket histogram created at run time through the `metrics` facade,
//! labels `function="handler_NNNNN",module="bench_app::api"` — 150,000 samples per push
//! or scrape (a counter, 11 buckets, `+Inf`, sum and count per series). Measured in one
//! process:
//!
//! 1. remote write encoding of one push (the read path, the protobuf, snappy): CPU time
//!    of the thread, bytes before and after compression;
//! 2. what the server does per scrape: rendering text 0.0.4 and OpenMetrics, CPU time
//!    and bytes;
//! 3. a real Prometheus (Debian 2.42, `--enable-feature=extra-scrape-metrics`) scraping
//!    the embedded server every 2 s: its `scrape_duration_seconds` (request, our render,
//!    transfer, its parse and append) and `scrape_body_size_bytes`;
//! 4. remote write of one push to that Prometheus (`/api/v1/write`): encode and send
//!    every request, one after the other, wall time to the last `204`;
//!
//! then, in child processes, a `#[monitor]` call's cost with no remote write and while
//! remote write pushes the 150,000 samples every second (to a Prometheus that takes about
//! as long to store them: the sender is busy all the time).
//!
//! `cargo bench --bench fleet` (about 2 minutes; `FLEXT_BENCH_QUICK=1` for a smoke run).

mod prometheus;

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use flext_observability::Observability;
use flext_observability::remote_write::__encode_push;

use prometheus::{Prometheus, agent};

const SERIES: usize = 10_000;
const BOUNDS_11: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn quick() -> bool {
    std::env::var_os("FLEXT_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
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

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock id is supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Creates the render benchmark's series through the `metrics` facade.
fn create_series(n: usize) {
    metrics::describe_counter!("requests", "Requests handled.");
    metrics::describe_histogram!("request_duration_seconds", "Time to handle a request.");
    for i in 0..n {
        let function = format!("handler_{i:05}");
        let module = "bench_app::api";
        metrics::counter!("requests", "function" => function.clone(), "module" => module)
            .increment(1);
        metrics::histogram!("request_duration_seconds", "function" => function, "module" => module)
            .record([0.003, 0.02, 0.07, 0.3, 1.5, 7.0, 12.0][i % 7]);
    }
}

/// Median CPU milliseconds of `f` over `runs` runs (one warm-up), and what it returned.
fn cpu_ms<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = f();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = thread_cpu_ns();
        last = black_box(f());
        times.push((thread_cpu_ns() - start) as f64 / 1e6);
    }
    (median(&mut times), last)
}

fn main() {
    if std::env::args().any(|a| a == "calls") {
        calls_child();
        return;
    }
    let runs = if quick() { 3 } else { 25 };
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .service_name("bench")
        .series_limit(20_000)
        .default_histogram_buckets(&BOUNDS_11)
        .system_checks(false)
        .process_metrics(false)
        .install()
        .expect("install");
    create_series(SERIES);
    let samples = flext_observability::prometheus::render()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    println!("{SERIES} series: {samples} samples per push or scrape");

    // 1. Remote write encoding.
    let (encode_ms, (bodies, raw)) = cpu_ms(runs, || __encode_push("bench-rw", "i-1"));
    let compressed: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "remote write encode: {encode_ms:.2} ms CPU, {} requests, {raw} bytes protobuf, {compressed} bytes snappy",
        bodies.len()
    );
    // Of which snappy: the same protobuf compressed again, alone.
    let plain: Vec<Vec<u8>> = bodies
        .iter()
        .map(|b| snap::raw::Decoder::new().decompress_vec(b).expect("snappy"))
        .collect();
    let mut snappy = snap::raw::Encoder::new();
    let (snappy_ms, _) = cpu_ms(runs, || {
        plain
            .iter()
            .map(|p| snappy.compress_vec(p).expect("compress").len())
            .sum::<usize>()
    });
    println!("  of which snappy: {snappy_ms:.2} ms CPU");

    // 2. What the server renders per scrape.
    let (text_ms, text_bytes) =
        cpu_ms(runs, || flext_observability::prometheus::render().len());
    let (om_ms, om_bytes) = cpu_ms(runs, || {
        flext_observability::prometheus::render_openmetrics().len()
    });
    println!("render text 0.0.4: {text_ms:.2} ms CPU, {text_bytes} bytes");
    println!("render OpenMetrics: {om_ms:.2} ms CPU, {om_bytes} bytes");

    // 3. A real Prometheus scraping the same endpoint.
    let scrapes = if quick() { 3.0 } else { 12.0 };
    let prometheus = Prometheus::start(guard.local_addr(), Duration::from_secs(2));
    let window = "[10m]";
    let deadline = Instant::now() + Duration::from_secs(120);
    while prometheus
        .scalar(&format!(
            "count_over_time(scrape_duration_seconds{{job=\"bench\"}}{window})"
        ))
        .is_none_or(|n| n < scrapes)
    {
        assert!(Instant::now() < deadline, "Prometheus did not scrape");
        std::thread::sleep(Duration::from_millis(500));
    }
    let q = |promql: String| prometheus.scalar(&promql).unwrap_or(f64::NAN);
    let scrape_ms = 1000.0
        * q(format!(
            "quantile_over_time(0.5, scrape_duration_seconds{{job=\"bench\"}}{window})"
        ));
    let scrape_bytes = q(format!(
        "max_over_time(scrape_body_size_bytes{{job=\"bench\"}}{window})"
    ));
    let scraped = q(format!(
        "max_over_time(scrape_samples_scraped{{job=\"bench\"}}{window})"
    ));
    println!(
        "Prometheus scrape: {scrape_ms:.1} ms median over {scrapes} scrapes, {scrape_bytes} bytes, {scraped} samples"
    );

    // 4. Remote write to the same Prometheus, one push at a time.
    let url = prometheus.write_url();
    let mut push_ms = Vec::new();
    let mut push_cpu = Vec::new();
    for _ in 0..(if quick() { 3 } else { 11 }) {
        let start = Instant::now();
        let cpu = thread_cpu_ns();
        let (bodies, _) = __encode_push("bench-rw", "i-1");
        for body in &bodies {
            let resp = agent()
                .post(&url)
                .header("Content-Encoding", "snappy")
                .header("Content-Type", "application/x-protobuf")
                .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                .send(body.as_slice())
                .expect("POST to Prometheus");
            assert_eq!(resp.status(), 204, "remote write refused");
        }
        push_cpu.push((thread_cpu_ns() - cpu) as f64 / 1e6);
        push_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        // Samples of one series must be at least a millisecond apart.
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = q("count({job=\"bench-rw\"})".into());
    let push_ms = median(&mut push_ms);
    let push_cpu = median(&mut push_cpu);
    println!(
        "remote write push to Prometheus: {push_ms:.1} ms wall ({push_cpu:.1} ms CPU of the sender), {received} series received"
    );
    drop(prometheus);
    drop(guard);

    // 5. A monitored call's cost, without and with remote write pushing every second.
    let receiver = Prometheus::start(None, Duration::from_secs(60));
    // Alternated, twice each: the machine's load moves between runs.
    let mut idle = Vec::new();
    let mut pushing = Vec::new();
    let mut said = String::new();
    for _ in 0..2 {
        idle.push(run_calls(None).0);
        let (ns, what) = run_calls(Some(&receiver.write_url()));
        pushing.push(ns);
        said = what;
    }
    let idle = (median(&mut idle), ());
    let pushing = (median(&mut pushing), said);
    println!(
        "monitored call: {:.2} ns without remote write, {:.2} ns while pushing every second ({:.3}x); {}",
        idle.0,
        pushing.0,
        pushing.0 / idle.0,
        pushing.1
    );
    println!();
    println!("| per push or scrape of {SERIES} series ({samples} samples) | CPU ms | wall ms | bytes on the wire | bytes before compression |");
    println!("|---|---:|---:|---:|---:|");
    println!("| remote write: encode (read path + protobuf + snappy) | {encode_ms:.1} | – | {compressed} | {raw} |");
    println!("| of which snappy | {snappy_ms:.1} | – | – | – |");
    println!("| remote write: encode + send to Prometheus 2.42 | {push_cpu:.1} | {push_ms:.1} | {compressed} | {raw} |");
    println!("| /metrics render, text 0.0.4 | {text_ms:.1} | – | {text_bytes} | – |");
    println!("| /metrics render, OpenMetrics (what Prometheus asks for) | {om_ms:.1} | – | {om_bytes} | – |");
    println!("| Prometheus 2.42 scrape of /metrics (`scrape_duration_seconds`) | – | {scrape_ms:.1} | {scrape_bytes} | – |");
}

/// Runs [`calls_child`] in a new process; its median ns per call (thread CPU) and what
/// it said about the pushes.
fn run_calls(url: Option<&str>) -> (f64, String) {
    let mut cmd = Command::new(std::env::current_exe().expect("the bench's path"));
    cmd.arg("calls");
    if let Some(url) = url {
        cmd.env("FLEXT_BENCH_RW_URL", url);
    }
    let out = cmd.output().expect("run the calls child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "calls child failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("@calls "))
        .expect("the child's result line");
    let (ns, rest) = line.split_once(' ').unwrap_or((line, ""));
    (ns.parse().expect("ns per call"), rest.to_owned())
}

#[flext_observability::monitor]
fn handle(x: u64) -> u64 {
    black_box(black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
}

/// A `#[monitor]` call in a loop: 25 rounds of 20,000,000 calls (about 10 s), median CPU
/// ns per call of the calling thread; with `FLEXT_BENCH_RW_URL`, remote write pushes the
/// 10,000 series every second meanwhile.
fn calls_child() {
    let mut builder = Observability::builder()
        .without_server()
        .service_name("bench-calls")
        .series_limit(20_000)
        .default_histogram_buckets(&BOUNDS_11)
        .system_checks(false)
        .process_metrics(false);
    let url = std::env::var("FLEXT_BENCH_RW_URL").ok();
    if let Some(url) = &url {
        builder = builder
            .remote_write_url(url)
            .remote_write_interval(Duration::from_secs(1));
    }
    let guard = builder.install().expect("install");
    create_series(SERIES);
    let rounds = if quick() { 3 } else { 25 };
    let calls = if quick() { 2_000_000u64 } else { 20_000_000 };
    let mut per_call = Vec::new();
    let started = Instant::now();
    for _ in 0..rounds {
        let cpu = thread_cpu_ns();
        for i in 0..calls {
            black_box(handle(i));
        }
        per_call.push((thread_cpu_ns() - cpu) as f64 / calls as f64);
    }
    let elapsed = started.elapsed();
    let text = flext_observability::prometheus::render();
    let sent = text
        .lines()
        .find_map(|l| l.strip_prefix("flext_remote_write_samples_total "))
        .unwrap_or("0")
        .to_owned();
    println!(
        "@calls {:.3} {rounds} rounds of {calls} calls in {elapsed:.1?}, remote write samples sent: {sent}",
        median(&mut per_call)
    );
    drop(guard);
}
