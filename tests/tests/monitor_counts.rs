//! Exact counting and classification of monitored calls, read back from the exposition.

#![allow(clippy::float_cmp)] // samples are exact counts read back as f64

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Barrier, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use flext_observability::monitor;
use flext_observability::prometheus::render;
use flext_observability_tests::sample;

const MODULE: &str = "monitor_counts";

fn calls(function: &str, result: &str) -> f64 {
    let series = format!(
        r#"function_calls_total{{function="{function}",module="{MODULE}",result="{result}"}}"#
    );
    sample(&render(), &series).unwrap_or_else(|| panic!("no series {series}"))
}

fn panics(function: &str) -> f64 {
    let series = format!(
        r#"function_calls_total{{function="{function}",module="{MODULE}",result="error",error="panic"}}"#
    );
    sample(&render(), &series).unwrap_or_else(|| panic!("no series {series}"))
}

fn in_flight(function: &str) -> f64 {
    let series = format!(r#"function_calls_concurrent{{function="{function}",module="{MODULE}"}}"#);
    sample(&render(), &series).unwrap_or_else(|| panic!("no series {series}"))
}

fn duration(function: &str, suffix: &str, le: Option<&str>) -> f64 {
    let le = le.map(|le| format!(r#",le="{le}""#)).unwrap_or_default();
    let series = format!(
        r#"function_calls_duration_seconds_{suffix}{{function="{function}",module="{MODULE}"{le}}}"#
    );
    sample(&render(), &series).unwrap_or_else(|| panic!("no series {series}"))
}

#[monitor]
fn hammered(x: u64) -> u64 {
    std::hint::black_box(x)
}

#[test]
fn threads_times_calls_is_exact_even_beyond_the_exclusive_slots() {
    // 40 live threads: more than the 31 exclusive slots, so some share shard 0.
    const THREADS: usize = 40;
    const CALLS: u64 = 20_000;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..CALLS {
                    hammered(i);
                }
                // Stay alive until everyone is done, so no slot is handed over early.
                barrier.wait();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = THREADS as f64 * CALLS as f64;
    assert_eq!(calls("hammered", "ok"), total);
    assert_eq!(duration("hammered", "count", None), total);
    assert_eq!(duration("hammered", "bucket", Some("+Inf")), total);
    assert_eq!(in_flight("hammered"), 0.0);
}

#[monitor]
fn handed_over(x: u64) -> u64 {
    std::hint::black_box(x)
}

#[test]
fn counts_stay_exact_while_threads_exit_and_others_take_their_slots() {
    // A long-lived thread counts throughout while short-lived threads come and go: each
    // exiting thread returns its slot, the next one continues from its totals.
    const ROUNDS: u64 = 20;
    const SHORT: u64 = 6;
    const CALLS: u64 = 5_000;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let steady = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                handed_over(n);
                n += 1;
            }
            n
        })
    };
    for _ in 0..ROUNDS {
        let handles: Vec<_> = (0..SHORT)
            .map(|_| {
                std::thread::spawn(|| {
                    for i in 0..CALLS {
                        handed_over(i);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let steady_calls = steady.join().unwrap();
    let total = (ROUNDS * SHORT * CALLS + steady_calls) as f64;
    assert_eq!(calls("handed_over", "ok"), total);
    assert_eq!(duration("handed_over", "count", None), total);
    assert_eq!(in_flight("handed_over"), 0.0);
}

#[monitor]
async fn hops(n: u32) -> u32 {
    // Each await may resume the call on the other worker thread: the start is counted
    // in one thread's slot and the finish in another's.
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
    n
}

#[test]
fn async_calls_resumed_on_other_threads_are_counted_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..2_000).map(|i| tokio::spawn(hops(i % 7))).collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(calls("hops", "ok"), 2_000.0);
    assert_eq!(in_flight("hops"), 0.0);
}

#[derive(Debug)]
struct Declined;

#[monitor]
fn charge(amount: u32) -> Result<u32, Declined> {
    if amount > 100 {
        Err(Declined)
    } else {
        Ok(amount)
    }
}

#[test]
fn errors_are_classified_by_result() {
    for amount in [1, 50, 101, 200, 300] {
        let _ = charge(amount);
    }
    assert_eq!(calls("charge", "ok"), 2.0);
    assert_eq!(calls("charge", "error"), 3.0);
    assert_eq!(panics("charge"), 0.0);
}

#[monitor]
fn explode(n: u32) -> u32 {
    assert!(n != 0, "boom");
    n
}

#[test]
fn panics_are_errors_marked_panic_and_keep_unwinding() {
    let caught = std::panic::catch_unwind(|| explode(0));
    assert!(caught.is_err(), "the panic must continue unwinding");
    assert_eq!(explode(1), 1);
    assert_eq!(panics("explode"), 1.0);
    assert_eq!(calls("explode", "ok"), 1.0);
    assert_eq!(calls("explode", "error"), 0.0);
    assert_eq!(in_flight("explode"), 0.0);
}

/// A future that is pending until its sender fires.
#[monitor]
async fn wait_for_signal(rx: tokio::sync::oneshot::Receiver<()>) -> bool {
    rx.await.is_ok()
}

#[test]
fn dropped_futures_are_counted_as_cancelled() {
    let mut cx = Context::from_waker(Waker::noop());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut fut = Box::pin(wait_for_signal(rx));
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(in_flight("wait_for_signal"), 1.0);
    drop(fut);
    drop(tx);
    assert_eq!(calls("wait_for_signal", "cancelled"), 1.0);
    assert_eq!(in_flight("wait_for_signal"), 0.0);

    // A future never polled never started: nothing is recorded.
    let (_tx, rx) = tokio::sync::oneshot::channel();
    drop(wait_for_signal(rx));
    assert_eq!(calls("wait_for_signal", "cancelled"), 1.0);

    // Completed normally.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut fut: Pin<Box<dyn Future<Output = bool>>> = Box::pin(wait_for_signal(rx));
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    tx.send(()).unwrap();
    assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Ready(true)));
    assert_eq!(calls("wait_for_signal", "ok"), 1.0);
}

#[monitor]
fn never_called() -> Result<(), Declined> {
    Ok(())
}

#[test]
fn series_exist_at_zero_before_the_first_call() {
    // Referenced so the test reads naturally; registration does not need it.
    let _ = never_called as fn() -> Result<(), Declined>;
    assert_eq!(calls("never_called", "ok"), 0.0);
    assert_eq!(calls("never_called", "error"), 0.0);
    assert_eq!(calls("never_called", "cancelled"), 0.0);
    assert_eq!(panics("never_called"), 0.0);
    assert_eq!(duration("never_called", "count", None), 0.0);
    assert_eq!(duration("never_called", "sum", None), 0.0);
    assert_eq!(in_flight("never_called"), 0.0);
}

#[monitor]
fn blocked(rx: &mpsc::Receiver<()>) {
    rx.recv().unwrap();
}

#[test]
fn in_flight_gauge_counts_calls_in_progress() {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        started_tx.send(()).unwrap();
        blocked(&release_rx);
    });
    started_rx.recv().unwrap();
    // The call starts right after the signal; wait (bounded) until it is visible.
    let seen = flext_observability_tests::eventually(Duration::from_secs(10), || {
        (in_flight("blocked") == 1.0).then_some(())
    });
    assert!(seen.is_some(), "the blocked call never showed as in flight");
    release_tx.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(in_flight("blocked"), 0.0);
    assert_eq!(calls("blocked", "ok"), 1.0);
}

