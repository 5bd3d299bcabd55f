//! The subscriber `install()` builds, configuration by configuration (features `otlp` and
//! `logs`; each case is a child process configured by its environment alone): which
//! layers are installed; that a span nothing consumes is never created (its callsite's
//! cached interest is `never`, the monitored call sees no current span, the span's field
//! expressions are never evaluated); and that where they are configured, exported spans,
//! exemplars, log correlation and propagation still work. Behaviour, not timing: the
//! cost is measured in `benches/stack`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flext_observability::trace::current_trace_id;
use flext_observability::{Observability, monitor, propagation};
use flext_observability_tests::child::{self, Child};
use flext_observability_tests::otlp::{Receiver, StatusCode};
use serde_json::Value;
use tracing::callsite::{DefaultCallsite, Identifier};
use tracing::field::FieldSet;
use tracing::metadata::Kind;
use tracing::{Level, Metadata, Span};

/// Whether the calling monitored function runs inside a span, and its trace id.
#[monitor]
fn call() -> (bool, Option<String>) {
    tracing::warn!("inside call");
    (!Span::current().is_none(), current_trace_id())
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn costly() -> usize {
    EVALUATED.fetch_add(1, Ordering::Relaxed)
}

/// An `info` span with a field expression: evaluated only if the span is created.
#[monitor(fields(cost = costly()))]
fn with_field() -> bool {
    !Span::current().is_none()
}

#[monitor(level = "debug")]
fn debug_call() -> bool {
    !Span::current().is_none()
}

/// A callsite like the one `#[monitor]` generates for an `info` span of this module:
/// its interest, as `tracing` caches it for the global subscriber.
static PROBE: DefaultCallsite = DefaultCallsite::new(&PROBE_META);
static PROBE_META: Metadata<'static> = Metadata::new(
    "probe",
    module_path!(),
    Level::INFO,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(&[], Identifier(&PROBE)),
    Kind::SPAN,
);

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn json(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// The exemplar of `call`'s `ok` counter in OpenMetrics, if any.
fn call_exemplar() -> Option<String> {
    flext_observability::prometheus::render_openmetrics()
        .lines()
        .find(|l| {
            l.starts_with(r#"function_calls_total{function="call",module="stack_cost","#)
                && l.contains(r#"result="ok"}"#)
        })
        .and_then(|l| l.split_once(" # ").map(|(_, e)| e.to_owned()))
}

/// A value whose `Debug` logs: reading it inside a layer must not take a lock the
/// event it emits needs.
struct Noisy;

impl std::fmt::Debug for Noisy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::warn!("formatting a noisy value");
        f.write_str("noisy")
    }
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The child: installs from the environment (`FLEXT_OBS_STACK_CASE` names the case;
/// `FLEXT_OBS_STACK_ENDPOINT` the receiver), checks what the process itself can see and
/// prints what the parent checks on the receiver.
#[test]
#[ignore = "child process of `each_configuration_installs_what_it_needs`, which runs it"]
#[allow(clippy::too_many_lines)] // one case per arm, read top to bottom
fn child_stack() {
    child::enter("child_stack");
    let case = std::env::var("FLEXT_OBS_STACK_CASE").unwrap();
    let lines = Lines::default();
    let mut builder = Observability::builder()
        .without_server()
        .system_checks(false)
        .log_writer(lines.clone());
    if let Ok(endpoint) = std::env::var("FLEXT_OBS_STACK_ENDPOINT") {
        builder = builder.otlp_endpoint(endpoint);
    }
    if case == "trace-level" {
        builder = builder.trace_level("info");
    }
    let guard = builder.install().expect("install");
    let layers = flext_observability::logs::installed_layers();
    let interest = PROBE.interest();
    let (in_span, trace_id) = call();
    let field_span = with_field();
    let debug_span = debug_call();
    println!("LAYERS {}", layers.join(","));

    // Nothing consumes an `info` span: never created, at the cost of the cached interest.
    let nothing_consumes = || {
        assert!(interest.is_never(), "{case}: interest {interest:?}");
        assert!(!in_span && trace_id.is_none(), "{case}: a span was created");
        assert!(
            !field_span && EVALUATED.load(Ordering::Relaxed) == 0,
            "{case}"
        );
        assert!(!debug_span, "{case}");
        assert_eq!(call_exemplar(), None, "{case}: no span, no exemplar");
    };
    match case.as_str() {
        "disabled-warn" => {
            assert_eq!(layers, ["log-text"], "{case}");
            nothing_consumes();
        }
        "default-format" => {
            // No `LOG_FORMAT`, standard output a pipe: JSON lines.
            assert_eq!(layers, ["otlp-context", "log-json"], "{case}");
            nothing_consumes();
        }
        "none-warn" | "exporter-none-warn" => {
            assert_eq!(layers, ["otlp-context", "log-text"], "{case}");
            nothing_consumes();
            // A request scope (a span declaring `correlation_id`, as the HTTP
            // integration's server spans do) is kept whatever `LOG_LEVEL`: the server
            // forwards its caller's trace and correlation id.
            let mut incoming = http::HeaderMap::new();
            incoming.insert("traceparent", TRACEPARENT.parse().unwrap());
            incoming.insert("x-correlation-id", "req-2".parse().unwrap());
            let remote = propagation::extract(&incoming);
            let request = tracing::info_span!("request", correlation_id = tracing::field::Empty);
            assert!(remote.set_parent_of(&request));
            let outgoing = request.in_scope(|| {
                let mut outgoing = http::HeaderMap::new();
                propagation::inject(&mut outgoing);
                outgoing
            });
            let traceparent = outgoing["traceparent"].to_str().unwrap();
            assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
            assert_eq!(outgoing["x-correlation-id"], "req-2");
            // Any other span below `LOG_LEVEL` does not exist: there is nothing to parent.
            assert!(!remote.set_parent_of(&tracing::info_span!("plain")));
        }
        "none-warn-json" => {
            assert_eq!(layers, ["otlp-context", "log-json"], "{case}");
            nothing_consumes();
            // The line has no span to name: there is none.
            let lines = lines.json();
            let line = lines
                .iter()
                .find(|l| l["message"] == "inside call")
                .unwrap();
            assert!(line.get("span").is_none(), "{line}");
        }
        "disabled-info-json" => {
            // The log layer records `info` spans; OpenTelemetry is off: no ids.
            assert_eq!(layers, ["log-json"], "{case}");
            assert!(interest.is_always());
            assert!(in_span && trace_id.is_none(), "{case}");
            let lines = lines.json();
            let line = lines
                .iter()
                .find(|l| l["message"] == "inside call")
                .unwrap();
            assert_eq!(line["span"], "call");
            assert!(line.get("trace_id").is_none(), "{line}");
        }
        "none-info-json" => {
            // Not exported, but the log layer records `info` spans: ids on demand, for
            // the line, the exemplar and propagation.
            assert_eq!(layers, ["otlp-context", "log-json"], "{case}");
            assert!(interest.is_always());
            let trace_id = trace_id.expect("ids for a recorded span");
            assert!(in_span && field_span && !debug_span, "{case}");
            let first = lines.json();
            let line = first
                .iter()
                .find(|l| l["message"] == "inside call")
                .unwrap();
            assert_eq!(line["span"], "call");
            assert_eq!(line["trace_id"], trace_id.as_str());
            let exemplar = call_exemplar().expect("an exemplar");
            assert!(exemplar.contains(&trace_id), "{exemplar}");
            // A server forwards its caller's trace and correlation id.
            let mut incoming = http::HeaderMap::new();
            incoming.insert("traceparent", TRACEPARENT.parse().unwrap());
            incoming.insert("x-correlation-id", "req-1".parse().unwrap());
            let remote = propagation::extract(&incoming);
            let request = tracing::info_span!("request");
            assert!(remote.set_parent_of(&request));
            let (outgoing, inner) = request.in_scope(|| {
                let mut outgoing = http::HeaderMap::new();
                propagation::inject(&mut outgoing);
                (outgoing, call().1)
            });
            let traceparent = outgoing["traceparent"].to_str().unwrap();
            assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
            assert!(traceparent.ends_with("-01"), "{traceparent}");
            assert_eq!(inner.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
            let all = lines.json();
            let line = all.iter().rfind(|l| l["message"] == "inside call").unwrap();
            assert_eq!(line["correlation_id"], "req-1");
            assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        }
        "trace-level" => {
            // `trace_level` set: its spans are kept (with ids) though nothing exports.
            assert_eq!(layers, ["otlp-context", "log-text"], "{case}");
            assert!(interest.is_always());
            assert!(in_span && trace_id.is_some() && !debug_span, "{case}");
        }
        "sampled-out" => {
            // Exported, every root sampled out: the span exists, with ids, unsampled (no
            // exemplar); a `debug` span below the trace level is never created.
            assert_eq!(layers, ["otlp-traces", "log-text"], "{case}");
            assert!(interest.is_always());
            assert!(in_span && trace_id.is_some() && !debug_span, "{case}");
            assert_eq!(call_exemplar(), None, "{case}: an unsampled trace");
            let mut outgoing = http::HeaderMap::new();
            tracing::info_span!("job").in_scope(|| propagation::inject(&mut outgoing));
            let traceparent = outgoing["traceparent"].to_str().unwrap();
            assert!(traceparent.ends_with("-00"), "{traceparent}");
            // A sampled caller's context samples a root span sampled out: it is exported
            // with the fields it was created with and what was recorded before.
            let mut incoming = http::HeaderMap::new();
            incoming.insert("traceparent", TRACEPARENT.parse().unwrap());
            let remote = propagation::extract(&incoming);
            let request =
                tracing::info_span!("request", method = "GET", status = tracing::field::Empty);
            request.record("status", 200);
            assert!(remote.set_parent_of(&request));
            let inner = request.in_scope(|| call().1);
            assert_eq!(inner.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
            // An unsampled caller keeps a span out of the trace.
            let mut incoming = http::HeaderMap::new();
            incoming.insert(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
                    .parse()
                    .unwrap(),
            );
            let remote = propagation::extract(&incoming);
            let request = tracing::info_span!("unsampled_request");
            assert!(remote.set_parent_of(&request));
            request.in_scope(call);
        }
        "sampled-in" => {
            assert_eq!(layers, ["otlp-traces", "log-text"], "{case}");
            assert!(interest.is_always());
            let trace_id = trace_id.expect("a sampled trace");
            assert!(in_span && !debug_span, "{case}");
            let exemplar = call_exemplar().expect("an exemplar");
            assert!(exemplar.contains(&trace_id), "{exemplar}");
            println!("TRACE {trace_id}");
            // The special fields `tracing-opentelemetry` users know keep their meaning.
            let named = tracing::info_span!(
                "generic",
                otel.name = "GET /orders",
                otel.kind = "server",
                otel.status_code = tracing::field::Empty,
                otel.status_description = tracing::field::Empty,
            );
            named.record("otel.status_code", "ERROR");
            named.record("otel.status_description", "boom");
            drop(named);
            let noisy = tracing::info_span!("noisy", value = tracing::field::Empty);
            noisy.in_scope(|| {
                noisy.record("value", tracing::field::debug(Noisy));
                tracing::warn!(value = ?Noisy, "noisy event");
            });
        }
        other => panic!("unknown case {other}"),
    }
    drop(guard);
}

/// Runs one case; text log lines unless the case says otherwise (the default, when
/// standard output is not a terminal as here, is JSON).
fn run(case: &str, env: &[(&str, &str)], receiver: Option<&Receiver>) -> String {
    let mut child = Child::new("child_stack").env("FLEXT_OBS_STACK_CASE", case);
    if !env.iter().any(|(k, _)| *k == "LOG_FORMAT") && case != "default-format" {
        child = child.env("LOG_FORMAT", "text");
    }
    let mut child = child.envs(env);
    if let Some(receiver) = receiver {
        child = child.env("FLEXT_OBS_STACK_ENDPOINT", &receiver.http_endpoint());
    }
    let output = child.run();
    if let Some(receiver) = receiver {
        receiver.settle(Duration::from_secs(30));
    }
    output
}

#[test]
fn each_configuration_installs_what_it_needs() {
    const WARN: (&str, &str) = ("LOG_LEVEL", "warn");
    const INFO: (&str, &str) = ("LOG_LEVEL", "info");
    const JSON: (&str, &str) = ("LOG_FORMAT", "json");
    run("none-warn", &[WARN], None);
    run("none-warn-json", &[WARN, JSON], None);
    run("default-format", &[WARN], None);
    run(
        "disabled-warn",
        &[WARN, ("OTEL_SDK_DISABLED", "true")],
        None,
    );
    run(
        "disabled-info-json",
        &[INFO, JSON, ("OTEL_SDK_DISABLED", "true")],
        None,
    );
    run("none-info-json", &[INFO, JSON], None);
    run("trace-level", &[WARN], None);

    // Metrics exported, traces not: no trace layer, nothing reaches the collector.
    let receiver = Receiver::start();
    run(
        "exporter-none-warn",
        &[WARN, ("OTEL_TRACES_EXPORTER", "none")],
        Some(&receiver),
    );
    assert!(receiver.span_names().is_empty());
    assert!(receiver.last_metrics().is_some(), "metrics still exported");

    // Every root sampled out (ratio 0): only the trace a sampled caller continued.
    let receiver = Receiver::start();
    run(
        "sampled-out",
        &[
            WARN,
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ],
        Some(&receiver),
    );
    let spans = receiver.spans();
    let mut names: Vec<_> = spans.iter().map(|s| s.span.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["call", "request"], "{spans:#?}");
    let request = spans.iter().find(|s| s.span.name == "request").unwrap();
    let inner = spans.iter().find(|s| s.span.name == "call").unwrap();
    assert_eq!(request.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(request.parent_span_id(), "00f067aa0ba902b7");
    assert_eq!(request.attr("method").as_deref(), Some("GET"));
    assert_eq!(request.attr("status").as_deref(), Some("200"));
    assert_eq!(inner.trace_id(), request.trace_id());
    assert_eq!(inner.parent_span_id(), request.span_id());

    let receiver = Receiver::start();
    let output = run("sampled-in", &[WARN], Some(&receiver));
    let trace_id = output
        .lines()
        .find_map(|l| l.strip_prefix("TRACE "))
        .expect("the child's trace id");
    let spans = receiver.spans();
    let call = spans
        .iter()
        .find(|s| s.span.name == "call")
        .expect("the monitored call's span");
    assert_eq!(call.trace_id(), trace_id);
    assert_eq!(call.attr("code.function").as_deref(), Some("call"));
    assert_eq!(call.attr("target").as_deref(), Some("stack_cost"));
    let renamed = spans
        .iter()
        .find(|s| s.span.name == "GET /orders")
        .expect("`otel.name` names the span");
    assert_eq!(renamed.span.kind, 2, "`otel.kind = server`");
    let status = renamed.span.status.as_ref().unwrap();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "boom")
    );
    assert!(renamed.attr("otel.name").is_none() && renamed.attr("otel.kind").is_none());
    assert!(spans.iter().all(|s| s.span.name != "debug_call"));
    let noisy = spans.iter().find(|s| s.span.name == "noisy").unwrap();
    assert_eq!(noisy.attr("value").as_deref(), Some("noisy"));
    let event = noisy
        .span
        .events
        .iter()
        .find(|e| e.name == "noisy event")
        .expect("the event");
    assert_eq!(
        flext_observability_tests::otlp::attr(&event.attributes, "value").as_deref(),
        Some("noisy")
    );
}
