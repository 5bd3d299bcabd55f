//! The self-metric of series limits: how many measurements each capped metric routed
//! to its overflow series. Written by every source whose series come from run-time
//! label values.

use crate::collect::Encoder;
use crate::model::{FamilyDesc, MetricType, Value};

/// Self-metric: registrations of new series refused, per metric, because of its limit.
pub(crate) const OVERFLOWS: &str = "flext_observability_series_overflows_total";

/// The family of [`OVERFLOWS`], when any metric of a source overflowed.
pub(crate) fn overflows_desc(any: bool) -> Option<FamilyDesc<'static>> {
    any.then(|| {
        FamilyDesc::fixed(
            OVERFLOWS,
            "Times a new label set was routed to the overflow series because its metric reached its series limit.",
            MetricType::Counter,
            None,
        )
    })
}

/// The series of [`OVERFLOWS`]: `(metric, refused)` pairs, zeros left out.
pub(crate) fn encode_overflows<'a>(
    counts: impl Iterator<Item = (&'a str, u64)>,
    out: &mut dyn Encoder,
) {
    for (metric, refused) in counts.filter(|&(_, n)| n > 0) {
        out.counter(&[("metric", metric)], Value::Int(refused));
    }
}
