//! The catalogue of business metrics: every declaration, with the first of each name
//! exported.

use std::sync::OnceLock;

use super::erased::{BusinessEntry, Metric};
use super::family::Family;
use super::site::SiteEntry;

pub(crate) struct Registry {
    /// Every declaration, by (name, file, line).
    pub(crate) declared: Vec<&'static Family>,
    /// The first declaration of every name: what is exported.
    pub(crate) exported: Vec<&'static Family>,
}

/// Built once, on first use: registrations are complete before `main` runs.
pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut declared: Vec<(&'static dyn Metric, &'static Family)> =
            inventory::iter::<BusinessEntry>
                .into_iter()
                .map(|e| (e.0, e.0.family()))
                .collect();
        declared.sort_by(|(_, a), (_, b)| {
            (a.meta.name, a.meta.file, a.meta.line).cmp(&(b.meta.name, b.meta.file, b.meta.line))
        });
        let mut exported: Vec<&'static Family> = Vec::with_capacity(declared.len());
        for &(metric, family) in &declared {
            if exported
                .last()
                .is_some_and(|f| f.meta.name == family.meta.name)
            {
                continue;
            }
            // A label-less metric has exactly one series, at zero from the start.
            if family.meta.labels.is_empty() {
                family.attach(&[], metric.inline_store().map(|s| s.0));
            }
            exported.push(family);
        }
        for site in inventory::iter::<SiteEntry> {
            site.0.attach_at_startup();
        }
        Registry {
            declared: declared.into_iter().map(|(_, f)| f).collect(),
            exported,
        }
    })
}
