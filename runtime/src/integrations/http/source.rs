//! The HTTP families on the read path (every exporter: `/metrics`, Pushgateway, OTLP).
//! A family appears once a request has been recorded in it.

use std::sync::atomic::Ordering;

use super::client;
use super::routes::{self, RouteData};
use super::semconv::{
    DURATION_BOUNDS, SCHEMES, SIZE_BOUNDS, VERSIONS, error_type_name, method_count, method_name,
    status_text,
};
use super::series::{Budget, Key, SB, Series};
use super::server::{self, ACTIVE, ACTIVE_USED};
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, HistogramValue, MetricType};

const SERVER_DURATION: &str = "http_server_request_duration_seconds";
const SERVER_ACTIVE: &str = "http_server_active_requests";
const SERVER_REQUEST_SIZE: &str = "http_server_request_body_size_bytes";
const SERVER_RESPONSE_SIZE: &str = "http_server_response_body_size_bytes";
const CLIENT_DURATION: &str = "http_client_request_duration_seconds";
const OVERFLOW: (&str, &str) = ("otel_metric_overflow", "true");

static SIZE_BOUNDS_F64: [f64; SB - 1] = {
    let mut out = [0.0; SB - 1];
    let mut i = 0;
    while i < SB - 1 {
        // Exact: every bound is below 2^53.
        #[allow(clippy::cast_precision_loss)]
        {
            out[i] = SIZE_BOUNDS[i] as f64;
        }
        i += 1;
    }
    out
};

struct HttpSource;

static SOURCE: HttpSource = HttpSource;

inventory::submit!(SourceEntry::new(110, &SOURCE));

impl Source for HttpSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(HttpSnapshot)
    }
}

struct HttpSnapshot;

/// Every server series, in label order (the exposition is deterministic).
fn each_server(mut f: impl FnMut(&'static RouteData, Key, &'static Series)) {
    let mut all = Vec::new();
    routes::each(|route| {
        route
            .series
            .each(|key, series| all.push((route, key, series)));
    });
    all.sort_by_cached_key(|(route, key, _)| {
        server_labels(route, *key, status_text(key.status)).map(|(_, v)| v.to_owned())
    });
    for (route, key, series) in all {
        f(route, key, series);
    }
}

fn any_server(pred: impl Fn(&Series) -> bool) -> bool {
    let mut found = false;
    each_server(|_, _, s| found = found || pred(s));
    found
}

fn sizes_recorded(s: &Series) -> bool {
    s.request_sizes.read().0.iter().any(|&n| n > 0)
        || s.response_sizes.read().0.iter().any(|&n| n > 0)
}

impl Snapshot for HttpSnapshot {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out = Vec::new();
        let histogram =
            |name, help, unit| FamilyDesc::fixed(name, help, MetricType::Histogram, Some(unit));
        if any_server(|_| true) || server::BUDGET.overflowed() {
            out.push(histogram(
                SERVER_DURATION,
                "Duration of HTTP server requests (OpenTelemetry semantic conventions v1.44.0).",
                "seconds",
            ));
        }
        if any_server(sizes_recorded) {
            out.push(histogram(
                SERVER_REQUEST_SIZE,
                "Size of HTTP server request bodies.",
                "bytes",
            ));
            out.push(histogram(
                SERVER_RESPONSE_SIZE,
                "Size of HTTP server response bodies.",
                "bytes",
            ));
        }
        if ACTIVE_USED
            .iter()
            .flatten()
            .any(|u| u.load(Ordering::Relaxed))
        {
            out.push(FamilyDesc::fixed(
                SERVER_ACTIVE,
                "Number of active HTTP server requests.",
                MetricType::Gauge,
                None,
            ));
        }
        let mut client_used = client::BUDGET.overflowed();
        client::each_destination(|d| d.series.each(|_, _| client_used = true));
        if client_used {
            out.push(histogram(
                CLIENT_DURATION,
                "Duration of HTTP client requests (OpenTelemetry semantic conventions v1.44.0).",
                "seconds",
            ));
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        match family {
            SERVER_DURATION => encode_server_durations(out),
            SERVER_REQUEST_SIZE => encode_sizes(out, true),
            SERVER_RESPONSE_SIZE => encode_sizes(out, false),
            SERVER_ACTIVE => encode_active(out),
            CLIENT_DURATION => encode_client_durations(out),
            _ => {}
        }
    }
}

