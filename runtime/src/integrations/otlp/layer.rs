//! The span side of OpenTelemetry in the subscriber: which spans belong to the trace
//! (`trace_level`), and the exporting layer.
//!
//! The exporting layer decides sampling as a span opens, from its parent's decision
//! (or as a root, by the sampler over a fresh trace id), before anything is copied: a
//! span sampled out keeps nothing and costs the registry's span plus a few
//! nanoseconds; a sampled one records its fields, events and links and is queued for
//! export when it closes. Installed only when traces are exported: without it no span is
//! built for OpenTelemetry, and ids come on demand from `context`.

use std::sync::{Arc, OnceLock};

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, Registry};

use super::config::Sampler;
use super::context::{self, Ids, SpanCx};
use super::record::{self, Recording};
use super::traces::{FinishedSpan, SpanQueue};
use crate::logs::BoxedLayer;

/// The filter of the exporting layer: the trace level, plus the `exception` events
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

/// Records sampled spans and queues them for export as they close.
pub(crate) struct TraceLayer {
    sampler: Sampler,
    /// The spans this layer sees (its filter's trace level).
    traced: Targets,
    queue: SpanQueue,
    /// The subscriber this layer is part of: a new span's parent is looked up in its
    /// registry, past the spans this layer's filter leaves out.
    dispatch: OnceLock<tracing::Dispatch>,
}

/// What a new span continues.
enum Parent {
    /// Nothing: a new trace.
    Root,
    /// A parent with a context, and the trace state of a sampled one.
    Known(Ids, Option<Arc<str>>),
    /// A parent this layer saw and sampled out: its children are sampled out too (a
    /// parent-based sampler follows it; a ratio decides the same on the same trace id).
    SampledOut,
}

impl TraceLayer {
    pub(crate) fn new(sampler: Sampler, traced: Targets, queue: SpanQueue) -> Self {
        TraceLayer {
            sampler,
            traced,
            queue,
            dispatch: OnceLock::new(),
        }
    }

    /// The layer, filtered to the trace level, ready for the subscriber.
    pub(crate) fn filtered(self) -> BoxedLayer {
        let filter = TraceFilter(self.traced.clone());
        Box::new(self.with_filter(filter))
    }

    fn parent(&self, registry: &Registry, id: &Id) -> Parent {
        let Some(parent) = registry.span(id).and_then(|s| s.parent()) else {
            return Parent::Root;
        };
        if let Some(cx) = parent.extensions().get::<SpanCx>() {
            let state = cx.recording.as_ref().and_then(|r| r.trace_state.clone());
            return Parent::Known(cx.ids, state);
        }
        let meta = parent.metadata();
        if self.traced.would_enable(meta.target(), meta.level()) {
            return Parent::SampledOut;
        }
        // Below the trace level: it continues its own ancestors, which decide.
        match context::context_of(registry, &parent.id()) {
            Some(ids) => Parent::Known(ids, None),
            None => Parent::Root,
        }
    }
}

impl Layer<Registry> for TraceLayer {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.clone());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, Registry>) {
        let Some(registry) = self.dispatch.get().and_then(context::registry) else {
            return;
        };
        let (trace_id, parent, state) = match self.parent(registry, id) {
            Parent::SampledOut => return,
            Parent::Root => (context::new_trace_id(), None, None),
            Parent::Known(p, state) => (p.trace_id, Some(p), state),
        };
        let sampled = context::decide(self.sampler, parent.map(|p| p.sampled), &trace_id);
        if !sampled {
            // Nothing kept: a child finds this span without a context and follows it; a
            // log line or an outgoing request gives it ids when it asks. A root keeps its
            // fields on this thread in case a caller's context samples it after all.
            if parent.is_none() {
                record::stash(id.into_u64(), attrs);
            }
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let recording = Recording::new(attrs, parent.map(|p| (p.span_id, false)), state);
        span.extensions_mut().insert(SpanCx {
            ids: Ids {
                trace_id,
                span_id: context::new_span_id(),
                sampled: true,
            },
            remote: None,
            recording: Some(recording),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanCx>().and_then(|c| c.recording.as_mut()) {
            Some(recording) => recording.record(values),
            None => record::stash_record(id.into_u64(), values),
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, Registry>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(registry) = self.dispatch.get().and_then(context::registry) else {
            return;
        };
        let Some(other) = context::context_of(registry, follows) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let Some(recording) = ext.get_mut::<SpanCx>().and_then(|c| c.recording.as_mut()) {
            recording.links.push((other.trace_id, other.span_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Registry>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let Some(recording) = ext.get_mut::<SpanCx>().and_then(|c| c.recording.as_mut()) {
            recording.event(event);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        let Some(span) = ctx.span(&id) else { return };
        let finished = {
            let mut ext = span.extensions_mut();
            ext.get_mut::<SpanCx>().and_then(|cx| {
                cx.recording.take().map(|recording| FinishedSpan {
                    ids: cx.ids,
                    end: crate::clock::unix_nanos(),
                    recording,
                })
            })
        };
        match finished {
            Some(span) => self.queue.push(span),
            None => record::forget_stash(id.into_u64()),
        }
    }
}

/// A layer that does nothing but keep the spans of the trace level recorded, when
/// traces are not exported but `trace_level` was set: they get ids (log lines,
/// propagation), as they would in an exported trace.
pub(crate) fn scope(traced: Targets) -> BoxedLayer {
    Box::new(tracing_subscriber::layer::Identity::new().with_filter(traced))
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
