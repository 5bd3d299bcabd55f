//! Calls one monitored function `FLEXT_BENCH_CALLS` times, for `valgrind --tool=callgrind`:
//! `instructions.sh` takes the slope between two call counts, so start-up cancels out.
//! No `tracing` subscriber and no server: the fast path as a library user gets it.

use std::hint::black_box;

use flext_observability::monitor;

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}

#[inline(always)]
fn work(x: u64) -> u64 {
    black_box(
        black_box(x)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17),
    )
}

#[monitor]
#[inline(never)]
fn plain(x: u64) -> u64 {
    work(x)
}

#[monitor(span = false)]
#[inline(never)]
fn plain_nospan(x: u64) -> u64 {
    work(x)
}

#[monitor]
#[inline(never)]
fn result_ok(x: u64) -> Result<u64, Failed> {
    Ok(work(x))
}

#[monitor(span = false)]
#[inline(never)]
fn result_ok_nospan(x: u64) -> Result<u64, Failed> {
    Ok(work(x))
}

#[monitor]
#[inline(never)]
fn result_err(x: u64) -> Result<u64, Failed> {
    black_box(work(x));
    Err(Failed)
}

/// Every call lands beyond the first bucket (1 ns): what a slower function pays for the
/// question "is it among the slowest?".
#[monitor(buckets = [0.000_000_001, 1.0])]
#[inline(never)]
fn beyond_first(x: u64) -> u64 {
    work(x)
}

#[monitor(span = false, buckets = [0.000_000_001, 1.0])]
#[inline(never)]
fn beyond_first_nospan(x: u64) -> u64 {
    work(x)
}

#[monitor]
async fn plain_async(x: u64) -> u64 {
    work(x)
}

/// Polls a future that is ready at once.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => unreachable!("ready at once"),
    }
}

/// One call of `variant`.
#[inline(always)]
fn call(variant: &str, i: u64) -> u64 {
    match variant {
        "plain" => plain(i),
        "plain_nospan" => plain_nospan(i),
        "result_ok" => result_ok(i).unwrap_or(0),
        "result_ok_nospan" => result_ok_nospan(i).unwrap_or(0),
        "result_err" => result_err(i).unwrap_or(1),
        "async" => ready(plain_async(i)),
        "beyond_first" => beyond_first(i),
        "beyond_first_nospan" => beyond_first_nospan(i),
        other => panic!("unknown variant {other}"),
    }
}

/// The measured loop: `instructions.sh` collects only inside it
/// (`--toggle-collect=calls::measured`), after a warm-up that calibrated the clock and
/// took this thread's slot.
#[inline(never)]
fn measured(variant: &str, calls: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..calls {
        acc ^= call(variant, i);
    }
    acc
}

fn main() {
    let variant = std::env::var("FLEXT_BENCH_VARIANT").expect("FLEXT_BENCH_VARIANT");
    let calls: u64 = std::env::var("FLEXT_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // Outside the measured function: the clock's calibration runs on the first call.
    let mut warm = 0u64;
    for i in 0..1_000 {
        warm ^= call(&variant, i);
    }
    black_box(warm);
    black_box(measured(&variant, calls));
}
