//! Rendering N series (a counter + an 11-bucket histogram each) with each peer.
//!
//! Every peer gets the same series, one observation each, and a pre-sized output buffer
//! (the size of its previous output), so only encoding is compared.

use std::io::Write as _;

use flext_observability_bench_core::{
    BOUNDS_11, bench_render, series_labels, series_observation, settle,
};

const SIZES: [usize; 2] = [1_000, 10_000];

pub fn main() {
    settle();
    prometheus_client_render();
    prometheus_render();
    metrics_exporter_render();
}

fn prometheus_client_render() {
    use prometheus_client::encoding::EncodeLabelSet;
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::histogram::Histogram;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Labels {
        function: String,
        module: &'static str,
    }

    let mut registry = prometheus_client::registry::Registry::default();
    let requests = Family::<Labels, Counter>::default();
    let durations = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
        Histogram::new(BOUNDS_11.iter().copied())
    });
    registry.register("requests", "Requests handled.", requests.clone());
    registry.register(
        "request_duration_seconds",
        "Time to handle a request.",
        durations.clone(),
    );
    let mut created = 0;
    for n in SIZES {
        for i in created..n {
            let (function, module) = series_labels(i);
            let labels = Labels { function, module };
            requests.get_or_create(&labels).inc();
            durations
                .get_or_create(&labels)
                .observe(series_observation(i));
        }
        created = n;
        let mut capacity = 0;
        bench_render("prometheus-client 0.25 (OpenMetrics)", n, || {
            let mut out = String::with_capacity(capacity);
            prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
            capacity = out.len();
            out.len()
        });
    }
}

fn prometheus_render() {
    let registry = prometheus::Registry::new();
    let requests = prometheus::IntCounterVec::new(
        prometheus::Opts::new("requests_total", "Requests handled."),
        &["function", "module"],
    )
    .unwrap();
    let durations = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("request_duration_seconds", "Time to handle a request.")
            .buckets(BOUNDS_11.to_vec()),
        &["function", "module"],
    )
    .unwrap();
    registry.register(Box::new(requests.clone())).unwrap();
    registry.register(Box::new(durations.clone())).unwrap();
    let mut created = 0;
    for n in SIZES {
        for i in created..n {
            let (function, module) = series_labels(i);
            requests.with_label_values(&[&function, module]).inc();
            durations
                .with_label_values(&[&function, module])
                .observe(series_observation(i));
        }
        created = n;
        let mut capacity = 0;
        bench_render("prometheus 0.14 (text 0.0.4)", n, || {
            let mut out = Vec::with_capacity(capacity);
            let families = registry.gather();
            prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &families, &mut out)
                .unwrap();
            capacity = out.len();
            out.len()
        });
    }
}

fn metrics_exporter_render() {
    use metrics::{Key, Label, Level, Metadata, Recorder as _};

    static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&BOUNDS_11)
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    let mut created = 0;
    for n in SIZES {
        for i in created..n {
            let (function, module) = series_labels(i);
            let labels = vec![
                Label::new("function", function),
                Label::new("module", module),
            ];
            recorder
                .register_counter(
                    &Key::from_parts("requests_total", labels.clone()),
                    &METADATA,
                )
                .increment(1);
            recorder
                .register_histogram(
                    &Key::from_parts("request_duration_seconds", labels),
                    &METADATA,
                )
                .record(series_observation(i));
        }
        created = n;
        let mut capacity = 0;
        bench_render("metrics-exporter-prometheus 0.18 (text 0.0.4)", n, || {
            let mut out = Vec::with_capacity(capacity);
            handle.render_to_write(&mut out).unwrap();
            out.flush().unwrap();
            capacity = out.len();
            out.len()
        });
    }
}
