//! One read path for every exporter.
//!
//! Each [`Source`] (monitored functions, the `metrics` facade, health, business metrics,
//! an integration's own series) takes one consistent [`Snapshot`] per read. [`collect`]
//! merges the families of all snapshots by name, so every family is written once,
//! contiguously, in name order, whatever the number of sources that contribute series to
//! it. The Prometheus text, OpenMetrics, OTLP and remote-write encoders all consume the
//! same [`Encoder`] calls.
//!
//! Sources register themselves ([`SourceEntry`] through `inventory`, or
//! [`register_source`] at run time); this module names none of them.

mod merge;
mod registry;
mod source;
#[cfg(test)]
pub(crate) mod testing;

pub(crate) use merge::collect;
pub(crate) use registry::{SourceEntry, registered};
#[cfg_attr(not(feature = "otlp"), allow(unused_imports))] // the OTLP pipeline's self-metrics
pub(crate) use registry::{register_source, unregister_source};
pub(crate) use source::{Encoder, Snapshot, Source};

/// Every registered source, merged, into `out`; the names of the families written.
pub(crate) fn collect_registered(
    keep: &dyn Fn(&str) -> bool,
    out: &mut dyn Encoder,
) -> Vec<String> {
    let sources = registered();
    collect(&sources, keep, out)
}
