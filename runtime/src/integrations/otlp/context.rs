//! Between OpenTelemetry contexts and `tracing` spans: the ids the core shows (exemplars,
//! log lines), installed as its span-id lookups once the layer is in the subscriber.

use opentelemetry::trace::TraceContextExt;

/// Trace id, span id and sampled flag of a `tracing` span, through its OpenTelemetry
/// context.
fn span_ids(span: &tracing::Span) -> Option<([u8; 16], [u8; 8], bool)> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        (
            sc.trace_id().to_bytes(),
            sc.span_id().to_bytes(),
            sc.is_sampled(),
        )
    })
}

/// The OpenTelemetry context of the span `id` in `dispatch` (for log lines).
pub(crate) fn context_of(
    id: &tracing::span::Id,
    dispatch: &tracing::Dispatch,
) -> Option<opentelemetry::Context> {
    tracing_opentelemetry::get_otel_context(id, dispatch)
}

/// Keeps a context's baggage readable by the log layer.
pub(crate) fn baggage_value(cx: &opentelemetry::Context, key: &str) -> Option<String> {
    use opentelemetry::baggage::BaggageExt;
    cx.baggage().get(key).map(|v| v.as_str().to_owned())
}

/// Trace and span ids of a context, if valid.
pub(crate) fn ids_of_context(cx: &opentelemetry::Context) -> Option<([u8; 16], [u8; 8])> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
}

/// The ids of the span `id` and its correlation baggage, for a log line.
fn log_context(
    id: &tracing::span::Id,
    dispatch: &tracing::Dispatch,
) -> crate::span_ids::LogContext {
    match context_of(id, dispatch) {
        Some(cx) => (
            ids_of_context(&cx),
            baggage_value(&cx, crate::span_ids::CORRELATION_FIELD),
        ),
        None => (None, None),
    }
}

/// Installs the lookups: called once the OpenTelemetry layer is in the global subscriber
/// (without it they would only cost time).
pub(crate) fn install_lookups() {
    crate::span_ids::install(span_ids, log_context);
}
