//! A scrape storm: four scrapers in a loop on `/metrics` (each 100 times a second, in
//! both formats) while two threads make five million monitored calls each. The final count is exactly ten million, and no scrape
//! takes over a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flext_observability::monitor;
use flext_observability_tests::{http, sample_with};

use super::common::{runtime, serial};

#[monitor]
fn stormy() {}

const CALLS_PER_THREAD: u64 = 5_000_000;
const SCRAPERS: usize = 4;

#[test]
fn counts_are_exact_and_scrapes_fast_during_a_scrape_storm() {
    let _serial = serial();
    let addr = runtime();
    let url = format!("http://{addr}/metrics");
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let (scrapes, slowest, errors) = std::thread::scope(|scope| {
        let scrapers: Vec<_> = (0..SCRAPERS)
            .map(|i| {
                let (url, done) = (&url, &done);
                scope.spawn(move || {
                    let accept = if i % 2 == 0 {
                        "application/openmetrics-text; version=1.0.0"
                    } else {
                        "text/plain"
                    };
                    let (mut scrapes, mut slowest, mut errors) = (0u32, Duration::ZERO, Vec::new());
                    while !done.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        match http::get_with(url, &[("Accept", accept)]) {
                            Ok(r) if r.status == 200 => {}
                            Ok(r) => errors.push(format!("status {}", r.status)),
                            Err(e) => errors.push(e),
                        }
                        slowest = slowest.max(t.elapsed());
                        scrapes += 1;
                        // 100 scrapes a second each: a storm, that leaves the two cores
                        // of a CI machine to the callers too.
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    (scrapes, slowest, errors)
                })
            })
            .collect();
        let callers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..CALLS_PER_THREAD {
                        stormy();
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        scrapers.into_iter().map(|s| s.join().unwrap()).fold(
            (0, Duration::ZERO, Vec::new()),
            |(n, slow, mut errs), (m, s, e)| {
                errs.extend(e);
                (n + m, slow.max(s), errs)
            },
        )
    });
    let elapsed = started.elapsed();
    let text = http::get(&url).unwrap().body;
    let total = sample_with(
        &text,
        "function_calls_total",
        &[
            ("function", "stormy"),
            ("module", "faults::faults::storm"),
            ("result", "ok"),
        ],
    );
    let summary = format!(
        "{} calls in {elapsed:.1?} under {scrapes} scrapes by {SCRAPERS} scrapers, slowest \
         {slowest:.1?}, {} errors",
        2 * CALLS_PER_THREAD,
        errors.len()
    );
    eprintln!("{summary}");
    assert!(
        errors.is_empty(),
        "{summary}: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert_eq!(total, Some((2 * CALLS_PER_THREAD) as f64), "{summary}");
    assert!(
        slowest < Duration::from_secs(1),
        "a scrape took over 1 s: {summary}"
    );
}
