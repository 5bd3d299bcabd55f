//! The gRPC families on the read path (every exporter: `/metrics`, Pushgateway, OTLP).
//! A family appears once a call has been recorded in it; the pre-1.39 ones only under
//! `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup`.

use std::sync::atomic::Ordering;

use super::call::{CLIENT_BUDGET, SERVER_BUDGET, error_type};
use super::methods::{self, MethodData};
use super::options::DUP;
use super::semconv::{NUMBERS, code_name};
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::integrations::http::semconv::DURATION_BOUNDS;
use crate::integrations::http::series::{Budget, Key, NB, Series, SeriesList};
use crate::model::{FamilyDesc, HistogramValue, MetricType};

const SERVER_DURATION: &str = "rpc_server_call_duration_seconds";
const CLIENT_DURATION: &str = "rpc_client_call_duration_seconds";
const OLD_SERVER_DURATION: &str = "rpc_server_duration_milliseconds";
const OLD_CLIENT_DURATION: &str = "rpc_client_duration_milliseconds";
const OVERFLOW: (&str, &str) = ("otel_metric_overflow", "true");

/// The bounds in milliseconds, for the pre-1.39 families (the OpenTelemetry SDKs'
/// default bounds, which those families had, are these and 0).
static BOUNDS_MS: [f64; NB - 1] = {
    let mut out = [0.0; NB - 1];
    let mut i = 0;
    while i < NB - 1 {
        out[i] = DURATION_BOUNDS[i] * 1000.0;
        i += 1;
    }
    out
};

struct GrpcSource;

static SOURCE: GrpcSource = GrpcSource;

inventory::submit!(SourceEntry::new(111, &SOURCE));

impl Source for GrpcSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(GrpcSnapshot)
    }
}

struct GrpcSnapshot;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Server,
    Client,
}

impl Side {
    fn list(self, method: &MethodData) -> &SeriesList {
        match self {
            Side::Server => &method.server,
            Side::Client => &method.client,
        }
    }

    fn budget(self) -> &'static Budget {
        match self {
            Side::Server => &SERVER_BUDGET,
            Side::Client => &CLIENT_BUDGET,
        }
    }
}

/// Every series of a side, in label order (the exposition is deterministic).
fn each(side: Side, mut f: impl FnMut(&'static MethodData, Key, &'static Series)) {
    let mut all = Vec::new();
    methods::each(|method| {
        side.list(method)
            .each(|key, series| all.push((method, key, series)));
    });
    all.sort_by_key(|(method, key, _)| {
        let (address, port) = methods::destination_labels(key.method);
        (
            error_type(key.error, code(*key)),
            method.name,
            code_name(code(*key)),
            address,
            port,
        )
    });
    for (method, key, series) in all {
        f(method, key, series);
    }
}

fn code(key: Key) -> u8 {
    u8::try_from(key.status).unwrap_or(super::semconv::UNKNOWN)
}

fn any(side: Side) -> bool {
    let mut found = false;
    methods::each(|m| side.list(m).each(|_, _| found = true));
    found || side.budget().overflowed()
}

impl Snapshot for GrpcSnapshot {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out = Vec::new();
        let dup = DUP.load(Ordering::Relaxed);
        let histogram =
            |name, help, unit| FamilyDesc::fixed(name, help, MetricType::Histogram, Some(unit));
        if any(Side::Server) {
            out.push(histogram(
                SERVER_DURATION,
                "Duration of gRPC calls served (OpenTelemetry semantic conventions v1.44.0).",
                "seconds",
            ));
            if dup {
                out.push(histogram(
                    OLD_SERVER_DURATION,
                    "Duration of gRPC calls served (semantic conventions before v1.39).",
                    "milliseconds",
                ));
            }
        }
        if any(Side::Client) {
            out.push(histogram(
                CLIENT_DURATION,
                "Duration of gRPC calls made (OpenTelemetry semantic conventions v1.44.0).",
                "seconds",
            ));
            if dup {
                out.push(histogram(
                    OLD_CLIENT_DURATION,
                    "Duration of gRPC calls made (semantic conventions before v1.39).",
                    "milliseconds",
                ));
            }
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        match family {
            SERVER_DURATION => encode(Side::Server, false, out),
            CLIENT_DURATION => encode(Side::Client, false, out),
            OLD_SERVER_DURATION => encode(Side::Server, true, out),
            OLD_CLIENT_DURATION => encode(Side::Client, true, out),
            _ => {}
        }
    }
}

fn value(old: bool, counts: &[u64], sum: f64) -> HistogramValue<'_> {
    HistogramValue {
        bounds: if old { &BOUNDS_MS } else { &DURATION_BOUNDS },
        counts,
        sum: if old { sum * 1000.0 } else { sum },
    }
}

fn encode(side: Side, old: bool, out: &mut dyn Encoder) {
    if old {
        encode_old(side, out);
    } else {
        each(side, |method, key, series| {
            let (counts, sum, exemplars) = series.read();
            let code = code(key);
            let (address, port) = methods::destination_labels(key.method);
            let mut buffer = itoa::Buffer::new();
            let port = port.map_or("", |p| buffer.format(p));
            let client = side == Side::Client;
            let labels = [
                ("error_type", error_type(key.error, code)),
                ("rpc_method", method.name),
                ("rpc_status_code", code_name(code)),
                ("rpc_system_name", "grpc"),
                ("server_address", if client { address } else { "" }),
                ("server_port", if client { port } else { "" }),
            ];
            out.histogram_exemplars(&labels, &value(old, &counts, sum), &exemplars);
        });
    }
    let budget = side.budget();
    if budget.overflowed() {
        let (counts, sum, _) = budget.overflow.read();
        out.histogram(&[OVERFLOW], &value(old, &counts, sum));
    }
}

/// The names used before v1.39 (`rpc/dup`). They have no `error.type`: series that differ
/// only by it (a panic and an ordinary `UNKNOWN` of one method) are summed, or two series
/// would share one label set and the scrape would be refused. At scrape time only.
fn encode_old(side: Side, out: &mut dyn Encoder) {
    let client = side == Side::Client;
    let mut merged: Vec<([String; 5], Vec<u64>, f64)> = Vec::new();
    each(side, |method, key, series| {
        let (counts, sum, _) = series.read();
        let code = code(key);
        let (address, port) = methods::destination_labels(key.method);
        let labels = [
            NUMBERS
                .get(usize::from(code))
                .copied()
                .unwrap_or("2")
                .to_owned(),
            method.old_method().to_owned(),
            method.old_service().to_owned(),
            if client {
                address.to_owned()
            } else {
                String::new()
            },
            match port {
                Some(p) if client => p.to_string(),
                _ => String::new(),
            },
        ];
        match merged.iter_mut().find(|(l, _, _)| *l == labels) {
            Some((_, total, total_sum)) => {
                for (t, c) in total.iter_mut().zip(counts.iter()) {
                    *t += *c;
                }
                *total_sum += sum;
            }
            None => merged.push((labels, counts.to_vec(), sum)),
        }
    });
    for (l, counts, sum) in &merged {
        let labels = [
            ("rpc_grpc_status_code", l[0].as_str()),
            ("rpc_method", l[1].as_str()),
            ("rpc_service", l[2].as_str()),
            ("rpc_system", "grpc"),
            ("server_address", l[3].as_str()),
            ("server_port", l[4].as_str()),
        ];
        out.histogram(&labels, &value(true, counts, *sum));
    }
}
