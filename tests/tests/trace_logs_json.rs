//! JSON log lines: one object per line with timestamp, level, target, message, fields,
//! and the active trace and span ids; the correlation id from a span field or from the
//! `X-Correlation-ID` header (through baggage). `LOG_LEVEL` filters lines, not the span
//! a line reports: an event inside a `debug` span traced under `LOG_LEVEL=info` carries
//! that span's ids. Hostile field values stay valid JSON; the fields of a span nobody
//! wants are never evaluated.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use flext_observability::logs::LogFormat;
use flext_observability::trace::{current_span_id, current_trace_id};
use flext_observability::{Observability, monitor};
use serde_json::Value;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

#[monitor]
fn place(order: u64) -> (String, String) {
    tracing::info!(order, note = "fast", "order placed");
    tracing::debug!("filtered out by LOG_LEVEL");
    (current_trace_id().unwrap(), current_span_id().unwrap())
}

#[monitor(level = "debug")]
fn inner_debug() -> String {
    tracing::info!("inside a debug span");
    current_span_id().unwrap()
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn costly() -> usize {
    EVALUATED.fetch_add(1, Ordering::Relaxed)
}

#[monitor(level = "trace", fields(cost = costly()))]
fn filtered_out() {}

#[test]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom
fn json_lines_carry_trace_and_span_ids() {
    // SAFETY: this file holds one test; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("LOG_LEVEL", "info");
        std::env::set_var("LOG_FORMAT", "text");
    }
    let buffer = Buffer::default();
    let _guard = Observability::builder()
        .without_server()
        .log_format(LogFormat::Json)
        .log_writer(buffer.clone())
        // `debug` spans are traced while log lines stay at `info`.
        .trace_level("debug")
        .install()
        .expect("install");

    let (trace_id, span_id) = place(7);
    tracing::warn!(code = 3, "outside any span");

    let lines = buffer.lines();
    let placed = lines
        .iter()
        .find(|l| l["message"] == "order placed")
        .expect("the info line");
    assert_eq!(placed["level"], "INFO");
    assert_eq!(placed["target"], "trace_logs_json");
    assert_eq!(placed["fields"]["order"], 7);
    assert_eq!(placed["fields"]["note"], "fast");
    assert_eq!(placed["span"], "place");
    assert_eq!(placed["trace_id"], trace_id.as_str());
    assert_eq!(placed["span_id"], span_id.as_str());
    assert_eq!(trace_id.len(), 32);
    assert_eq!(span_id.len(), 16);
    let ts = placed["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.contains('T'), "{ts}");
    assert!(
        !lines
            .iter()
            .any(|l| l["message"] == "filtered out by LOG_LEVEL"),
        "LOG_LEVEL=info drops debug lines"
    );
    let outside = lines
        .iter()
        .find(|l| l["message"] == "outside any span")
        .unwrap();
    assert_eq!(outside["level"], "WARN");
    assert!(outside.get("trace_id").is_none());

    // Correlation id from a span field.
    let span = tracing::info_span!("batch", correlation_id = "batch-9");
    span.in_scope(|| {
        place(8);
    });
    let lines = buffer.lines();
    let line = lines
        .iter()
        .rfind(|l| l["message"] == "order placed")
        .unwrap();
    assert_eq!(line["correlation_id"], "batch-9");

    // Correlation id from the X-Correlation-ID header, carried as baggage.
    let mut headers = http::HeaderMap::new();
    headers.insert("x-correlation-id", "req-123".parse().unwrap());
    headers.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    let remote = flext_observability::propagation::extract(&headers);
    let request = tracing::info_span!("request");
    assert!(remote.set_parent_of(&request));
    let (trace_id, _) = request.in_scope(|| place(9));
    assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    let lines = buffer.lines();
    let line = lines
        .iter()
        .rfind(|l| l["message"] == "order placed")
        .unwrap();
    assert_eq!(line["correlation_id"], "req-123");
    assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");

    // An event in a span below the log level but traced: the line names that span and
    // its ids, as the trace does (not its parent's).
    let (outer_span, inner_span) = place_span_ids(inner_debug);
    let lines = buffer.lines();
    let line = lines
        .iter()
        .rfind(|l| l["message"] == "inside a debug span")
        .unwrap();
    assert_eq!(line["span"], "inner_debug");
    assert_eq!(line["span_id"], inner_span.as_str());
    assert_ne!(line["span_id"], outer_span.as_str());
    // A `debug` span's correlation id reaches the lines inside it.
    let job = tracing::debug_span!("job", correlation_id = "job-5");
    job.in_scope(|| {
        place(10);
    });
    let lines = buffer.lines();
    let line = lines
        .iter()
        .rfind(|l| l["message"] == "order placed")
        .unwrap();
    assert_eq!(line["correlation_id"], "job-5");
    assert_eq!(line["fields"]["order"], 10);

    // Hostile values: quotes, newlines, control characters, a fake line, non-ASCII.
    let hostile = "\"}\n{\"level\":\"ERROR\"}\u{0}\u{1b}[31m\u{2028}\\ é";
    tracing::info!(evil = hostile, debug = ?hostile, "msg {hostile}");
    let lines = buffer.lines();
    let line = lines
        .iter()
        .rfind(|l| l["fields"]["evil"].is_string())
        .expect("one line, valid JSON");
    assert_eq!(line["fields"]["evil"], hostile);
    assert_eq!(line["fields"]["debug"], format!("{hostile:?}"));
    assert_eq!(line["message"], format!("msg {hostile}"));
    assert_eq!(line["level"], "INFO");

    // A span no layer wants (`trace` under `debug` and `info`) is never built: its field
    // expressions are not evaluated.
    filtered_out();
    assert_eq!(EVALUATED.load(Ordering::Relaxed), 0);
}

/// The span id of a monitored caller, and what `f` returns inside it.
#[monitor]
fn place_span_ids(f: impl FnOnce() -> String) -> (String, String) {
    let outer = current_span_id().unwrap();
    (outer, f())
}
