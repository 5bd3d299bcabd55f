//! A cardinality flood: a million distinct label values through the facade and through
//! business labels. Series stay capped (the limit is 1,000 here), the rest goes to one
//! overflow series each and is counted; memory growth and render time stay bounded.

#![allow(clippy::float_cmp)] // samples are exact values read back as f64

use std::time::{Duration, Instant};

use flext_observability::{Counter, business_metric};
use flext_observability_tests::sample;

use super::common::{mb, rss, runtime, serial, validate_both_formats};

/// Flooded through its label.
#[business_metric(labels(request_id))]
static FAULT_FLOOD_TOTAL: Counter;

const VALUES: u64 = 1_000_000;
/// `series_limit(1000)` in `common::runtime`.
const LIMIT: usize = 1_000;

#[test]
fn a_million_label_values_stay_capped_in_series_memory_and_render_time() {
    let _serial = serial();
    runtime();
    let before = rss();
    let started = Instant::now();
    let mut id = String::with_capacity(32);
    for i in 0..VALUES {
        id.clear();
        id.push_str("request-");
        id.push_str(itoa(i).as_str());
        metrics::counter!("fault_facade_flood_total", "request_id" => id.clone()).increment(1);
        FAULT_FLOOD_TOTAL { request_id: &id }.inc();
    }
    let recorded = started.elapsed();
    let grown = rss().saturating_sub(before);
    let render_started = Instant::now();
    let text = flext_observability::prometheus::render();
    let _ = flext_observability::prometheus::render_openmetrics();
    let render = render_started.elapsed();
    validate_both_formats("cardinality flood");
    let series = |name: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{request_id=")))
            .count()
    };
    let summary = format!(
        "{VALUES} values through each entry point in {recorded:.1?}: RSS +{:.1} MB, render \
         of {} KB in {render:.1?}, series: facade {}, business {}",
        mb(grown),
        text.len() / 1024,
        series("fault_facade_flood_total"),
        series("fault_flood_total"),
    );
    eprintln!("{summary}");
    assert_eq!(series("fault_facade_flood_total"), LIMIT, "{summary}");
    assert_eq!(series("fault_flood_total"), LIMIT, "{summary}");
    let overflow_facade = sample(
        &text,
        r#"fault_facade_flood_total{otel_metric_overflow="true"}"#,
    );
    let overflow_business = sample(&text, r#"fault_flood_total{otel_metric_overflow="true"}"#);
    let rest = (VALUES - LIMIT as u64) as f64;
    assert_eq!(overflow_facade, Some(rest), "{summary}");
    assert_eq!(overflow_business, Some(rest), "{summary}");
    for metric in ["fault_facade_flood_total", "fault_flood_total"] {
        assert_eq!(
            sample(
                &text,
                &format!(r#"flext_observability_series_overflows_total{{metric="{metric}"}}"#)
            ),
            Some(rest),
            "{metric}: every measurement sent to the overflow series is counted; {summary}"
        );
    }
    assert!(
        grown < 32 * 1_048_576,
        "RSS grew by more than 32 MB: {summary}"
    );
    assert!(
        render < Duration::from_secs(1),
        "render over 1 s: {summary}"
    );
}

/// Decimal digits of `n` without `format!` (the loop above is the flood, not formatting).
fn itoa(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    String::from_utf8_lossy(&digits[at..]).into_owned()
}
