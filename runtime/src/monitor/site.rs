//! Static storage behind `#[monitor]`.
//!
//! The macro emits one `static MonitorSite<NB>` per annotated function, registers it with
//! `inventory`, and brackets each call with [`MonitorSite::start`] and [`Guard::finish`]:
//! two clock reads and four single-writer counter updates, no lock, hash or allocation.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock;
use crate::exemplar::{Exemplar, Exemplars};
use crate::objectives::Objective;
use crate::recent;
use crate::slot::{SLOTS, Slot};

/// How a monitored call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Outcome {
    /// Returned normally and was not classified as an error.
    Ok = 0,
    /// Returned `Err`, or a value the `error_if`/`ok_if` option classified as an error.
    Error = 1,
    /// A panic unwound through the function.
    Panic = 2,
    /// The future was dropped before it completed.
    Cancelled = 3,
}

impl Outcome {
    pub(crate) const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Panic,
        Outcome::Cancelled,
    ];

    /// How the outcome counts toward a success-rate objective: `Some(true)` good,
    /// `Some(false)` bad, `None` not at all. A cancelled call is left out: the caller
    /// gave up, which says nothing about the function (see [`crate::objectives`]). The
    /// exporters omit the objective labels of exactly the outcomes this leaves out, so
    /// the rules and in-process evaluation count alike.
    pub const fn success_rate_event(self) -> Option<bool> {
        match self {
            Outcome::Ok => Some(true),
            Outcome::Error | Outcome::Panic => Some(false),
            Outcome::Cancelled => None,
        }
    }
}

/// Compile-time facts about one monitored function.
#[derive(Debug)]
pub struct MonitorMeta {
    /// Value of the `function` label.
    pub function: &'static str,
    /// Value of the `module` label (`module_path!()` of the function).
    pub module: &'static str,
    /// Source file of the function, for error messages.
    pub file: &'static str,
    /// Source line of the function, for error messages.
    pub line: u32,
    /// Upper bounds of the duration buckets, in seconds, ascending.
    pub bounds: &'static [f64],
    /// The same bounds in nanoseconds.
    pub bounds_ns: &'static [u64],
    /// `CARGO_PKG_NAME` of the crate that holds the function.
    pub crate_name: &'static str,
    /// `CARGO_PKG_VERSION` of the crate that holds the function.
    pub crate_version: &'static str,
    /// The commit the crate was built from, when its build knew it
    /// (`AUTOMETRICS_COMMIT`, else `VERGEN_GIT_SHA`, at compile time), else `""`.
    pub commit: &'static str,
    /// The branch the crate was built from (`AUTOMETRICS_BRANCH`, else
    /// `VERGEN_GIT_BRANCH`, at compile time), else `""`.
    pub branch: &'static str,
    /// `CARGO_PKG_REPOSITORY` of the crate that holds the function, else `""`.
    pub repository: &'static str,
    /// `#[monitor(objective = …)]`; its latency threshold, if any, is one of `bounds`.
    pub objective: Option<Objective>,
}

impl MonitorMeta {
    /// `file:line` of the function.
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// Index in `bounds` of the objective's latency threshold: calls in buckets up to
    /// and including it finished within the threshold.
    pub fn threshold_bucket(&self) -> Option<usize> {
        let threshold = self.objective?.latency_threshold_secs()?;
        // The macro put the very same double among the bounds.
        #[allow(clippy::float_cmp)]
        self.bounds.iter().position(|&b| b == threshold)
    }
}

/// One thread's counters for one function.
#[repr(C, align(128))]
#[derive(Debug)]
struct Shard<const NB: usize> {
    started: AtomicU64,
    outcomes: [AtomicU64; 4],
    sum_ns: AtomicU64,
    /// Per-bucket (not cumulative) counts; the last one is above the highest bound.
    buckets: [AtomicU64; NB],
}

impl<const NB: usize> Shard<NB> {
    const fn new() -> Self {
        Shard {
            started: AtomicU64::new(0),
            outcomes: [const { AtomicU64::new(0) }; 4],
            sum_ns: AtomicU64::new(0),
            buckets: [const { AtomicU64::new(0) }; NB],
        }
    }
}

/// The counters of one monitored function: all zero until the first call, in a static
/// of their own so that they take no space in the executable (`.bss`), only in memory
/// the threads that call the function touch.
#[derive(Debug)]
pub struct SiteCounters<const NB: usize> {
    shards: [Shard<NB>; SLOTS],
    exemplars: Exemplars<NB>,
}

