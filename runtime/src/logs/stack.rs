//! The layers of the subscriber, side by side.
//!
//! Not `Layer::and_then`: a `Layered` of two `Layer<Registry>` believes its inner layer
//! is the registry (it compares the subscriber type, `Registry`) and reports only the
//! outer layer's level hint, so an event that only an inner layer wants (the `DEBUG`
//! `exception` events the exporting layer takes) is dropped by the global max level.
//! Not a bare `Vec` either: it does not forward `on_register_dispatch`, which the JSON
//! and exporting layers need to find the registry.

use std::any::TypeId;

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::Registry;

use super::BoxedLayer;

/// Every layer of the subscriber, innermost first. Each has its own per-layer filter.
pub(crate) struct Stack(pub(crate) Vec<BoxedLayer>);

impl Layer<Registry> for Stack {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        for layer in &self.0 {
            layer.on_register_dispatch(subscriber);
        }
    }
    fn on_layer(&mut self, subscriber: &mut Registry) {
        self.0.on_layer(subscriber);
    }
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.0.register_callsite(metadata)
    }
    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, Registry>) -> bool {
        self.0.enabled(metadata, ctx)
    }
    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, Registry>) -> bool {
        self.0.event_enabled(event, ctx)
    }
    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, Registry>) {
        self.0.on_new_span(attrs, id, ctx);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        self.0.on_record(id, values, ctx);
    }
    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, Registry>) {
        self.0.on_follows_from(id, follows, ctx);
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, Registry>) {
        self.0.on_event(event, ctx);
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, Registry>) {
        self.0.on_enter(id, ctx);
    }
    fn on_exit(&self, id: &Id, ctx: Context<'_, Registry>) {
        self.0.on_exit(id, ctx);
    }
    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        self.0.on_close(id, ctx);
    }
    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, Registry>) {
        for layer in &self.0 {
            layer.on_id_change(old, new, ctx.clone());
        }
    }
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(std::ptr::from_ref(self).cast());
        }
        // SAFETY: the caller's contract (a pointer returned for `id` is only read as the
        // type `id` names) is passed on unchanged to the `Vec`'s implementation, which
        // also tells `tracing-subscriber` that every layer here has a per-layer filter.
        unsafe { self.0.downcast_raw(id) }
    }
}
