//! Rendering N series (a counter + an 11-bucket histogram each) with flext-observability,
//! the series created at run time through the `metrics` facade (our dynamic store).
//!
//! Its own process: it installs our recorder as the global `metrics` recorder, and no
//! `#[monitor]` function is linked in, so the exposition holds only these series (plus
//! `build_info`).

use flext_observability::Observability;
use flext_observability::prometheus::{render, render_openmetrics};
use flext_observability_bench_core::{
    BOUNDS_11, bench_render, series_labels, series_observation, settle,
};

fn main() {
    let _guard = Observability::builder()
        .without_server()
        .series_limit(20_000)
        .default_histogram_buckets(&BOUNDS_11)
        .install()
        .expect("install flext-observability");
    // The same HELP text as the peers get.
    metrics::describe_counter!("requests", "Requests handled.");
    metrics::describe_histogram!("request_duration_seconds", "Time to handle a request.");
    settle();
    let mut created = 0;
    for n in [1_000, 10_000] {
        for i in created..n {
            let (function, module) = series_labels(i);
            metrics::counter!("requests", "function" => function.clone(), "module" => module)
                .increment(1);
            metrics::histogram!("request_duration_seconds", "function" => function, "module" => module)
                .record(series_observation(i));
        }
        created = n;
        let text = render();
        let lines = text.lines().filter(|l| !l.starts_with('#')).count();
        // counter + (11 buckets + +Inf + sum + count) per series, plus build_info.
        assert!(
            lines > n * 15,
            "expected {} samples, rendered {lines}:\n{}",
            n * 15,
            &text[..text.len().min(2000)]
        );
        if let Some(dir) = std::env::var_os("FLEXT_BENCH_DUMP") {
            // For checking the output: `promtool check metrics < DIR/ours-10000.prom`.
            let dir = std::path::PathBuf::from(dir);
            std::fs::write(dir.join(format!("ours-{n}.prom")), &text).expect("write the dump");
            std::fs::write(dir.join(format!("ours-{n}.om")), render_openmetrics())
                .expect("write the dump");
        }
        bench_render("flext-observability (text 0.0.4)", n, || render().len());
        bench_render("flext-observability (OpenMetrics)", n, || {
            render_openmetrics().len()
        });
    }
}
