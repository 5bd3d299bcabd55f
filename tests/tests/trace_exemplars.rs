//! Exemplars: with a sampled span active, histogram buckets and call counters carry the
//! trace id in OpenMetrics (strictly parsed), and a real Prometheus with exemplar
//! storage returns them from `/api/v1/query_exemplars`.

use std::sync::Mutex;
use std::time::Duration;

use flext_observability::trace::current_trace_id;
use flext_observability::{Observability, monitor};
use flext_observability_tests::require;
use flext_observability_tests::servers::{Prometheus, Target};
use flext_observability_tests::tools::python_openmetrics_parse;

/// The trace of every `slow_lookup` call, successful or not.
static TRACES: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[monitor]
fn slow_lookup(ms: u64) -> Result<(), String> {
    TRACES
        .lock()
        .unwrap()
        .push(current_trace_id().expect("sampled trace"));
    std::thread::sleep(Duration::from_millis(ms));
    if ms == 0 {
        return Err("nothing to look up".into());
    }
    Ok(())
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
        .service_name("exemplars")
        .listen("127.0.0.1:0")
        .install()
        .expect("install");
    let addr = guard.local_addr().unwrap();

    // Durations spread over several buckets; which ones does not matter (a loaded
    // machine sleeps longer): every bucket that received a call must carry an exemplar.
    for ms in [2, 30, 120] {
        slow_lookup(ms).unwrap();
    }
    slow_lookup(0).unwrap_err();
    untraced();
    let traces = TRACES.lock().unwrap().clone();
    assert_eq!(traces.len(), 4);

    let text = flext_observability::prometheus::render_openmetrics();
    let ok = exemplar_of(
        &text,
        r#"function_calls_total{function="slow_lookup",module="trace_exemplars",service_name="exemplars",result="ok"}"#,
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
            r#"function_calls_total{function="slow_lookup",module="trace_exemplars",service_name="exemplars",result="error"}"#
        )
        .is_some(),
        "the error counter has its own exemplar"
    );
    // Every bucket that received a call has an exemplar from one of the calls, with a
    // value inside the bucket; an empty bucket has none. (The first sampled call in a
    // bucket always leaves its exemplar: nothing depends on timing.)
    let mut previous_le = 0.0_f64;
    let mut previous_count = 0_u64;
    let mut in_buckets = Vec::new();
    for line in text.lines().filter(|l| {
        l.starts_with(
            r#"function_calls_duration_seconds_bucket{function="slow_lookup",module="trace_exemplars""#,
        )
    }) {
        let le = line.split(",le=\"").nth(1).unwrap().split('"').next().unwrap();
        let le: f64 = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or_else(|e| panic!("{le}: {e}")) };
        let (sample, exemplar) = match line.split_once(" # ") {
            Some((sample, exemplar)) => (sample, Some(exemplar)),
            None => (line, None),
        };
        let count: u64 = sample.rsplit(' ').next().unwrap().parse().unwrap();
        match exemplar {
            Some(exemplar) => {
                assert!(count > previous_count, "an empty bucket has no exemplar: {line}");
                let value: f64 = exemplar
                    .split('}')
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(value > previous_le && value <= le, "{line}");
                let id = exemplar
                    .split("trace_id=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap();
                assert!(traces.iter().any(|t| t == id), "{id} from one of {traces:?}");
                in_buckets.push(id.to_owned());
            }
            None => assert_eq!(count, previous_count, "a bucket with calls has an exemplar: {line}"),
        }
        previous_le = le;
        previous_count = count;
    }
    assert_eq!(previous_count, 4, "all four calls observed");
    assert!(!in_buckets.is_empty());
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
        in_buckets.iter().all(|id| ids.contains(id)).then_some(ids)
    })
    .unwrap_or_else(|| {
        panic!(
            "Prometheus misses exemplars of {in_buckets:?}:\n{}",
            prometheus.log()
        )
    });
    // Prometheus stored the exemplars the buckets carried, and only ours.
    assert!(
        found.iter().all(|id| traces.contains(id)),
        "{found:?} vs {traces:?}"
    );
    assert!(found.iter().all(|id| id.len() == 32));
    drop(guard);

    // The strict OpenMetrics parser accepts the exposition with its exemplars.
    let check = require!(
        python_openmetrics_parse(&text),
        "Python prometheus_client (OpenMetrics parser)",
        "pip install 'prometheus-client>=0.26'"
    );
    assert_eq!(check.code, 0, "{}\n{text}", check.output);
}
