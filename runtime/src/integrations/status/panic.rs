//! The panic hook: `process_panics_total{thread}`, an `exception` event on the current
//! span (which the JSON log layer writes as a line with the trace and span ids, and the
//! OpenTelemetry layer records on the span), and an entry among the recent failures.
//! Then the hook that was there before, always.
//!
//! The event carries the message (cut at 256 characters), the location and the thread;
//! a backtrace only when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for one; never a
//! local value. Panics of health checks, which the health runner catches and reports
//! under its own rule for messages (`health_details`), are counted and nothing more.
//!
//! Rust keeps one hook per process and offers no way to take one hook out of a chain: the
//! hook stays once set, and when the guard is dropped (or `panic_hook(false)` is given
//! to a later `install()`) it only calls the previous one. Each `install()` that wants the
//! hook chains a new one; only the newest reports.

use std::borrow::Cow;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};
use crate::recent::{self, Call, Kind};
use crate::trace::guard::ErrorText;

/// The name of the counter.
pub(super) const PANICS: &str = "process_panics_total";

/// Distinct `thread` values kept; later names count as `other`.
const MAX_THREADS: usize = 64;

/// Threads whose panics the health runner reports.
const CHECK_THREADS: &str = "flext-obs-check";

/// The generation of the hook that reports (0: none does).
static ACTIVE: AtomicU64 = AtomicU64::new(0);
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// Panics by thread name.
static COUNTS: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

/// Puts a reporting hook in front of the current one.
pub(super) fn install() {
    let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if ACTIVE.load(Ordering::Acquire) == generation {
            report(info);
        }
        previous(info);
    }));
    ACTIVE.store(generation, Ordering::Release);
}

/// Stops reporting; the hooks only pass panics on.
pub(super) fn stop() {
    ACTIVE.store(0, Ordering::Release);
}

fn report(info: &PanicHookInfo<'_>) {
    let current = std::thread::current();
    let thread = current.name().unwrap_or("unnamed");
    count(thread);
    if thread.starts_with(CHECK_THREADS) {
        recent::panic_unreported();
        return;
    }
    let payload = info.payload();
    let message: Cow<'_, str> = if let Some(s) = payload.downcast_ref::<&str>() {
        Cow::Borrowed(s)
    } else if let Some(s) = payload.downcast_ref::<String>() {
        Cow::Borrowed(s)
    } else {
        Cow::Borrowed("a panic without a message")
    };
    let message = ErrorText::Display(&message).to_string();
    let location = info.location().map(|l| (l.file(), l.line(), l.column()));
    let backtrace = std::backtrace::Backtrace::capture();
    let backtrace = (backtrace.status() == std::backtrace::BacktraceStatus::Captured)
        .then(|| backtrace.to_string());
    let (file, line, column) = location.unwrap_or(("", 0, 0));
    tracing::event!(
        name: "exception",
        target: "flext_observability::panic",
        tracing::Level::ERROR,
        exception.r#type = "panic",
        exception.message = message.as_str(),
        exception.stacktrace = backtrace.as_deref(),
        code.filepath = file,
        code.lineno = line,
        code.column = column,
        thread.name = thread,
        // The message names the span event: `exception`, as the conventions name it.
        "exception"
    );
    let mut call = Call::new(Kind::Panic, None);
    call.error_type = Some(Cow::Borrowed("panic"));
    call.message = Some(message);
    call.location = location.map(|(f, l, c)| format!("{f}:{l}:{c}"));
    call.thread = Some(thread.to_owned());
    if let Some((trace, span, _)) = crate::span_ids::ids_of(&tracing::Span::current()) {
        call.trace_id = Some(trace);
        call.span_id = Some(span);
    }
    recent::panicked(call);
}

fn count(thread: &str) {
    let mut counts = COUNTS.lock().unwrap_or_else(PoisonError::into_inner);
    let name = if counts.iter().any(|(n, _)| n == thread) || counts.len() < MAX_THREADS - 1 {
        thread
    } else {
        "other"
    };
    match counts.iter_mut().find(|(n, _)| n == name) {
        Some((_, n)) => *n += 1,
        None => counts.push((name.to_owned(), 1)),
    }
}

/// `process_panics_total`, once a panic was counted.
struct PanicSource;

static PANIC_SOURCE: PanicSource = PanicSource;

inventory::submit!(SourceEntry::new(140, &PANIC_SOURCE));

struct PanicView(Vec<(String, u64)>);

impl Source for PanicSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(PanicView(
            COUNTS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        ))
    }

    fn origin(&self) -> &'static str {
        "the panic hook"
    }
}

impl Snapshot for PanicView {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        if self.0.is_empty() {
            return Vec::new();
        }
        vec![FamilyDesc::fixed(
            PANICS,
            "Panics in this process, by thread name (the first 63 names, then `other`).",
            MetricType::Counter,
            None,
        )]
    }

    fn encode(&self, _family: &str, out: &mut dyn Encoder) {
        for (thread, n) in &self.0 {
            out.counter(&[("thread", thread)], Value::Int(*n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names_are_bounded() {
        for i in 0..(MAX_THREADS + 10) {
            count(&format!("bounded-test-{i}"));
        }
        count("bounded-test-0");
        let counts = COUNTS.lock().unwrap().clone();
        assert!(counts.len() <= MAX_THREADS, "{}", counts.len());
        assert_eq!(
            counts
                .iter()
                .find(|(n, _)| n == "bounded-test-0")
                .map(|c| c.1),
            Some(2)
        );
        assert!(counts.iter().any(|(n, c)| n == "other" && *c >= 10));
    }
}
