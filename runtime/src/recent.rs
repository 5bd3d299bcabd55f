//! Recent failures of monitored calls: the last calls that failed (an error or a panic)
//! and the slowest calls of the last minutes, each in a small bounded store, for the
//! status page (tracez-like).
//!
//! Only calls already off the fast path reach this module: a call that failed, one that
//! panicked or was cancelled (both recorded by a guard's drop), and one slower than its
//! function's first bucket bound that is also slower than the slowest calls kept so far
//! ([`admits_slow`]: one relaxed load). A successful call in the first bucket runs exactly
//! the instructions it ran before this module existed (`benches/status/instructions.sh`).
//!
//! Nothing is kept until a reader turns the stores on ([`enable`]): without the status
//! page, the error path pays one relaxed load more.

// Without the status page nothing reads the stores, and nothing turns them on.
#![cfg_attr(not(feature = "status"), allow(dead_code))]

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// How many failed calls, and how many slow calls, are kept.
pub(crate) const CAPACITY: usize = 32;

/// How long a slow call stays among the slowest: the longest window the status page
/// shows (15 minutes).
pub(crate) const SLOW_KEPT_NS: u64 = 15 * 60 * 1_000_000_000;

/// What made a call notable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Returned an error (`Err`, or `error_if`/`ok_if` said so).
    Error,
    /// Panicked; the panic hook also records panics outside monitored functions.
    Panic,
    /// Among the slowest calls; `cancelled` when its future was dropped.
    Slow,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Panic => "panic",
            Kind::Slow => "slow",
        }
    }
}

/// One notable call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Call {
    pub(crate) kind: Kind,
    /// When it ended (or panicked), in nanoseconds since the Unix epoch.
    pub(crate) unix_nanos: u64,
    /// The monitored function; `None` for a panic outside any monitored function.
    pub(crate) function: Option<&'static str>,
    pub(crate) module: Option<&'static str>,
    /// How long the call ran; `None` for a panic outside any monitored function.
    pub(crate) duration_ns: Option<u64>,
    /// The error's type (`std::any::type_name` of `E`), or `panic`.
    pub(crate) error_type: Option<Cow<'static, str>>,
    /// The error's `Display` or the panic's message, cut as spans cut it
    /// (`trace::guard::ErrorText`).
    pub(crate) message: Option<String>,
    /// Where a panic happened (`file:line:column`).
    pub(crate) location: Option<String>,
    /// The thread it ran on, for a panic.
    pub(crate) thread: Option<String>,
    /// The trace and span of the call, when its span was recorded with OpenTelemetry.
    pub(crate) trace_id: Option<[u8; 16]>,
    pub(crate) span_id: Option<[u8; 8]>,
    /// The future was dropped before it finished (a slow call only).
    pub(crate) cancelled: bool,
    /// Which panic of the process the panic hook reported here (0: none), so that the
    /// monitored call it unwinds through can complete this entry.
    pub(crate) panic_seq: u64,
}

