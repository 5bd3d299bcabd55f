//! Trace contexts of `tracing` spans: the trace id, span id and sampled flag that log
//! lines, exemplars, `trace::current_trace_id` and propagation show, kept in the span's
//! registry extensions.
//!
//! A span gets its ids the first time something asks for them (a JSON log line inside
//! it, an exemplar, an outgoing request, a child exported span), from its nearest
//! ancestor that has them, or as the root of a new trace; a span nobody asks about
//! costs nothing here. When traces are exported, the exporting layer gives ids to every
//! sampled span as it opens (see `layer`): a span it saw and left without ids was
//! sampled out, and keeps `sampled = false` when it gets them later.
//!
//! [`set_remote_parent`] makes a caller's context (from `propagation::extract`) the
//! parent of a span: its trace id, its sampling decision (parent-based samplers), its
//! `tracestate` and baggage.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use tracing::Metadata;
use tracing::span::Id;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::{LookupSpan, Registry, SpanRef};

use super::config::Sampler;
use super::record::{self, Open, Recording};

/// Trace id, span id and sampled flag of a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ids {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    pub(crate) sampled: bool,
}

/// What a span's extensions hold once it has a trace context.
#[derive(Debug)]
pub(crate) struct SpanCx {
    pub(crate) ids: Ids,
    /// The caller's context when [`set_remote_parent`] made it this span's parent: its
    /// `tracestate` and baggage reach outgoing requests and log lines.
    pub(crate) remote: Option<Box<opentelemetry::Context>>,
    /// What is exported of the span, while it is open (sampled spans only).
    pub(crate) recording: Option<Open>,
}

/// How contexts are decided, set once our subscriber is installed.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) sampler: Sampler,
    /// Spans the exporting layer sees, when traces are exported.
    pub(crate) exported: Option<Targets>,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

/// Whether this process has extracted a caller's context (`propagation`): until then no
/// span can be given a caller as its parent, and a root span sampled out need not keep
/// its fields in case one samples it after all.
static CALLERS_SEEN: AtomicBool = AtomicBool::new(false);

/// Called by every extraction of a caller's context.
pub(crate) fn caller_seen() {
    if !CALLERS_SEEN.load(Ordering::Relaxed) {
        CALLERS_SEEN.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn callers_seen() -> bool {
    CALLERS_SEEN.load(Ordering::Relaxed)
}

impl Setup {
    /// Whether the exporting layer sees spans of this callsite.
    pub(crate) fn exports(&self, meta: &Metadata<'_>) -> bool {
        self.exported
            .as_ref()
            .is_some_and(|t| t.would_enable(meta.target(), meta.level()))
    }
}

/// Whether a trace is sampled: the sampler, given the parent's decision (`None` for a
/// root span).
pub(crate) fn decide(sampler: Sampler, parent: Option<bool>, trace_id: &[u8; 16]) -> bool {
    match sampler {
        Sampler::AlwaysOn => true,
        Sampler::AlwaysOff => false,
        Sampler::TraceIdRatio(r) => by_ratio(r, trace_id),
        Sampler::ParentBasedAlwaysOn => parent.unwrap_or(true),
        Sampler::ParentBasedAlwaysOff => parent.unwrap_or(false),
        Sampler::ParentBasedTraceIdRatio(r) => parent.unwrap_or_else(|| by_ratio(r, trace_id)),
    }
}

/// The `TraceIdRatioBased` rule of the OpenTelemetry SDK: the low 63 bits of the trace
/// id's last eight bytes against `ratio × 2⁶³`, so every service of a trace that uses
/// the same ratio decides the same way.
fn by_ratio(ratio: f64, trace_id: &[u8; 16]) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    // 0 ≤ ratio < 1: the bound is below 2⁶³
    let bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
    let mut low = [0; 8];
    low.copy_from_slice(&trace_id[8..]);
    (u64::from_be_bytes(low) >> 1) < bound
}

/// Fast ids: wyrand per thread, seeded from the standard library's random hasher keys.
mod rng {
    use std::cell::Cell;
    use std::hash::{BuildHasher, Hasher};

    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }

    #[cold]
    fn seed() -> u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(crate::clock::unix_nanos());
        h.finish() | 1
    }

    pub(super) fn next() -> u64 {
        STATE
            .try_with(|s| {
                let mut x = s.get();
                if x == 0 {
                    x = seed();
                }
                x = x.wrapping_add(0xa076_1d64_78bd_642f);
                s.set(x);
                let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
                #[allow(clippy::cast_possible_truncation)] // the two halves, folded
                let folded = (t >> 64) as u64 ^ t as u64;
                folded
            })
            .unwrap_or_else(|_| seed())
    }
}

/// A new span id (never all zero: that is the invalid id).
pub(crate) fn new_span_id() -> [u8; 8] {
    loop {
        let v = rng::next();
        if v != 0 {
            return v.to_be_bytes();
        }
    }
}

