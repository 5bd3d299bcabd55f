//! The source that exports every declared business metric.

use std::borrow::Cow;

use flext_observability_naming::MetricKind;

use super::family::{Family, Series, Values};
use super::registry::registry;
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::dynamic::OVERFLOW_LABEL;
use crate::model::{FamilyDesc, HistogramValue, Value};

struct BusinessSource;

static BUSINESS_SOURCE: BusinessSource = BusinessSource;

inventory::submit!(SourceEntry::new(20, &BUSINESS_SOURCE));

struct View {
    metrics: Vec<(&'static Family, Vec<&'static Series>)>,
}

impl Source for BusinessSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let metrics = registry()
            .exported
            .iter()
            .map(|&family| (family, family.snapshot()))
            .collect();
        Box::new(View { metrics })
    }

    fn origin(&self) -> &'static str {
        "a `#[business_metric]`"
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        self.metrics
            .iter()
            .map(|(family, _)| {
                let meta = &family.meta;
                FamilyDesc {
                    name: Cow::Borrowed(meta.name),
                    help: Cow::Borrowed(meta.help),
                    kind: meta.kind(),
                    unit: meta.unit.map(Cow::Borrowed),
                }
            })
            .collect()
    }

    fn encode(&self, name: &str, out: &mut dyn Encoder) {
        let Ok(i) = self
            .metrics
            .binary_search_by(|(f, _)| f.meta.name.cmp(name))
        else {
            return;
        };
        let (family, series) = &self.metrics[i];
        let meta = &family.meta;
        let mut labels: Vec<(&str, &str)> = Vec::with_capacity(meta.labels.len());
        for s in series {
            labels.clear();
            if matches!(s.values, Values::Overflow) {
                labels.push((OVERFLOW_LABEL, "true"));
            } else {
                labels.extend(
                    meta.labels
                        .iter()
                        .enumerate()
                        .map(|(i, &label)| (label, s.values.get(i))),
                );
            }
            match meta.kind {
                MetricKind::Counter => out.counter(&labels, Value::Int(s.counter_value())),
                MetricKind::Gauge => out.gauge(&labels, Value::Float(s.gauge_value())),
                MetricKind::Histogram => {
                    let (counts, sum) = s.histogram_snapshot();
                    out.histogram(
                        &labels,
                        &HistogramValue {
                            bounds: meta.bounds,
                            counts: &counts,
                            sum,
                        },
                    );
                }
                MetricKind::Info => out.info(&labels),
            }
        }
    }
}
