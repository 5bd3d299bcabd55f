//! Where sources register: statically through `inventory` (the core's sources and an
//! integration's that always exist), or at run time (a pipeline's self-metrics, while it
//! runs).

use std::sync::{Arc, PoisonError, RwLock};

use super::source::Source;

/// A source that exists for the whole process, registered with
/// `inventory::submit!(SourceEntry::new(ORDER, &SOURCE))`.
///
/// Sources are read in `order` (then registration order): when two claim the same
/// family name, or names that collide in the exposition, the first keeps it. Built-in
/// sources use 0–99; integrations 100 and above; the `metrics` facade, whose names come
/// from user code at run time, is read last (1000).
pub(crate) struct SourceEntry {
    order: u16,
    source: &'static dyn Source,
}

impl SourceEntry {
    pub(crate) const fn new(order: u16, source: &'static dyn Source) -> Self {
        SourceEntry { order, source }
    }
}

inventory::collect!(SourceEntry);

static DYNAMIC: RwLock<Vec<Arc<dyn Source>>> = RwLock::new(Vec::new());

/// Adds a source read by every exporter from now on (after every static one).
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn register_source(source: Arc<dyn Source>) {
    DYNAMIC
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .push(source);
}

/// Removes a source added with [`register_source`].
#[cfg_attr(not(feature = "otlp"), allow(dead_code))] // the OTLP pipeline's self-metrics
pub(crate) fn unregister_source(source: &Arc<dyn Source>) {
    DYNAMIC
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|s| !Arc::ptr_eq(s, source));
}

/// A registered source, static or shared.
#[derive(Clone)]
pub(crate) enum SourceRef {
    Static(&'static dyn Source),
    Shared(Arc<dyn Source>),
}

impl std::ops::Deref for SourceRef {
    type Target = dyn Source;

    fn deref(&self) -> &(dyn Source + 'static) {
        match self {
            SourceRef::Static(s) => *s,
            SourceRef::Shared(s) => &**s,
        }
    }
}

/// Every registered source, in reading order.
pub(crate) fn registered() -> Vec<SourceRef> {
    let mut statics: Vec<&SourceEntry> = inventory::iter::<SourceEntry>.into_iter().collect();
    // Stable: equal orders keep their registration order.
    statics.sort_by_key(|e| e.order);
    let dynamic = DYNAMIC.read().unwrap_or_else(PoisonError::into_inner);
    statics
        .into_iter()
        .map(|e| SourceRef::Static(e.source))
        .chain(dynamic.iter().cloned().map(SourceRef::Shared))
        .collect()
}