fn durations(counts: &[u64], sum: f64) -> HistogramValue<'_> {
    HistogramValue {
        bounds: &DURATION_BOUNDS,
        counts,
        sum,
    }
}

fn encode_overflow(budget: &Budget, out: &mut dyn Encoder) {
    if budget.overflowed() {
        let (counts, sum, _) = budget.overflow.read();
        out.histogram(&[OVERFLOW], &durations(&counts, sum));
    }
}

fn encode_server_durations(out: &mut dyn Encoder) {
    each_server(|route, key, series| {
        let (counts, sum, exemplars) = series.read();
        let status = status_text(key.status);
        let labels = server_labels(route, key, status);
        out.histogram_exemplars(&labels, &durations(&counts, sum), &exemplars);
    });
    encode_overflow(&server::BUDGET, out);
}

fn encode_sizes(out: &mut dyn Encoder, request: bool) {
    each_server(|route, key, series| {
        let sizes = if request {
            &series.request_sizes
        } else {
            &series.response_sizes
        };
        let (counts, sum) = sizes.read();
        if counts.iter().all(|&n| n == 0) {
            return;
        }
        let status = status_text(key.status);
        out.histogram(
            &server_labels(route, key, status),
            &HistogramValue {
                bounds: &SIZE_BOUNDS_F64,
                counts: &counts,
                sum: sum as f64,
            },
        );
    });
}

fn encode_active(out: &mut dyn Encoder) {
    for (m, row) in ACTIVE.iter().enumerate().take(method_count()) {
        for (s, cell) in row.iter().enumerate() {
            if !ACTIVE_USED[m][s].load(Ordering::Relaxed) {
                continue;
            }
            let method = method_name(u8::try_from(m).unwrap_or(0));
            out.gauge(
                &[("http_request_method", method), ("url_scheme", SCHEMES[s])],
                crate::model::Value::Int(u64::try_from(cell.load(Ordering::Relaxed)).unwrap_or(0)),
            );
        }
    }
}

fn encode_client_durations(out: &mut dyn Encoder) {
    let mut all = Vec::new();
    client::each_destination(|d| d.series.each(|key, series| all.push((d, key, series))));
    all.sort_by_cached_key(|(d, key, _)| {
        (
            d.address,
            d.port,
            method_name(key.method),
            key.status,
            key.version,
            error_type_name(key.error, status_text(key.status)),
        )
    });
    for (d, key, series) in all {
        {
            let (counts, sum, exemplars) = series.read();
            let status = status_text(key.status);
            let mut port = itoa::Buffer::new();
            let port = if d.port == 0 { "" } else { port.format(d.port) };
            let labels = [
                ("error_type", error_type_name(key.error, status)),
                ("http_request_method", method_name(key.method)),
                ("http_response_status_code", status),
                (
                    "network_protocol_version",
                    VERSIONS[usize::from(key.version)],
                ),
                ("server_address", d.address),
                ("server_port", port),
            ];
            out.histogram_exemplars(&labels, &durations(&counts, sum), &exemplars);
        }
    }
    encode_overflow(&client::BUDGET, out);
}

/// Labels of a server series, in name order; empty values are left out by the encoders
/// (`http_route` of unmatched requests, `error_type` of successes, the status of
/// requests that got none).
fn server_labels<'a>(route: &'a RouteData, key: Key, status: &'a str) -> [(&'a str, &'a str); 6] {
    [
        ("error_type", error_type_name(key.error, status)),
        ("http_request_method", method_name(key.method)),
        ("http_response_status_code", status),
        ("http_route", route.template),
        (
            "network_protocol_version",
            VERSIONS[usize::from(key.version)],
        ),
        ("url_scheme", SCHEMES[usize::from(key.scheme)]),
    ]
}
