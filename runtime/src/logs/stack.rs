//! The layers of the subscriber, side by side, each seeing only what it wants.
//!
//! Every member says, from a callsite's metadata alone, which spans and events it wants
//! ([`Wants`]). The stack's interest in a callsite is the union (`always` or `never`,
//! so `tracing` caches it: a span nobody wants costs one atomic load), and each member
//! gets the spans and events it wants. Unlike `tracing-subscriber`'s per-layer filters
//! this keeps no per-span filter state: entering, leaving and closing a span costs no
//! registry lookup per layer (with per-layer filters, three per layer and span: most of
//! the cost of a span sampled out), and members are not told about enters and exits.
//!
//! Not `Layer::and_then` either: a `Layered` of two `Layer<Registry>` believes its inner
//! layer is the registry and reports only the outer layer's level hint.

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::Registry;

/// A layer of the subscriber `install()` sets.
pub(crate) type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// What a member of the subscriber wants, from a callsite's metadata alone: decided once
/// per callsite, so `tracing` caches the answer.
pub(crate) trait Wants: Send + Sync {
    fn span(&self, meta: &Metadata<'_>) -> bool;
    fn event(&self, meta: &Metadata<'_>) -> bool;
    /// The most verbose level wanted; `None` when any level may be.
    fn max_level_hint(&self) -> Option<LevelFilter>;
}

impl Wants for Targets {
    fn span(&self, meta: &Metadata<'_>) -> bool {
        self.would_enable(meta.target(), meta.level())
    }
    fn event(&self, meta: &Metadata<'_>) -> bool {
        self.would_enable(meta.target(), meta.level())
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        tracing_subscriber::layer::Filter::<Registry>::max_level_hint(self)
    }
}

/// A layer of the subscriber and what it wants; no layer for a member that only keeps
/// spans recorded (they then exist in the registry, with ids on demand).
pub(crate) struct Member {
    pub(crate) name: &'static str,
    pub(crate) wants: Box<dyn Wants>,
    pub(crate) layer: Option<BoxedLayer>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Member {
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        if meta.is_span() {
            self.wants.span(meta)
        } else {
            self.wants.event(meta)
        }
    }
}

/// Every member of the subscriber, innermost first.
pub(crate) struct Stack(pub(crate) Vec<Member>);

impl Stack {
    fn any(&self, meta: &Metadata<'_>) -> bool {
        self.0.iter().any(|m| m.wants(meta))
    }

    fn layers(&self) -> impl Iterator<Item = &BoxedLayer> {
        self.0.iter().filter_map(|m| m.layer.as_ref())
    }

    /// The layers that want span `id` (one registry lookup).
    fn for_span<'a>(
        &'a self,
        id: &Id,
        ctx: &Context<'_, Registry>,
    ) -> impl Iterator<Item = &'a BoxedLayer> {
        let meta = ctx.metadata(id);
        self.0.iter().filter_map(move |m| match (meta, &m.layer) {
            (Some(meta), Some(layer)) if m.wants.span(meta) => Some(layer),
            _ => None,
        })
    }
}

impl Layer<Registry> for Stack {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        for layer in self.layers() {
            layer.on_register_dispatch(subscriber);
        }
    }
    fn on_layer(&mut self, subscriber: &mut Registry) {
        for member in &mut self.0 {
            if let Some(layer) = &mut member.layer {
                layer.on_layer(subscriber);
            }
        }
    }
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.any(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }
    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, Registry>) -> bool {
        self.any(meta)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        let mut max = LevelFilter::OFF;
        for member in &self.0 {
            max = max.max(member.wants.max_level_hint()?);
        }
        Some(max)
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, Registry>) {
        for member in &self.0 {
            if let Some(layer) = &member.layer
                && member.wants.span(attrs.metadata())
            {
                layer.on_new_span(attrs, id, ctx.clone());
            }
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        for layer in self.for_span(id, &ctx) {
            layer.on_record(id, values, ctx.clone());
        }
    }
    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, Registry>) {
        for layer in self.for_span(id, &ctx) {
            layer.on_follows_from(id, follows, ctx.clone());
        }
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Registry>) {
        for member in &self.0 {
            if let Some(layer) = &member.layer
                && member.wants.event(event.metadata())
            {
                layer.on_event(event, ctx.clone());
            }
        }
    }
    /// Every member is told (it may not have wanted the span: it checks what it kept),
    /// without a lookup here.
    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        for layer in self.layers() {
            layer.on_close(id.clone(), ctx.clone());
        }
    }
    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, Registry>) {
        for layer in self.layers() {
            layer.on_id_change(old, new, ctx.clone());
        }
    }
}
