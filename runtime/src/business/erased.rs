//! What `inventory` collects for each declared metric and each validated facade call
//! site: the registrations the catalogue checks.

use super::family::Family;
use super::meta::MetricKind;
use super::storage::StoreRef;

/// A declared business metric, type-erased.
pub trait Metric: Sync {
    #[doc(hidden)]
    fn family(&'static self) -> &'static Family;
    #[doc(hidden)]
    fn inline_store(&'static self) -> Option<StoreRef>;
}

/// What `inventory` collects for each declared business metric.
#[derive(Clone, Copy)]
pub struct BusinessEntry(pub(crate) &'static dyn Metric);

impl BusinessEntry {
    /// Wraps a declared metric for registration.
    pub const fn new(metric: &'static dyn Metric) -> Self {
        BusinessEntry(metric)
    }
}

impl std::fmt::Debug for BusinessEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BusinessEntry")
            .field(&self.0.family().meta.name)
            .finish()
    }
}

inventory::collect!(BusinessEntry);

/// What `inventory` collects for each call site of the validated `counter!`, `gauge!` and
/// `histogram!` macros, so start-up validation sees the names they use.
#[derive(Debug)]
pub struct FacadeEntry {
    pub(crate) name: &'static str,
    pub(crate) kind: MetricKind,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

impl FacadeEntry {
    /// A call site recording `name` as a `kind`.
    pub const fn new(name: &'static str, kind: MetricKind, file: &'static str, line: u32) -> Self {
        FacadeEntry {
            name,
            kind,
            file,
            line,
        }
    }

    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

inventory::collect!(FacadeEntry);
