//! The soak: the quickstart example and this process's own workload under steady load
//! for three minutes (`FLEXT_OBS_SOAK_SECONDS`), both scraped by a real Prometheus every
//! second. At the end the PromQL totals equal the counts the workload kept itself, no
//! scrape failed, resident memory is flat after the warm-up, and no error was logged.
//!
//! Ignored by default (it takes minutes); `.ci/run` runs it:
//!
//! ```sh
//! cargo test -p flext-observability-tests --all-features --test faults -- --ignored soak --nocapture
//! ```

#![allow(clippy::float_cmp)] // PromQL answers exact counts, read back as f64

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use flext_observability::{Counter, business_metric, monitor};
use flext_observability_tests::servers::{Prometheus, Target};
use flext_observability_tests::{free_port, require};

use super::common::{logs, mb, rss, runtime, serial};

/// Orders the soak workload placed, by outcome.
#[business_metric(labels(outcome))]
static SOAK_ORDERS_TOTAL: Counter;

#[monitor]
fn soak_validate(id: u64) -> Result<(), String> {
    if id.is_multiple_of(10) {
        Err("every tenth order is invalid".to_owned())
    } else {
        Ok(())
    }
}

#[monitor]
async fn soak_charge(id: u64) -> u64 {
    tokio::task::yield_now().await;
    id
}

/// Kills the child when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn process_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Builds the quickstart example and returns its path.
fn quickstart() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "-p",
            "flext-observability-examples",
            "--example",
            "quickstart",
        ])
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build --example quickstart failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("debug/examples/quickstart")
}

#[test]
#[ignore = "soak: three minutes, run by .ci/run"]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn soak() {
    let _serial = serial();
    let seconds: u64 = std::env::var("FLEXT_OBS_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(180);
    let run = Duration::from_secs(seconds);
    let warm_up = Duration::from_secs(30.min(seconds / 3));
    let addr = runtime();

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = std::fs::File::create(dir.path().join("quickstart.out")).unwrap();
    let err = std::fs::File::create(dir.path().join("quickstart.err")).unwrap();
    let child = Killed(
        Command::new(quickstart())
            .env("FLEXT_OBS_LISTEN", format!("127.0.0.1:{port}"))
            .env("FLEXT_OBS_QUICKSTART_SECONDS", (seconds + 60).to_string())
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the quickstart"),
    );
    let pid = child.0.id();
    let prometheus = require!(
        Prometheus::start(
            &[
                Target::new("soak", addr),
                Target::new("quickstart", ([127, 0, 0, 1], port).into()),
            ],
            Duration::from_secs(1),
        ),
        "Prometheus",
        "apt-get install prometheus"
    );

    let stop = AtomicBool::new(false);
    let (ok, invalid) = (AtomicU64::new(0), AtomicU64::new(0));
    let started = Instant::now();
    let mut samples: Vec<(Duration, u64, u64)> = Vec::new();
    std::thread::scope(|scope| {
        for worker in 0..2u64 {
            let (stop, ok, invalid) = (&stop, &ok, &invalid);
            scope.spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let mut id = worker;
                while !stop.load(Ordering::Relaxed) {
                    // A steady few thousand orders a second.
                    for _ in 0..20 {
                        id += 2;
                        if soak_validate(id).is_ok() {
                            runtime.block_on(soak_charge(id));
                            SOAK_ORDERS_TOTAL { outcome: "ok" }.inc();
                            metrics::counter!("soak_facade_orders_total").increment(1);
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            SOAK_ORDERS_TOTAL { outcome: "invalid" }.inc();
                            invalid.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        while started.elapsed() < run {
            std::thread::sleep(Duration::from_secs(5));
            samples.push((started.elapsed(), rss(), process_rss(pid)));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let (ok, invalid) = (ok.load(Ordering::Relaxed), invalid.load(Ordering::Relaxed));

    // Prometheus scrapes the final counts within a few seconds.
    let wait = Duration::from_secs(30);
    let exact = |promql: &str, want: u64| {
        prometheus
            .wait_for(promql, wait, |v| v == want as f64)
            .unwrap_or_else(|e| panic!("{promql} != {want}: {e}"));
    };
    exact(
        r#"sum(function_calls_total{job="soak",function="soak_validate",result="ok"})"#,
        ok,
    );
    exact(
        r#"sum(function_calls_total{job="soak",function="soak_validate",result="error"})"#,
        invalid,
    );
    exact(
        r#"sum(function_calls_total{job="soak",function="soak_charge"})"#,
        ok,
    );
    exact(r#"soak_orders_total{job="soak",outcome="ok"}"#, ok);
    exact(
        r#"soak_orders_total{job="soak",outcome="invalid"}"#,
        invalid,
    );
    exact(r#"soak_facade_orders_total{job="soak"}"#, ok);

    // Every scrape of both targets succeeded.
    let window = format!("{}s", seconds.saturating_sub(5));
    for job in ["soak", "quickstart"] {
        let scrapes =
            prometheus.scalar(&format!(r#"count_over_time(up{{job="{job}"}}[{window}])"#));
        let up = prometheus.scalar(&format!(r#"sum_over_time(up{{job="{job}"}}[{window}])"#));
        assert!(
            scrapes.is_some_and(|n| n >= (seconds as f64 - 10.0) * 0.9) && scrapes == up,
            "{job}: {up:?} of {scrapes:?} scrapes succeeded over the last {window}"
        );
    }

    // Flat memory after the warm-up, in both processes.
    let after: Vec<&(Duration, u64, u64)> = samples.iter().filter(|s| s.0 >= warm_up).collect();
    let spread = |f: fn(&(Duration, u64, u64)) -> u64| {
        let values: Vec<u64> = after.iter().map(|s| f(s)).collect();
        values.iter().max().unwrap_or(&0) - values.iter().min().unwrap_or(&0)
    };
    let (own, quick) = (spread(|s| s.1), spread(|s| s.2));
    let summary = format!(
        "{seconds} s soak: {ok} orders ok, {invalid} invalid, all in PromQL; RSS spread after \
         {warm_up:?}: this process {:.1} MB (last {:.1} MB), quickstart {:.1} MB (last {:.1} MB)",
        mb(own),
        mb(samples.last().map_or(0, |s| s.1)),
        mb(quick),
        mb(samples.last().map_or(0, |s| s.2)),
    );
    eprintln!("{summary}");
    assert!(
        own < 16 * 1_048_576,
        "this process's RSS is not flat: {summary}"
    );
    assert!(
        quick < 16 * 1_048_576,
        "the quickstart's RSS is not flat: {summary}"
    );

    // No error logged, by either.
    let own_logs = logs();
    let errors: Vec<&str> = own_logs
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("\"level\":\"error\""))
        .collect();
    assert!(errors.is_empty(), "errors logged: {errors:?}");
    for file in ["quickstart.out", "quickstart.err"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap_or_default();
        let bad: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.contains("\"level\":\"ERROR\"")
                    || l.contains("\"level\":\"error\"")
                    || l.contains("warning:")
                    || l.contains("panicked")
            })
            .collect();
        assert!(
            bad.is_empty(),
            "the quickstart's {file} has errors: {bad:?}"
        );
    }
    drop(child);
}
