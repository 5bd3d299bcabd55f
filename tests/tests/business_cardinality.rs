//! Cardinality limits: beyond a metric's series limit, new label values share one
//! `otel_metric_overflow="true"` series, the overflow self-metric counts them, and memory
//! stays bounded under a flood of a million distinct values.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::{Mutex, OnceLock, PoisonError};

use flext_observability::{Counter, Gauge, Histogram, business_metric};
use flext_observability_tests::{require, sample, tools};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// Counts the heap bytes the current thread holds (allocated minus freed), so a test
/// measures what its own work keeps, whatever the other tests of this binary do at the
/// same time.
struct Counting;

thread_local! {
    /// `const`, without a destructor: reading it never allocates.
    static THREAD_LIVE: Cell<isize> = const { Cell::new(0) };
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn track(bytes: isize, allocations: usize) {
    // `try_with`: during thread teardown the counters may be gone already.
    let _ = THREAD_LIVE.try_with(|live| live.set(live.get() + bytes));
    let _ = THREAD_ALLOCATIONS.try_with(|n| n.set(n.get() + allocations));
}

fn thread_live() -> isize {
    THREAD_LIVE.with(Cell::get)
}

fn thread_allocations() -> usize {
    THREAD_ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards to the system allocator, only adding bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size().cast_signed(), 1);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-layout.size().cast_signed(), 0);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size.cast_signed() - layout.size().cast_signed(), 1);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The runtime's warnings, as a `tracing` subscriber receives them.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        WARNINGS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(message.0);
    }
}

/// From now on the runtime's warnings go to [`WARNINGS`] (it reports through `tracing`
/// once a subscriber is set).
fn capture_warnings() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("no other subscriber");
    });
}

/// Warnings so far that mention `needle`.
fn warnings_about(needle: &str) -> usize {
    WARNINGS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|w| w.contains(needle))
        .count()
}

/// Requests by user id (a label that should never be one).
#[business_metric(labels(user), max_series = 100)]
static CARD_REQUESTS_TOTAL: Counter;

/// Sizes by session id, capped at 3 series.
#[business_metric(labels(session), max_series = 3, buckets = [1, 10])]
static CARD_SESSION_ROWS: Histogram;

/// Share of valid rows, set out of range on purpose.
#[business_metric(labels(pipeline))]
static CARD_VALID_RATIO: Gauge;

/// Rows by source file path, values of any length.
#[business_metric(labels(path), max_series = 10)]
static CARD_FILE_ROWS_TOTAL: Counter;

/// Overflowed on purpose, through label structs and a kept handle.
#[business_metric(labels(user), max_series = 2)]
static CARD_LOGINS_TOTAL: Counter;

/// Overflowed on purpose, for the warning.
#[business_metric(labels(user), max_series = 1)]
static CARD_WARNED_TOTAL: Counter;

/// Overflowed on purpose, for the linters.
#[business_metric(labels(user), max_series = 1, buckets = [1, 10])]
static CARD_LINT_ROWS: Histogram;

/// Flooded with a million distinct values under the default limit.
#[business_metric(labels(request_id))]
static CARD_FLOOD_TOTAL: Counter;