impl Call {
    /// A call of `function` with nothing else known yet.
    pub(crate) fn new(kind: Kind, function: Option<(&'static str, &'static str)>) -> Call {
        Call {
            kind,
            unix_nanos: crate::clock::unix_nanos(),
            function: function.map(|f| f.0),
            module: function.map(|f| f.1),
            duration_ns: None,
            error_type: None,
            message: None,
            location: None,
            thread: None,
            trace_id: None,
            span_id: None,
            cancelled: false,
            panic_seq: 0,
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
/// A slow call is kept only above this (nanoseconds): `u64::MAX` while nothing is kept,
/// 0 until the store is full, then the fastest call in it.
static ADMIT_SLOW_NS: Alone = Alone(AtomicU64::new(u64::MAX));

/// An atomic alone in its cache lines: what every slow successful call reads is never
/// invalidated by the locks that errors take.
#[repr(align(128))]
struct Alone(AtomicU64);

/// The last failures, oldest first.
static FAILED: Mutex<VecDeque<Call>> = Mutex::new(VecDeque::new());
/// The slowest calls of the last [`SLOW_KEPT_NS`], in no order.
static SLOWEST: Mutex<Vec<Call>> = Mutex::new(Vec::new());

/// Starts (or stops) keeping calls.
pub(crate) fn enable(on: bool) {
    ENABLED.store(on, Ordering::Release);
    if on {
        let slowest = SLOWEST.lock().unwrap_or_else(PoisonError::into_inner);
        ADMIT_SLOW_NS
            .0
            .store(admission(&slowest), Ordering::Relaxed);
    } else {
        ADMIT_SLOW_NS.0.store(u64::MAX, Ordering::Relaxed);
    }
}

/// Whether calls are kept.
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether a call of `nanos` is slow enough to be kept: the one test a call beyond its
/// first bucket pays.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn admits_slow(nanos: u64) -> bool {
    nanos > ADMIT_SLOW_NS.0.load(Ordering::Relaxed)
}

/// Keeps a failed call (the oldest goes when full). An error whose thread finds the
/// store busy (another thread's error being kept) is not kept: under an error storm the
/// failing calls never queue on the lock; a panic, rare, waits its turn.
#[cold]
pub(crate) fn failed(call: Call) {
    if !enabled() {
        return;
    }
    let mut ring = if call.kind == Kind::Panic {
        FAILED.lock().unwrap_or_else(PoisonError::into_inner)
    } else {
        match FAILED.try_lock() {
            Ok(ring) => ring,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        }
    };
    if ring.len() == CAPACITY {
        ring.pop_front();
    }
    ring.push_back(call);
}

/// Keeps a slow call if it is still among the slowest (another thread may have raised
/// the bar since [`admits_slow`]).
#[cold]
pub(crate) fn slow(call: Call) {
    if !enabled() {
        return;
    }
    let nanos = call.duration_ns.unwrap_or(0);
    // Busy: another slow call is being kept; this one is not waited for.
    let mut slowest = match SLOWEST.try_lock() {
        Ok(slowest) => slowest,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if slowest.len() < CAPACITY {
        slowest.push(call);
    } else {
        let (i, fastest) = fastest(&slowest);
        if nanos <= fastest {
            return;
        }
        slowest[i] = call;
    }
    ADMIT_SLOW_NS
        .0
        .store(admission(&slowest), Ordering::Relaxed);
}

/// Drops slow calls older than [`SLOW_KEPT_NS`] (the status page's sampler calls it), so
/// the bar falls again after a burst of slow calls.
pub(crate) fn expire_slow(now_unix_nanos: u64) {
    let mut slowest = SLOWEST.lock().unwrap_or_else(PoisonError::into_inner);
    let before = slowest.len();
    slowest.retain(|c| now_unix_nanos.saturating_sub(c.unix_nanos) <= SLOW_KEPT_NS);
    if slowest.len() != before && enabled() {
        ADMIT_SLOW_NS
            .0
            .store(admission(&slowest), Ordering::Relaxed);
    }
}

fn fastest(calls: &[Call]) -> (usize, u64) {
    calls
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.duration_ns.unwrap_or(0)))
        .min_by_key(|&(_, d)| d)
        .unwrap_or((0, 0))
}

fn admission(slowest: &[Call]) -> u64 {
    if slowest.len() < CAPACITY {
        0
    } else {
        fastest(slowest).1
    }
}

/// The failed calls kept, newest first.
pub(crate) fn failures() -> Vec<Call> {
    let ring = FAILED.lock().unwrap_or_else(PoisonError::into_inner);
    ring.iter().rev().cloned().collect()
}

/// The slow calls kept, slowest first.
pub(crate) fn slowest() -> Vec<Call> {
    let mut calls = SLOWEST
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    calls.sort_by_key(|c| std::cmp::Reverse(c.duration_ns));
    calls
}

// A panic and the monitored calls it unwinds through: the panic hook (which knows the
// message and location) runs first and keeps an entry without a function; the innermost
// monitored call then completes that entry, and the calls further out leave it alone.
thread_local! {
    /// The sequence number of this thread's last panic, and whether a monitored call
    /// already completed its entry.
    static PANIC: Cell<(u64, bool)> = const { Cell::new((0, false)) };
}

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Keeps a panic reported by the panic hook.
pub(crate) fn panicked(mut call: Call) {
    let seq = PANICS.fetch_add(1, Ordering::Relaxed) + 1;
    let _ = PANIC.try_with(|p| p.set((seq, false)));
    call.kind = Kind::Panic;
    call.panic_seq = seq;
    failed(call);
}

/// A panic the hook does not report (turned off): the monitored calls it unwinds through
/// keep an entry of their own, as without a hook.
pub(crate) fn panic_unreported() {
    let _ = PANIC.try_with(|p| p.set((0, false)));
}

/// A monitored call that a panic unwound through: completes the panic hook's entry, or
/// keeps one of its own when there is none (no hook, or it was turned off).
#[cold]
pub(crate) fn unwound(function: (&'static str, &'static str), duration_ns: u64) {
    if !enabled() {
        return;
    }
    let (seq, claimed) = PANIC.try_with(Cell::get).unwrap_or((0, false));
    if seq != 0 {
        if !claimed {
            let _ = PANIC.try_with(|p| p.set((seq, true)));
            let mut ring = FAILED.lock().unwrap_or_else(PoisonError::into_inner);
            // Absent when a flood of failures pushed it out in between.
            if let Some(call) = ring.iter_mut().rev().find(|c| c.panic_seq == seq) {
                call.function = Some(function.0);
                call.module = Some(function.1);
                call.duration_ns = Some(duration_ns);
            }
        }
        return;
    }
    let mut call = Call::new(Kind::Panic, Some(function));
    call.duration_ns = Some(duration_ns);
    call.error_type = Some(Cow::Borrowed("panic"));
    failed(call);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries of `calls` about `function`.
    fn of(calls: Vec<Call>, function: &str) -> Vec<Call> {
        calls
            .into_iter()
            .filter(|c| c.function == Some(function))
            .collect()
    }

    fn call(kind: Kind, function: &'static str, nanos: u64) -> Call {
        let mut call = Call::new(kind, Some((function, "recent::tests")));
        call.duration_ns = Some(nanos);
        call
    }

    // One test: the stores are process-wide and other tests' calls may land in them
    // while they are on, hence the filters by function name.
    #[test]
    fn failures_slow_calls_and_panics() {
        enable(true);

        // The last failures, newest first.
        for i in 0..(CAPACITY as u64 + 5) {
            failed(call(Kind::Error, "ring_test", i));
        }
        let kept = of(failures(), "ring_test");
        assert_eq!(kept.len(), CAPACITY);
        assert_eq!(kept[0].duration_ns, Some(CAPACITY as u64 + 4));

        // The slowest: everything until full, then only what beats the fastest kept.
        let base = 1_000_000_000_000;
        for i in 1..=(CAPACITY as u64) {
            slow(call(Kind::Slow, "slow_test", base + i));
        }
        assert!(!admits_slow(base + 1));
        assert!(admits_slow(base + 2));
        slow(call(Kind::Slow, "slow_test", base + 100));
        let kept = of(slowest(), "slow_test");
        assert_eq!(kept.len(), CAPACITY);
        assert_eq!(kept[0].duration_ns, Some(base + 100));
        assert!(kept.iter().all(|c| c.duration_ns != Some(base + 1)));
        // Fifteen minutes later they are gone and the bar is down again.
        expire_slow(crate::clock::unix_nanos() + SLOW_KEPT_NS + 1);
        assert!(of(slowest(), "slow_test").is_empty());
        assert!(admits_slow(1));

        // A panic reported by the hook is completed by the innermost monitored call it
        // unwinds through; the calls further out add nothing.
        let mut reported = Call::new(Kind::Panic, None);
        reported.message = Some("boom".into());
        panicked(reported);
        unwound(("inner_fn", "recent::tests"), 7);
        unwound(("outer_fn", "recent::tests"), 9);
        let inner = of(failures(), "inner_fn");
        assert_eq!(inner.len(), 1);
        assert_eq!(inner[0].message.as_deref(), Some("boom"));
        assert_eq!(inner[0].duration_ns, Some(7));
        assert!(of(failures(), "outer_fn").is_empty());
        // Without a report from the hook, each call keeps its own entry.
        panic_unreported();
        unwound(("lone_fn", "recent::tests"), 3);
        let lone = of(failures(), "lone_fn");
        assert_eq!(lone.len(), 1);
        assert_eq!(lone[0].kind, Kind::Panic);

        // Off: nothing is kept, and no call is slow enough.
        enable(false);
        failed(call(Kind::Error, "off_test", 1));
        assert!(of(failures(), "off_test").is_empty());
        assert!(!admits_slow(u64::MAX - 1));
    }
}
