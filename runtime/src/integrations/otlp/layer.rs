//! The span side of OpenTelemetry in the subscriber: which spans and events belong to
//! the trace (`trace_level`), and the exporting layer.
//!
//! The exporting layer decides sampling as a span opens, from its parent's decision
//! (or as a root, by the sampler over a fresh trace id), before anything is copied: a
//! span sampled out keeps nothing and costs the registry's span plus a few
//! nanoseconds; a sampled one records its fields, events and links and is queued for
//! export when it closes. Installed only when traces are exported: without it no span is
//! built for OpenTelemetry, and ids come on demand from `context`.

use std::sync::{Arc, OnceLock};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::Registry;

use super::config::Sampler;
use super::context::{self, Ids, SpanCx};
use super::record::{self, Open, Recording};
use super::traces::{FinishedSpan, SpanQueue};
use crate::logs::{Member, Wants};

/// What belongs to the trace: spans and events from the trace level up, plus the
/// `exception` events `#[monitor]` emits at `DEBUG` into its failed spans (they belong in
/// the trace, not in `info` log lines).
pub(crate) struct TraceWants(pub(crate) Targets);

impl Wants for TraceWants {
    fn span(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
    }
    fn event(&self, meta: &Metadata<'_>) -> bool {
        self.0.would_enable(meta.target(), meta.level())
            || (meta.target() == "flext_observability" && meta.name() == "exception")
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Wants::max_level_hint(&self.0).map(|l| l.max(LevelFilter::DEBUG))
    }
}

/// Records sampled spans and queues them for export as they close.
pub(crate) struct TraceLayer {
    sampler: Sampler,
    /// The spans this layer sees (the trace level).
    traced: Targets,
    queue: SpanQueue,
    /// The subscriber this layer is part of, for the registry (a parent below the trace
    /// level gets its context from its own ancestors).
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

    /// The layer as a member of the subscriber.
    pub(crate) fn member(self) -> Member {
        Member {
            name: "otlp-traces",
            wants: Box::new(TraceWants(self.traced.clone())),
            layer: Some(Box::new(self)),
        }
    }

    /// The parent of a new span: none for a root without looking anything up.
    fn parent(&self, attrs: &Attributes<'_>, ctx: &Context<'_, Registry>) -> Parent {
        let id = if attrs.is_root() {
            return Parent::Root;
        } else if let Some(id) = attrs.parent() {
            id.clone()
        } else {
            match ctx.current_span().id() {
                Some(id) => id.clone(),
                None => return Parent::Root,
            }
        };
        let Some(parent) = ctx.span(&id) else {
            return Parent::Root;
        };
        if let Some(cx) = parent.extensions().get::<SpanCx>() {
            let state = cx
                .recording
                .as_ref()
                .and_then(Open::get)
                .and_then(|r| r.trace_state.clone());
            return Parent::Known(cx.ids, state);
        }
        let meta = parent.metadata();
        if self.traced.would_enable(meta.target(), meta.level()) {
            return Parent::SampledOut;
        }
        // Below the trace level: it continues its own ancestors, which decide.
        match self
            .dispatch
            .get()
            .and_then(context::registry)
            .and_then(|r| context::context_of(r, &id))
        {
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
        let (trace_id, parent, state) = match self.parent(attrs, &ctx) {
            Parent::SampledOut => return,
            Parent::Root => (context::new_trace_id(), None, None),
            Parent::Known(p, state) => (p.trace_id, Some(p), state),
        };
        let sampled = context::decide(self.sampler, parent.map(|p| p.sampled), &trace_id);
        if !sampled {
            // Nothing kept: a child finds this span without a context and follows it; a
            // log line or an outgoing request gives it ids when it asks. A root keeps its
            // fields on this thread in case a caller's context samples it after all, once
            // this process has received callers' contexts at all.
            if parent.is_none() && context::callers_seen() {
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
            recording: Some(Open::new(recording)),
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        if record::any_open()
            && let Some(span) = ctx.span(id)
        {
            let recording = span
                .extensions()
                .get::<SpanCx>()
                .is_some_and(|c| c.recording.is_some());
            if recording {
                // Read before locking: reading runs the values' `Debug`, which may log.
                let values = record::Recorded::read(values);
                if let Some(recording) = span
                    .extensions_mut()
                    .get_mut::<SpanCx>()
                    .and_then(|c| c.recording.as_mut())
                    .and_then(Open::get_mut)
                {
                    recording.record(&values);
                }
                return;
            }
        }
        record::stash_record(id.into_u64(), values);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, Registry>) {
        if !record::any_open() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let Some(registry) = self.dispatch.get().and_then(context::registry) else {
            return;
        };
        let Some(other) = context::context_of(registry, follows) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let Some(recording) = ext
            .get_mut::<SpanCx>()
            .and_then(|c| c.recording.as_mut())
            .and_then(Open::get_mut)
        {
            recording.links.push((other.trace_id, other.span_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Registry>) {
        if !record::any_open() {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let recording = span
            .extensions()
            .get::<SpanCx>()
            .is_some_and(|c| c.recording.is_some());
        if !recording {
            return;
        }
        // Read before locking: reading runs the fields' `Debug`, which may log.
        let (read, error) = record::SpanEvent::read(event);
        let mut ext = span.extensions_mut();
        if let Some(recording) = ext
            .get_mut::<SpanCx>()
            .and_then(|c| c.recording.as_mut())
            .and_then(Open::get_mut)
        {
            recording.event(read, error);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        let finished = if record::any_open()
            && let Some(span) = ctx.span(&id)
        {
            let mut ext = span.extensions_mut();
            ext.get_mut::<SpanCx>().and_then(|cx| {
                let recording = cx.recording.take()?.finish()?;
                Some(FinishedSpan {
                    ids: cx.ids,
                    end: crate::clock::unix_nanos(),
                    recording,
                })
            })
        } else {
            None
        };
        match finished {
            Some(span) => self.queue.push(span),
            None => record::forget_stash(id.into_u64()),
        }
    }
}

/// The spans kept recorded when traces are not exported: request scopes (spans that
/// declare a `correlation_id` field, like the HTTP integration's server spans), so a
/// caller's context and correlation id flow through them to outgoing requests and log
/// lines whatever `LOG_LEVEL`; and, when `trace_level` was set, the spans of that level,
/// with ids as they would have in an exported trace.
struct ContextWants(Option<Targets>);

impl Wants for ContextWants {
    fn span(&self, meta: &Metadata<'_>) -> bool {
        meta.fields()
            .field(crate::span_ids::CORRELATION_FIELD)
            .is_some()
            || self
                .0
                .as_ref()
                .is_some_and(|t| t.would_enable(meta.target(), meta.level()))
    }
    fn event(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Request scopes are kept at any level.
        None
    }
}

/// A member without a layer, for [`ContextWants`]: the spans it wants exist in the
/// registry, and get ids on demand.
pub(crate) fn context(traced: Option<Targets>) -> Member {
    Member {
        name: "otlp-context",
        wants: Box::new(ContextWants(traced)),
        layer: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_level_defaults_to_info() {
        // Spans reach OpenTelemetry from `info` by default (not the clients' `trace`).
        let wants = TraceWants(crate::logs::parse_targets("trace_level", "info").unwrap());
        assert!(wants.0.would_enable("h2", &tracing::Level::INFO));
        assert!(!wants.0.would_enable("h2", &tracing::Level::DEBUG));
    }
}