/// A new trace id (never all zero).
pub(crate) fn new_trace_id() -> [u8; 16] {
    let mut id = [0; 16];
    id[..8].copy_from_slice(&rng::next().to_be_bytes());
    id[8..].copy_from_slice(&new_span_id());
    id
}

/// The registry of a dispatch, when it is one `install()` built.
pub(crate) fn registry(dispatch: &tracing::Dispatch) -> Option<&Registry> {
    dispatch.downcast_ref::<Registry>()
}

/// The ids of span `id`, given to it (and to its ancestors) now if it has none yet.
pub(crate) fn context_of(registry: &Registry, id: &Id) -> Option<Ids> {
    let setup = SETUP.get()?;
    Some(ids_for(setup, &registry.span(id)?))
}

/// The ids of `span`, given to it (and to its ancestors) now if it has none yet.
fn ids_for(setup: &Setup, span: &SpanRef<'_, Registry>) -> Ids {
    if let Some(cx) = span.extensions().get::<SpanCx>() {
        return cx.ids;
    }
    let parent = match span.parent() {
        None => None,
        Some(parent) => {
            let known = parent.extensions().get::<SpanCx>().map(|c| c.ids);
            match known {
                Some(ids) => Some(ids),
                None => Some(chain(setup, parent)),
            }
        }
    };
    keep(span, derive(setup, parent, span.metadata()))
}

/// Gives ids to `span` and to its ancestors up to the first that has them (the rare
/// case of several spans in a row that nothing asked about).
fn chain(setup: &Setup, span: SpanRef<'_, Registry>) -> Ids {
    let mut missing = vec![span];
    let mut base = None;
    while let Some(parent) = missing.last().and_then(SpanRef::parent) {
        if let Some(cx) = parent.extensions().get::<SpanCx>() {
            base = Some(cx.ids);
            break;
        }
        missing.push(parent);
    }
    let mut ids = base;
    for span in missing.iter().rev() {
        ids = Some(keep(span, derive(setup, ids, span.metadata())));
    }
    ids.unwrap_or_else(|| unreachable!("`missing` holds at least `span`"))
}

/// Keeps `ids` as the span's context, unless another thread gave it one first.
fn keep(span: &SpanRef<'_, Registry>, ids: Ids) -> Ids {
    let mut ext = span.extensions_mut();
    if let Some(cx) = ext.get_mut::<SpanCx>() {
        return cx.ids;
    }
    ext.insert(SpanCx {
        ids,
        remote: None,
        recording: None,
    });
    ids
}

/// The ids of a span that had none, below `parent`.
fn derive(setup: &Setup, parent: Option<Ids>, meta: &Metadata<'_>) -> Ids {
    let trace_id = parent.map_or_else(new_trace_id, |p| p.trace_id);
    // The exporting layer gives ids to every sampled span it sees: one it saw without
    // ids was sampled out.
    let sampled =
        !setup.exports(meta) && decide(setup.sampler, parent.map(|p| p.sampled), &trace_id);
    Ids {
        trace_id,
        span_id: new_span_id(),
        sampled,
    }
}

/// Makes a caller's context the parent of span `id` (before it is entered): its trace,
/// its sampling decision, its trace state and baggage. A context without a valid trace
/// still brings its baggage (the correlation id).
pub(crate) fn set_remote_parent(
    registry: &Registry,
    id: &Id,
    remote: &opentelemetry::Context,
) -> bool {
    let Some(setup) = SETUP.get() else {
        return false;
    };
    let Some(span) = registry.span(id) else {
        return false;
    };
    let caller = remote.span().span_context().clone();
    let mut ext = span.extensions_mut();
    let before = ext.remove::<SpanCx>();
    let trace_id = if caller.is_valid() {
        caller.trace_id().to_bytes()
    } else {
        before
            .as_ref()
            .map_or_else(new_trace_id, |c| c.ids.trace_id)
    };
    let span_id = before.as_ref().map_or_else(new_span_id, |c| c.ids.span_id);
    let sampled = decide(
        setup.sampler,
        caller.is_valid().then(|| caller.is_sampled()),
        &trace_id,
    );
    let exported = setup.exports(span.metadata());
    let recording = (exported && sampled).then(|| {
        let parent = caller
            .is_valid()
            .then(|| (caller.span_id().to_bytes(), true));
        let state = caller.trace_state().header();
        let state = (!state.is_empty()).then(|| Arc::from(state.as_str()));
        match before.and_then(|c| c.recording) {
            Some(mut open) => {
                if let Some(recording) = open.get_mut() {
                    recording.parent = parent;
                    recording.trace_state = state;
                }
                open
            }
            // Sampled out when it was created; its fields were stashed (same thread).
            None => Open::new(Recording::with_fields(
                span.metadata(),
                record::take_stash(id.into_u64()).unwrap_or_default(),
                parent,
                state,
            )),
        }
    });
    ext.insert(SpanCx {
        ids: Ids {
            trace_id,
            span_id,
            sampled,
        },
        remote: Some(Box::new(remote.clone())),
        recording,
    });
    true
}