#[monitor(buckets = [0.001, 0.01, 1.0])]
fn sleeps(d: Duration) {
    std::thread::sleep(d);
}

#[test]
fn durations_land_in_cumulative_buckets() {
    // `sleep` never returns early, so these lower bounds are certain.
    sleeps(Duration::from_millis(20));
    sleeps(Duration::from_millis(20));
    assert_eq!(duration("sleeps", "bucket", Some("0.001")), 0.0);
    assert_eq!(duration("sleeps", "bucket", Some("0.01")), 0.0);
    assert_eq!(duration("sleeps", "bucket", Some("+Inf")), 2.0);
    assert_eq!(duration("sleeps", "count", None), 2.0);
    assert!(duration("sleeps", "sum", None) >= 0.04);
}

#[monitor(ok_if = Option::is_some)]
fn find(key: u32) -> Option<u32> {
    key.is_multiple_of(2).then_some(key)
}

#[monitor(error_if = |n: &u32| *n >= 10)]
fn bounded(n: u32) -> u32 {
    n
}

#[test]
fn ok_if_and_error_if_decide_the_result() {
    for k in 0..5 {
        find(k);
    }
    assert_eq!(calls("find", "ok"), 3.0);
    assert_eq!(calls("find", "error"), 2.0);
    for n in [1, 9, 10, 11] {
        bounded(n);
    }
    assert_eq!(calls("bounded", "ok"), 2.0);
    assert_eq!(calls("bounded", "error"), 2.0);
}

struct Inventory;

#[monitor]
impl Inventory {
    fn reserve(&self, n: u32) -> Result<u32, Declined> {
        if n == 0 { Err(Declined) } else { Ok(n) }
    }

    #[monitor(skip)]
    #[allow(clippy::unused_self)] // mirrors a real accessor
    fn peek(&self) -> u32 {
        0
    }
}

trait Priced {
    fn price(&self) -> u32;
}

#[monitor]
impl Priced for Inventory {
    fn price(&self) -> u32 {
        7
    }
}

#[test]
fn impl_blocks_label_methods_with_their_type() {
    let inv = Inventory;
    let _ = inv.reserve(1);
    let _ = inv.reserve(0);
    assert_eq!(inv.peek(), 0);
    assert_eq!(inv.price(), 7);
    assert_eq!(calls("Inventory::reserve", "ok"), 1.0);
    assert_eq!(calls("Inventory::reserve", "error"), 1.0);
    assert_eq!(calls("<Inventory as Priced>::price", "ok"), 1.0);
    assert!(
        !render().contains(r#"function="Inventory::peek""#),
        "skipped methods are not instrumented"
    );
}
