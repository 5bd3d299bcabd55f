//! Recording into a business metric with fixed and with run-time label values:
//! flext-observability's declared metrics against the `metrics` facade (with
//! metrics-exporter-prometheus' recorder) and prometheus-client doing the same.
//!
//! ```sh
//! cargo bench --manifest-path benches/business/Cargo.toml
//! ```
//!
//! Prints the median ns per call of several samples and the ratio to the fastest case of
//! each group. No criterion: the loop is the measurement, and the file stays readable.
//! Handles and statics go through `black_box` so the loop cannot keep them in registers.

use std::hint::black_box;
use std::time::Instant;

use flext_observability::{Counter, Histogram, business_metric, series};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Rows written, by pipeline and target.
#[business_metric(labels(pipeline, target))]
static BENCH_ROWS_WRITTEN_TOTAL: Counter;

/// Runs, without labels.
#[business_metric]
static BENCH_RUNS_TOTAL: Counter;

/// Runs of the instrumented function, by outcome.
#[business_metric(labels(status))]
static BENCH_CALLS_TOTAL: Counter;

/// Duration of the instrumented function.
#[business_metric]
static BENCH_CALL_DURATION_SECONDS: Histogram;

#[business_metric(
    BENCH_CALLS_TOTAL { status: outcome }.inc(),
    BENCH_CALL_DURATION_SECONDS.observe(elapsed),
)]
#[inline(never)]
fn instrumented(x: u64) -> Result<u64, ()> {
    Ok(black_box(x) + 1)
}

#[inline(never)]
fn plain(x: u64) -> Result<u64, ()> {
    Ok(black_box(x) + 1)
}

const ITERS: u64 = 2_000_000;
const SAMPLES: usize = 9;
const DISTINCT: usize = 100;