#[test]
fn series_beyond_the_limit_go_to_the_overflow_series() {
    for user in 0..250 {
        CARD_REQUESTS_TOTAL {
            user: &format!("user-{user}"),
        }
        .inc();
    }
    // Known values keep their own series after the limit is reached.
    CARD_REQUESTS_TOTAL { user: "user-7" }.inc_by(10u32);
    for session in 0..5 {
        CARD_SESSION_ROWS {
            session: &session.to_string(),
        }
        .observe(5.0);
    }

    let text = flext_observability::prometheus::render();
    let series = text
        .lines()
        .filter(|l| l.starts_with("card_requests_total{user="))
        .count();
    assert_eq!(series, 100, "exactly the limit of real series");
    assert_eq!(
        sample(&text, r#"card_requests_total{user="user-7"}"#),
        Some(11.0)
    );
    assert_eq!(
        sample(&text, r#"card_requests_total{otel_metric_overflow="true"}"#),
        Some(150.0),
        "the 150 values beyond the limit are counted in the overflow series"
    );
    assert_eq!(
        sample(
            &text,
            r#"flext_observability_series_overflows_total{metric="card_requests_total"}"#
        ),
        Some(150.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"card_session_rows_count{otel_metric_overflow="true"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"flext_observability_series_overflows_total{metric="card_session_rows"}"#
        ),
        Some(2.0)
    );
}

#[test]
fn a_million_distinct_values_keep_memory_bounded() {
    // Warm up: the metric's map, the overflow series and the hasher exist.
    for i in 0..3000 {
        CARD_FLOOD_TOTAL {
            request_id: &format!("warm-{i}"),
        }
        .inc();
    }
    let before = thread_live();
    let mut id = String::with_capacity(32);
    for i in 0..1_000_000u32 {
        use std::fmt::Write as _;
        id.clear();
        write!(id, "req-{i:08}").unwrap();
        CARD_FLOOD_TOTAL { request_id: &id }.inc();
    }
    let grown = thread_live() - before;
    // Nothing may be kept per value (a million values would keep megabytes): the limit
    // (2000) was reached during warm-up, and only this thread's allocations count. The
    // slack is the reused formatting buffer.
    assert!(
        grown < 4096,
        "the flood kept {grown} bytes of heap; memory is not bounded"
    );
    let text = flext_observability::prometheus::render();
    let series = text
        .lines()
        .filter(|l| l.starts_with("card_flood_total{request_id="))
        .count();
    assert_eq!(series, 2000, "the default limit");
    assert_eq!(
        sample(&text, r#"card_flood_total{otel_metric_overflow="true"}"#),
        Some(1_001_000.0)
    );
}

#[test]
fn an_out_of_range_ratio_warns_once_and_then_costs_no_allocation() {
    capture_warnings();
    let series = CARD_VALID_RATIO { pipeline: "orders" }.series();
    series.set(98.0);
    assert_eq!(warnings_about("`card_valid_ratio` is a ratio"), 1);
    let before = thread_allocations();
    for i in 0..1000u32 {
        series.set(f64::from(i) + 2.0);
    }
    assert_eq!(
        thread_allocations(),
        before,
        "out-of-range values after the warning format or allocate"
    );
    assert_eq!(warnings_about("`card_valid_ratio` is a ratio"), 1);
}

#[test]
fn long_label_values_are_cut_so_memory_stays_bounded() {
    capture_warnings();
    let long = "x".repeat(1_000_000);
    CARD_FILE_ROWS_TOTAL { path: &long }.inc();
    // A different long value with the same first KiB is the same series.
    CARD_FILE_ROWS_TOTAL {
        path: &format!("{long}y"),
    }
    .inc();
    // Cut at a character boundary.
    let wide = "é".repeat(600);
    CARD_FILE_ROWS_TOTAL { path: &wide }.inc();
    let text = flext_observability::prometheus::render();
    let kept = format!("{}…", "x".repeat(1024 - '…'.len_utf8()));
    assert_eq!(
        sample(&text, &format!(r#"card_file_rows_total{{path="{kept}"}}"#)),
        Some(2.0)
    );
    let wide_kept = format!("{}…", "é".repeat((1024 - '…'.len_utf8()) / 2));
    assert_eq!(
        sample(
            &text,
            &format!(r#"card_file_rows_total{{path="{wide_kept}"}}"#)
        ),
        Some(1.0)
    );
    assert!(
        text.lines().all(|l| l.len() < 2048),
        "a label value was kept whole"
    );
    assert_eq!(
        warnings_about("`card_file_rows_total` received a label value longer"),
        1
    );
}

#[test]
fn the_overflow_self_metric_counts_measurements_and_warns_once() {
    capture_warnings();
    CARD_LOGINS_TOTAL { user: "a" }.inc();
    CARD_LOGINS_TOTAL { user: "b" }.inc();
    // Beyond the limit: three measurements through the label struct...
    CARD_LOGINS_TOTAL { user: "c" }.inc();
    CARD_LOGINS_TOTAL { user: "c" }.inc();
    CARD_LOGINS_TOTAL { user: "d" }.inc_by(5u32);
    // ...and four through one kept handle: each counts.
    let kept = CARD_LOGINS_TOTAL { user: "e" }.series();
    for _ in 0..4 {
        kept.inc();
    }
    let text = flext_observability::prometheus::render();
    assert_eq!(
        sample(&text, r#"card_logins_total{otel_metric_overflow="true"}"#),
        Some(11.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"flext_observability_series_overflows_total{metric="card_logins_total"}"#
        ),
        Some(7.0),
        "measurements sent to the overflow series"
    );

    for user in 0..100 {
        CARD_WARNED_TOTAL {
            user: &user.to_string(),
        }
        .inc();
    }
    assert_eq!(
        warnings_about("`card_warned_total` reached its limit"),
        1,
        "one warning per metric"
    );
}

#[test]
fn overflow_series_and_the_self_metric_pass_promtool_and_the_openmetrics_parser() {
    for user in ["a", "b", "c"] {
        CARD_LINT_ROWS { user }.observe(5u32);
    }
    let text = flext_observability::prometheus::render();
    assert!(
        text.contains(r#"card_lint_rows_count{otel_metric_overflow="true"} 2"#),
        "{text}"
    );
    let check = require!(
        tools::promtool_check_metrics(&text),
        "promtool",
        "apt-get install prometheus"
    );
    assert_eq!(
        check.code, 0,
        "promtool findings:\n{}\n{text}",
        check.output
    );
    let om = flext_observability::prometheus::render_openmetrics();
    assert!(
        om.contains(r#"flext_observability_series_overflows_total{metric="card_lint_rows"} 2"#),
        "{om}"
    );
    let parsed = require!(
        tools::python_openmetrics_parse(&om),
        "the Python OpenMetrics parser",
        "pip install prometheus-client"
    );
    assert_eq!(parsed.code, 0, "{}\n{om}", parsed.output);
}