impl<const NB: usize> SiteCounters<NB> {
    /// Every counter at zero.
    pub const fn new() -> Self {
        SiteCounters {
            shards: [const { Shard::new() }; SLOTS],
            exemplars: Exemplars::new(),
        }
    }
}

impl<const NB: usize> Default for SiteCounters<NB> {
    fn default() -> Self {
        Self::new()
    }
}

/// One monitored function: its facts, bucket bounds and counters; `NB` is the number of
/// bounds plus one.
#[derive(Debug)]
pub struct MonitorSite<const NB: usize> {
    meta: &'static MonitorMeta,
    /// `meta.bounds_ns` followed by `u64::MAX`: kept next to the counters' address, and
    /// the scan for a duration's bucket always stops inside the array.
    bounds_ns: [u64; NB],
    counters: &'static SiteCounters<NB>,
}

impl<const NB: usize> MonitorSite<NB> {
    /// A site over `counters`.
    ///
    /// # Panics
    /// At compile time (it is evaluated in a `static`) if `NB` is not the number of
    /// bounds plus one; the macro always emits matching values.
    pub const fn new(meta: &'static MonitorMeta, counters: &'static SiteCounters<NB>) -> Self {
        assert!(meta.bounds.len() + 1 == NB && meta.bounds_ns.len() + 1 == NB);
        let mut bounds_ns = [u64::MAX; NB];
        let mut i = 0;
        while i < NB - 1 {
            bounds_ns[i] = meta.bounds_ns[i];
            i += 1;
        }
        MonitorSite {
            meta,
            bounds_ns,
            counters,
        }
    }

    /// Marks a call as started and reads the clock.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn start(&'static self) -> Guard<NB> {
        let slot = Slot::current();
        slot.add(&self.counters.shards[slot.index()].started, 1);
        Guard {
            site: self,
            start: clock::raw(),
        }
    }

    /// Records a finished call; returns its duration (ns), its bucket and the end time.
    /// A successful call beyond the first bucket is offered to the slowest calls kept
    /// (`span`, when recorded, gives its trace): the test sits in the branch that leaves
    /// the first bucket, so a call inside it runs no instruction more.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn record(
        &self,
        start: u64,
        outcome: Outcome,
        span: Option<&tracing::Span>,
    ) -> (u64, usize, u64) {
        let clock = clock::clock();
        let end = clock.raw();
        let nanos = clock.delta_as_nanos(start, end);
        let slot = Slot::current();
        let shard = &self.counters.shards[slot.index()];
        slot.add(&shard.outcomes[outcome as usize], 1);
        slot.add(&shard.sum_ns, nanos);
        // Early exit from the smallest bound: a function's durations cluster, so the
        // branches predict well (2-5 ns for 22 bounds, against 13-29 ns for a
        // branch-free count, which baseline x86-64 cannot vectorise for u64).
        let bucket = if nanos <= self.bounds_ns[0] {
            0
        } else {
            // Only builds with the status page keep slow calls.
            if cfg!(feature = "status") && outcome == Outcome::Ok && recent::admits_slow(nanos) {
                self.keep_slow(nanos, span);
            }
            self.bounds_ns[1..]
                .iter()
                .position(|&bound| nanos <= bound)
                .map_or(NB - 1, |i| i + 1)
        };
        slot.add(&shard.buckets[bucket], 1);
        (nanos, bucket, end)
    }

    #[cold]
    #[inline(never)]
    fn record_abnormal(&self, start: u64) {
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            Outcome::Cancelled
        };
        let (nanos, _, _) = self.record(start, outcome, None);
        if outcome == Outcome::Panic {
            recent::unwound(self.function(), nanos);
        } else if recent::admits_slow(nanos) {
            let mut call = self.call(recent::Kind::Slow, nanos);
            call.cancelled = true;
            recent::slow(call);
        }
    }

    /// The function's name and module, for [`recent`].
    fn function(&self) -> (&'static str, &'static str) {
        (self.meta.function, self.meta.module)
    }

    /// A notable call of this function that took `nanos`.
    pub(crate) fn call(&self, kind: recent::Kind, nanos: u64) -> recent::Call {
        let mut call = recent::Call::new(kind, Some(self.function()));
        call.duration_ns = Some(nanos);
        call
    }

    #[cold]
    #[inline(never)]
    fn keep_slow(&self, nanos: u64, span: Option<&tracing::Span>) {
        let mut call = self.call(recent::Kind::Slow, nanos);
        if let Some((trace, span, _)) = span.and_then(crate::span_ids::ids_of) {
            call.trace_id = Some(trace);
            call.span_id = Some(span);
        }
        recent::slow(call);
    }
}

