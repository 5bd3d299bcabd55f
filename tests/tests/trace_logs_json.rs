//! JSON log lines: one object per line with timestamp, level, target, message, fields,
//! and the active trace and span ids; the correlation id from a span field or from the
//! `X-Correlation-ID` header (through baggage). `LOG_LEVEL` filters.

use std::io::Write;
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

#[test]
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
}
