//! The self-metrics of what the runtime's bounds turned away, per metric, from every
//! storage whose series come from run-time values (business metrics and the `metrics`
//! facade): one source, so each family has one writer.
//!
//! | family | counts |
//! |---|---|
//! | `flext_observability_series_overflows_total{metric}` | measurements with new label values routed to the overflow series because the metric reached its series limit |
//! | `flext_observability_observations_refused_total{metric,reason="negative"}` | negative observations refused by a histogram whose buckets are all non-negative |
//!
//! Each family is shown once one of its counts is above zero.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use crate::business::registry;
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::dynamic::Family;
use crate::facade::store::FACADE;
use crate::model::{FamilyDesc, MetricType, Value};

/// Self-metric: registrations of new series refused, per metric, because of its limit.
pub(crate) const OVERFLOWS: &str = "flext_observability_series_overflows_total";
/// Self-metric: observations a histogram refused, per metric and reason.
pub(crate) const REFUSED: &str = "flext_observability_observations_refused_total";

struct OverflowSource;

static OVERFLOW_SOURCE: OverflowSource = OverflowSource;

inventory::submit!(SourceEntry::new(60, &OVERFLOW_SOURCE));

/// `(metric, overflowed, refused)`, in metric name order.
struct View(Vec<(String, u64, u64)>);

impl Source for OverflowSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let mut counts: Vec<(String, u64, u64)> = registry()
            .exported
            .iter()
            .map(|f| {
                (
                    f.meta.name.to_owned(),
                    f.overflowed.load(Ordering::Relaxed),
                    f.refused.load(Ordering::Relaxed),
                )
            })
            .filter(|&(_, o, r)| o > 0 || r > 0)
            .collect();
        let facade: Vec<Arc<Family>> = FACADE
            .families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        counts.extend(
            facade
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        f.overflowed.load(Ordering::Relaxed),
                        f.refused.count.load(Ordering::Relaxed),
                    )
                })
                .filter(|&(_, o, r)| o > 0 || r > 0),
        );
        counts.sort();
        Box::new(View(counts))
    }

    fn origin(&self) -> &'static str {
        "the runtime's self-metrics"
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out = Vec::new();
        if self.0.iter().any(|c| c.1 > 0) {
            out.push(FamilyDesc::fixed(
                OVERFLOWS,
                "Times a new label set was routed to the overflow series because its metric reached its series limit.",
                MetricType::Counter,
                None,
            ));
        }
        if self.0.iter().any(|c| c.2 > 0) {
            out.push(FamilyDesc::fixed(
                REFUSED,
                "Observations a histogram refused: negative values into buckets that are all non-negative.",
                MetricType::Counter,
                None,
            ));
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        for (metric, overflowed, refused) in &self.0 {
            if family == OVERFLOWS && *overflowed > 0 {
                out.counter(&[("metric", metric)], Value::Int(*overflowed));
            } else if family == REFUSED && *refused > 0 {
                out.counter(
                    &[("metric", metric), ("reason", "negative")],
                    Value::Int(*refused),
                );
            }
        }
    }
}