/// Sums of all shards of one function at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MonitorSnapshot {
    pub(crate) outcomes: [u64; 4],
    pub(crate) in_flight: u64,
    pub(crate) sum_ns: u64,
    /// Per-bucket counts, last one above the highest bound.
    pub(crate) buckets: Vec<u64>,
    /// Exemplar of each bucket, if one was taken.
    pub(crate) bucket_exemplars: Vec<Option<Exemplar>>,
    /// Exemplar of each outcome's counter.
    pub(crate) outcome_exemplars: [Option<Exemplar>; 4],
}

/// Type-erased access for the catalogue and the exporters.
pub trait MonitorStorage: Sync {
    /// The function's compile-time facts.
    fn meta(&self) -> &'static MonitorMeta;
    #[doc(hidden)]
    fn snapshot(&self) -> MonitorSnapshotHandle;
}

/// Opaque snapshot returned by [`MonitorStorage::snapshot`].
#[derive(Debug)]
pub struct MonitorSnapshotHandle(pub(crate) MonitorSnapshot);

impl<const NB: usize> MonitorStorage for MonitorSite<NB> {
    fn meta(&self) -> &'static MonitorMeta {
        self.meta
    }

    fn snapshot(&self) -> MonitorSnapshotHandle {
        let mut snap = MonitorSnapshot {
            buckets: vec![0; NB],
            ..MonitorSnapshot::default()
        };
        let mut started = 0u64;
        let in_use = crate::slot::shards_in_use().min(SLOTS);
        // Finishes are read before starts, so a call racing the scrape mostly makes the
        // in-flight gauge briefly high; the writers' stores are relaxed, so on weakly
        // ordered CPUs a finish can be seen before its start, which the saturating
        // subtraction below clamps to zero.
        for shard in &self.counters.shards[..in_use] {
            for (total, cell) in snap.outcomes.iter_mut().zip(&shard.outcomes) {
                *total = total.wrapping_add(cell.load(Ordering::Acquire));
            }
            snap.sum_ns = snap
                .sum_ns
                .wrapping_add(shard.sum_ns.load(Ordering::Relaxed));
            for (total, cell) in snap.buckets.iter_mut().zip(&shard.buckets) {
                *total = total.wrapping_add(cell.load(Ordering::Relaxed));
            }
        }
        for shard in &self.counters.shards[..in_use] {
            started = started.wrapping_add(shard.started.load(Ordering::Acquire));
        }
        let finished: u64 = snap.outcomes.iter().sum();
        snap.in_flight = started.saturating_sub(finished);
        (snap.bucket_exemplars, snap.outcome_exemplars) = self.counters.exemplars.read();
        MonitorSnapshotHandle(snap)
    }
}

/// What `inventory` collects for each monitored function.
#[derive(Clone, Copy)]
pub struct MonitorEntry {
    pub(crate) site: &'static dyn MonitorStorage,
}

impl MonitorEntry {
    /// Wraps a site for registration.
    pub const fn new(site: &'static dyn MonitorStorage) -> Self {
        MonitorEntry { site }
    }
}

impl std::fmt::Debug for MonitorEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MonitorEntry")
            .field(self.site.meta())
            .finish()
    }
}

inventory::collect!(MonitorEntry);

/// Live while a monitored call runs; records the call when finished or dropped.
///
/// Dropped without [`Guard::finish`] it records a panic if the thread is unwinding and a
/// cancellation otherwise (an `async fn` whose future was dropped).
#[must_use]
#[derive(Debug)]
pub struct Guard<const NB: usize> {
    site: &'static MonitorSite<NB>,
    start: u64,
}