/// The nearest caller's context at or above span `id`.
fn remote_of(registry: &Registry, id: &Id) -> Option<opentelemetry::Context> {
    registry.span(id)?.scope().find_map(|s| {
        s.extensions()
            .get::<SpanCx>()
            .and_then(|c| c.remote.as_deref().cloned())
    })
}

/// Span `id` as an OpenTelemetry context, for injection into outgoing headers: its ids,
/// and the trace state and baggage of the caller it continues.
pub(crate) fn otel_context(registry: &Registry, id: &Id) -> Option<opentelemetry::Context> {
    let ids = context_of(registry, id)?;
    let base = remote_of(registry, id).unwrap_or_default();
    let state = base.span().span_context().trace_state().clone();
    let flags = if ids.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(base.with_remote_span_context(SpanContext::new(
        TraceId::from_bytes(ids.trace_id),
        SpanId::from_bytes(ids.span_id),
        flags,
        false,
        state,
    )))
}

/// Trace and span ids of a context, if valid.
pub(crate) fn ids_of_context(cx: &opentelemetry::Context) -> Option<([u8; 16], [u8; 8])> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
}

/// A baggage entry of a context.
pub(crate) fn baggage_value(cx: &opentelemetry::Context, key: &str) -> Option<String> {
    cx.baggage().get(key).map(|v| v.as_str().to_owned())
}

/// Ids of a live span, for exemplars and `trace::current_trace_id`.
fn span_ids(span: &tracing::Span) -> Option<crate::span_ids::SpanIds> {
    span.with_subscriber(|(id, dispatch)| {
        let ids = context_of(registry(dispatch)?, id)?;
        Some((ids.trace_id, ids.span_id, ids.sampled))
    })
    .flatten()
}

/// The ids of `span` and the correlation id its caller sent (baggage), for a log line:
/// handed to `line`, borrowed, so nothing is copied.
fn log_context(span: &SpanRef<'_, Registry>, line: crate::span_ids::LogLine<'_>) {
    let Some(setup) = SETUP.get() else {
        return line(None, None);
    };
    let ids = ids_for(setup, span);
    let ids = Some((ids.trace_id, ids.span_id));
    // Copied out before `line` runs: it reads extensions too, and a read lock taken
    // again while another thread waits to write would deadlock. Correlation ids are
    // short; a long one is the only case that allocates.
    let mut short = [0u8; 128];
    let mut long = String::new();
    let mut len = None;
    for s in span.scope() {
        let ext = s.extensions();
        if let Some(remote) = ext.get::<SpanCx>().and_then(|c| c.remote.as_deref()) {
            if let Some(value) = remote.baggage().get(crate::span_ids::CORRELATION_FIELD) {
                let value = value.as_str();
                match short.get_mut(..value.len()) {
                    Some(buf) => {
                        buf.copy_from_slice(value.as_bytes());
                        len = Some(value.len());
                    }
                    None => value.clone_into(&mut long),
                }
            }
            break;
        }
    }
    let correlation = match len {
        Some(n) => std::str::from_utf8(&short[..n]).ok(),
        None if !long.is_empty() => Some(long.as_str()),
        None => None,
    };
    line(ids, correlation);
}

/// Turns trace contexts on: called once our subscriber is the global one (without it
/// the lookups would find nothing). The first installation in a process stays.
pub(crate) fn install(setup: Setup) {
    let _ = SETUP.set(setup);
    crate::span_ids::install(span_ids, log_context);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_follows_the_sdk_rule() {
        let mut id = [0u8; 16];
        // Low half 0: always below a positive bound.
        assert!(by_ratio(0.01, &id));
        id[8] = 0xff;
        assert!(!by_ratio(0.5, &id));
        assert!(by_ratio(1.0, &id));
        assert!(!by_ratio(0.0, &[0xff; 16]));
        // Roughly the ratio over many random trace ids.
        let hits = (0..100_000)
            .filter(|_| by_ratio(0.1, &new_trace_id()))
            .count();
        assert!((8_000..12_000).contains(&hits), "{hits}");
    }

    #[test]
    fn parent_based_follows_the_parent() {
        let id = new_trace_id();
        assert!(!decide(Sampler::ParentBasedAlwaysOn, Some(false), &id));
        assert!(decide(Sampler::ParentBasedAlwaysOff, Some(true), &id));
        assert!(decide(Sampler::ParentBasedAlwaysOn, None, &id));
        assert!(!decide(Sampler::ParentBasedAlwaysOff, None, &id));
        assert!(decide(Sampler::AlwaysOn, Some(false), &id));
    }

    #[test]
    fn ids_are_never_zero_and_differ() {
        let a = new_trace_id();
        let b = new_trace_id();
        assert_ne!(a, [0; 16]);
        assert_ne!(a, b);
        assert_ne!(new_span_id(), new_span_id());
    }
}
