//! Exemplars: with a sampled span active, histogram buckets and call counters carry the
//! trace id in OpenMetrics (strictly parsed), and a real Prometheus with exemplar
//! storage returns them from `/api/v1/query_exemplars`.

use std::time::Duration;

use flext_observability::trace::current_trace_id;
use flext_observability::{Observability, monitor};
use flext_observability_tests::require;
use flext_observability_tests::servers::{Prometheus, Target};
use flext_observability_tests::tools::python_openmetrics_parse;

#[monitor]
fn slow_lookup(ms: u64) -> Result<String, String> {
    std::thread::sleep(Duration::from_millis(ms));
    if ms == 0 {
        return Err("nothing to look up".into());
    }
    Ok(current_trace_id().expect("sampled trace"))
}

#[monitor(span = false)]
fn untraced() {}

/// The exemplar part (`# {…} value ts`) of the first line starting with `prefix`.
fn exemplar_of<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(" # ").map(|(_, e)| e))
}

#[test]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom
fn exemplars_in_openmetrics_and_in_prometheus() {
    let guard = Observability::builder()
        .listen("127.0.0.1:0")
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();

    let mut traces = Vec::new();
    for ms in [2, 30, 120] {
        traces.push(slow_lookup(ms).unwrap());
    }
    slow_lookup(0).unwrap_err();
    untraced();

    let text = flext_observability::prometheus::render_openmetrics();
    let ok = exemplar_of(
        &text,
        r#"function_calls_total{function="slow_lookup",module="trace_exemplars",result="ok"}"#,
    )
    .expect("the ok counter has an exemplar");
    assert!(ok.starts_with("{trace_id=\""), "{ok}");
    assert!(
        traces.iter().any(|t| ok.contains(t.as_str())),
        "{ok} from one of {traces:?}"
    );
    let labels = &ok[1..ok.find('}').unwrap()];
    assert!(labels.chars().count() <= 128);
    assert!(
        ok.contains("} 1 "),
        "a counter exemplar's value is the increment: {ok}"
    );
    assert!(
        exemplar_of(
            &text,
            r#"function_calls_total{function="slow_lookup",module="trace_exemplars",result="error"}"#
        )
        .is_some(),
        "the error counter has its own exemplar"
    );
    // Every bucket exemplar's value lies inside its bucket, and each successful call
    // (2, 30, 120 ms: three different buckets) left its trace id in one.
    let mut previous = 0.0_f64;
    let mut seen = Vec::new();
    for line in text.lines().filter(|l| {
        l.starts_with(
            r#"function_calls_duration_seconds_bucket{function="slow_lookup",module="trace_exemplars""#,
        )
    }) {
        let le = line.split(",le=\"").nth(1).unwrap().split('"').next().unwrap();
        let le: f64 = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or_else(|e| panic!("{le}: {e}")) };
        if let Some((_, exemplar)) = line.split_once(" # ") {
            let value: f64 = exemplar
                .split('}')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(value > previous && value <= le, "{line}");
            seen.push(exemplar.to_owned());
        }
        previous = le;
    }
    for trace in &traces {
        assert!(
            seen.iter().any(|e| e.contains(trace.as_str())),
            "{trace} in {seen:?}"
        );
    }
    assert!(
        !text
            .lines()
            .any(|l| l.contains(r#"function="untraced""#) && l.contains(" # ")),
        "no span, no exemplar"
    );
    assert!(
        !flext_observability::prometheus::render().contains("trace_id"),
        "text 0.0.4 has no exemplars"
    );
    if let Some(check) = python_openmetrics_parse(&text) {
        assert_eq!(check.code, 0, "{}\n{text}", check.output);
    }

    let prometheus = require!(
        Prometheus::start(
            &[Target::new("exemplars", addr)],
            Duration::from_millis(500)
        ),
        "Prometheus",
        "apt-get install prometheus"
    );
    prometheus
        .wait_for(
            r#"function_calls_total{job="exemplars",function="slow_lookup",result="ok"}"#,
            Duration::from_secs(30),
            |v| v >= 3.0,
        )
        .unwrap();
    let found = flext_observability_tests::eventually(Duration::from_secs(30), || {
        let series = prometheus.exemplars(
            r#"function_calls_duration_seconds_bucket{job="exemplars",function="slow_lookup"}"#,
            Duration::from_mins(5),
        );
        let ids: Vec<String> = series
            .iter()
            .flat_map(|s| s["exemplars"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
            .collect();
        (!ids.is_empty()).then_some(ids)
    })
    .unwrap_or_else(|| panic!("Prometheus stored no exemplar:\n{}", prometheus.log()));
    // One exemplar per bucket: the three successful calls fell in three buckets (the
    // failed call, in a fourth, is there too).
    assert!(
        traces.iter().all(|id| found.contains(id)),
        "{found:?} vs {traces:?}"
    );
    assert!(found.iter().all(|id| id.len() == 32));
    drop(guard);
}
