//! The OpenTelemetry layer of the subscriber, and which spans reach it.

use tracing::Metadata;
use tracing::subscriber::Interest;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;

use super::pipeline::OtelLayer;
use crate::logs::BoxedLayer;

/// The filter of the OpenTelemetry layer: the trace level, plus the `exception` events
/// `#[monitor]` emits at `DEBUG` into its failed spans (they belong in the trace, not in
/// `info` log lines).
pub(crate) struct TraceFilter(pub(crate) Targets);

impl TraceFilter {
    fn allows(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
            || (meta.is_event()
                && meta.target() == "flext_observability"
                && meta.name() == "exception")
    }
}

impl<S> tracing_subscriber::layer::Filter<S> for TraceFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.allows(meta)
    }
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.allows(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        tracing_subscriber::layer::Filter::<S>::max_level_hint(&self.0)
            .map(|l| l.max(LevelFilter::DEBUG))
    }
}

/// The layer, filtered, ready for the subscriber.
pub(crate) fn filtered(layer: OtelLayer, filter: TraceFilter) -> BoxedLayer {
    Box::new(layer.with_filter(filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_level_defaults_to_info() {
        // Spans reach OpenTelemetry from `info` by default (not the clients' `trace`).
        let filter = TraceFilter(crate::logs::parse_targets("trace_level", "info").unwrap());
        assert!(filter.0.would_enable("h2", &tracing::Level::INFO));
        assert!(!filter.0.would_enable("h2", &tracing::Level::DEBUG));
    }
}