/// Median ns per call of `SAMPLES` runs of `ITERS` calls of `f(i)`.
fn measure(mut f: impl FnMut(u64)) -> f64 {
    for i in 0..ITERS / 10 {
        f(i);
    }
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for i in 0..ITERS {
                f(black_box(i));
            }
            start.elapsed().as_nanos() as f64 / ITERS as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

/// Median ns per call on each of two threads running `f` at the same time.
fn measure_two_threads(f: impl Fn(u64) + Sync) -> f64 {
    let f = &f;
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let barrier = std::sync::Barrier::new(2);
            let times: Vec<f64> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..2)
                    .map(|_| {
                        let barrier = &barrier;
                        s.spawn(move || {
                            barrier.wait();
                            let start = Instant::now();
                            for i in 0..ITERS {
                                f(black_box(i));
                            }
                            start.elapsed().as_nanos() as f64 / ITERS as f64
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            times.iter().sum::<f64>() / times.len() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[SAMPLES / 2]
}

fn report(group: &str, rows: &[(&str, f64)]) {
    let best = rows.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    println!("\n{group}");
    println!("| case | ns/call | × fastest |");
    println!("|---|---:|---:|");
    for (name, ns) in rows {
        println!("| {name} | {ns:.1} | {:.1} |", ns / best);
    }
}

fn main() {
    // Run-time label values: 100 distinct pipelines, `&'static str` so that no peer pays
    // for an allocation the others avoid.
    let names: Vec<&'static str> = (0..DISTINCT)
        .map(|i| &*Box::leak(format!("pipeline-{i}").into_boxed_str()))
        .collect();
    let names = &names;
    let pick = |i: u64| names[(i as usize) % DISTINCT];

    // The `metrics` facade with the Prometheus exporter's recorder, the usual setup.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).expect("no other recorder");

    // prometheus-client with label sets of borrowed strings.
    let mut registry = Registry::default();
    let family = Family::<[(&'static str, &'static str); 2], PcCounter>::default();
    registry.register("bench_rows_written", "Rows written.", family.clone());

    let flext_handle = BENCH_ROWS_WRITTEN_TOTAL {
        pipeline: "orders",
        target: "pg",
    }
    .series();
    let metrics_handle =
        metrics::counter!("bench_rows_written_total", "pipeline" => "orders", "target" => "pg");
    let pc_handle = family
        .get_or_create(&[("pipeline", "orders"), ("target", "pg")])
        .clone();

    let fixed = [
        (
            "flext: static without labels (`RUNS.inc()`)",
            measure(|_| black_box(&BENCH_RUNS_TOTAL).inc()),
        ),
        (
            "flext: fixed labels, `series!(ROWS { .. }).inc()`",
            measure(|_| {
                series!(BENCH_ROWS_WRITTEN_TOTAL {
                    pipeline: "orders",
                    target: "pg"
                })
                .inc();
            }),
        ),
        (
            "flext: fixed labels, label struct `ROWS { .. }.inc()`",
            measure(|_| {
                BENCH_ROWS_WRITTEN_TOTAL {
                    pipeline: "orders",
                    target: "pg",
                }
                .inc();
            }),
        ),
        (
            "flext: kept series handle",
            measure(|_| black_box(flext_handle).inc()),
        ),
        (
            "metrics: `counter!(.., \"pipeline\" => \"orders\", ..)` per call",
            measure(|_| {
                metrics::counter!("bench_rows_written_total", "pipeline" => "orders", "target" => "pg")
                    .increment(1);
            }),
        ),
        (
            "metrics: kept handle",
            measure(|_| black_box(&metrics_handle).increment(1)),
        ),
        (
            "prometheus-client: `get_or_create` per call",
            measure(|_| {
                family
                    .get_or_create(&[("pipeline", "orders"), ("target", "pg")])
                    .inc();
            }),
        ),
        (
            "prometheus-client: kept handle",
            measure(|_| {
                black_box(&pc_handle).inc();
            }),
        ),
    ];
    report("Fixed label values, 1 thread", &fixed);

    let dynamic = [
        (
            "flext: label struct `ROWS { pipeline: name, .. }.inc()`",
            measure(|i| {
                BENCH_ROWS_WRITTEN_TOTAL {
                    pipeline: pick(i),
                    target: "pg",
                }
                .inc();
            }),
        ),
        (
            "metrics: `counter!(.., \"pipeline\" => name, ..)`",
            measure(|i| {
                metrics::counter!("bench_rows_written_total", "pipeline" => pick(i), "target" => "pg")
                    .increment(1);
            }),
        ),
        (
            "prometheus-client: `get_or_create(&[(.., name), ..])`",
            measure(|i| {
                family
                    .get_or_create(&[("pipeline", pick(i)), ("target", "pg")])
                    .inc();
            }),
        ),
    ];
    report("Run-time label values (100 distinct), 1 thread", &dynamic);

    let two = [
        (
            "flext: fixed labels, `series!`",
            measure_two_threads(|_| {
                series!(BENCH_ROWS_WRITTEN_TOTAL {
                    pipeline: "orders",
                    target: "pg"
                })
                .inc();
            }),
        ),
        (
            "flext: run-time labels, label struct",
            measure_two_threads(|i| {
                BENCH_ROWS_WRITTEN_TOTAL {
                    pipeline: pick(i),
                    target: "pg",
                }
                .inc();
            }),
        ),
        (
            "metrics: fixed labels, `counter!` per call",
            measure_two_threads(|_| {
                metrics::counter!("bench_rows_written_total", "pipeline" => "orders", "target" => "pg")
                    .increment(1);
            }),
        ),
        (
            "metrics: run-time labels",
            measure_two_threads(|i| {
                metrics::counter!("bench_rows_written_total", "pipeline" => pick(i), "target" => "pg")
                    .increment(1);
            }),
        ),
        (
            "prometheus-client: fixed labels, `get_or_create`",
            measure_two_threads(|_| {
                family
                    .get_or_create(&[("pipeline", "orders"), ("target", "pg")])
                    .inc();
            }),
        ),
        (
            "prometheus-client: run-time labels",
            measure_two_threads(|i| {
                family
                    .get_or_create(&[("pipeline", pick(i)), ("target", "pg")])
                    .inc();
            }),
        ),
    ];
    report("Two threads at once, per thread", &two);

    let function = [
        (
            "plain function call",
            measure(|i| {
                let _ = black_box(plain(i));
            }),
        ),
        (
            "`#[business_metric]` call: outcome counter + duration histogram",
            measure(|i| {
                let _ = black_box(instrumented(i));
            }),
        ),
    ];
    report("Function form, 1 thread", &function);

    // Keep the peers' state observable so nothing is optimised away.
    black_box(&registry);
    black_box(flext_observability::prometheus::render().len());
}