impl<const NB: usize> Guard<NB> {
    /// Records the call with the given outcome.
    ///
    /// A successful call in the first bucket runs what it ran before recent failures were
    /// kept: the outcome is tested where it is known (the `Result`'s variant) and the
    /// successful path records a constant outcome.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn finish(self, outcome: Outcome) {
        if outcome == Outcome::Ok {
            self.site.record(self.start, Outcome::Ok, None);
            std::mem::forget(self);
        } else {
            self.finish_failed(outcome);
        }
    }

    /// A call that returned an error, without a span: kept among recent failures with
    /// no message (the message comes from the span side, [`crate::trace`]).
    #[cold]
    #[inline(never)]
    fn finish_failed(self, outcome: Outcome) {
        let site = self.site;
        let nanos = self.finish_plain(outcome);
        if recent::enabled() {
            recent::failed(site.call(recent::Kind::Error, nanos));
        }
    }

    /// Records the call and nothing else; its duration.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn finish_plain(self, outcome: Outcome) -> u64 {
        let (nanos, _, _) = self.site.record(self.start, outcome, None);
        std::mem::forget(self);
        nanos
    }

    /// Records the call, offering it as an exemplar with `span`'s trace; its duration.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn finish_in_span(self, outcome: Outcome, span: &tracing::Span) -> u64 {
        let (nanos, bucket, end) = self.site.record(self.start, outcome, Some(span));
        self.site
            .counters
            .exemplars
            .offer(span, bucket, outcome as usize, nanos, end);
        std::mem::forget(self);
        nanos
    }

    /// The site of this call.
    pub(crate) fn site(&self) -> &'static MonitorSite<NB> {
        self.site
    }
}

impl<const NB: usize> Drop for Guard<NB> {
    fn drop(&mut self) {
        self.site.record_abnormal(self.start);
    }
}

/// Classifies `Result` returns by variant (autoref specialisation, preferred).
pub trait ViaResult {
    #[doc(hidden)]
    fn __flext_outcome(&self) -> Outcome;
}

impl<T, E> ViaResult for Result<T, E> {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn __flext_outcome(&self) -> Outcome {
        if self.is_ok() {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

/// Classifies every other return as [`Outcome::Ok`].
pub trait ViaAny {
    #[doc(hidden)]
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn __flext_outcome(&self) -> Outcome {
        Outcome::Ok
    }
}

impl<T: ?Sized> ViaAny for &T {}

/// Maps an `ok_if`/`error_if` predicate result to an outcome.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn outcome_from(is_error: bool) -> Outcome {
    if is_error {
        Outcome::Error
    } else {
        Outcome::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static META: MonitorMeta = MonitorMeta {
        function: "work",
        module: "tests",
        file: "src/lib.rs",
        line: 1,
        bounds: &[0.001, 1.0],
        bounds_ns: &[1_000_000, 1_000_000_000],
        crate_name: "tests",
        crate_version: "0.0.0",
        commit: "",
        branch: "",
        repository: "",
        objective: None,
    };
    static COUNTERS: SiteCounters<3> = SiteCounters::new();
    static SITE: MonitorSite<3> = MonitorSite::new(&META, &COUNTERS);

    #[test]
    fn calls_are_counted_by_outcome_bucket_and_in_flight() {
        let running = SITE.start();
        let snap = SITE.snapshot().0;
        assert_eq!(snap.in_flight, 1);
        running.finish(Outcome::Ok);
        SITE.start().finish(Outcome::Error);
        // Dropped unfinished outside a panic: a cancelled future.
        drop(SITE.start());
        // Unwinding through the call: a panic.
        let panicked = std::thread::spawn(|| {
            let _guard = SITE.start();
            panic!("boom");
        })
        .join();
        assert!(panicked.is_err());
        let snap = SITE.snapshot().0;
        assert_eq!(snap.outcomes, [1, 1, 1, 1]);
        assert_eq!(snap.in_flight, 0);
        // Four quick calls: all in the first bucket, none above the last bound.
        assert_eq!(snap.buckets.iter().sum::<u64>(), 4);
        assert_eq!(snap.buckets[2], 0);
        assert!(snap.sum_ns < 4_000_000_000);
        assert!(snap.bucket_exemplars.iter().all(Option::is_none));
    }

    #[test]
    fn outcomes_of_results() {
        use super::{ViaAny as _, ViaResult as _};
        assert_eq!(Ok::<u8, ()>(1).__flext_outcome(), Outcome::Ok);
        assert_eq!(Err::<u8, ()>(()).__flext_outcome(), Outcome::Error);
        assert_eq!((&7u8).__flext_outcome(), Outcome::Ok);
        assert_eq!(outcome_from(true), Outcome::Error);
    }
}
