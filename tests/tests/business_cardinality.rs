//! Cardinality limits: beyond a metric's series limit, new label values share one
//! `otel_metric_overflow="true"` series, the overflow self-metric counts them, and memory
//! stays bounded under a flood of a million distinct values.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use flext_observability::{Counter, Histogram, business_metric};
use flext_observability_tests::sample;

/// Counts live heap bytes, so the test measures what the flood keeps, not what the
/// allocator's arenas happen to hold.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only adding bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size().cast_signed(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size().cast_signed(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size.cast_signed() - layout.size().cast_signed(),
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Requests by user id (a label that should never be one).
#[business_metric(labels(user), max_series = 100)]
static CARD_REQUESTS_TOTAL: Counter;

/// Sizes by session id, capped at 3 series.
#[business_metric(labels(session), max_series = 3, buckets = [1, 10])]
static CARD_SESSION_ROWS: Histogram;

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
    let before = LIVE.load(Ordering::Relaxed);
    let mut id = String::with_capacity(32);
    for i in 0..1_000_000u32 {
        use std::fmt::Write as _;
        id.clear();
        write!(id, "req-{i:08}").unwrap();
        CARD_FLOOD_TOTAL { request_id: &id }.inc();
    }
    let grown = LIVE.load(Ordering::Relaxed) - before;
    // Nothing new may be kept per value: the limit (2000) was reached during warm-up. A
    // few KiB of slack cover other tests of this binary running at the same time.
    assert!(
        grown < 256 * 1024,
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
