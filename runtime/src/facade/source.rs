//! The source that exports what was recorded through the `metrics` facade.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use super::store::FACADE;
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::dynamic::{Cell, Family, OVERFLOW_LABEL};
use crate::model::{FamilyDesc, HistogramValue, Value};

struct FacadeSource;

static FACADE_SOURCE: FacadeSource = FacadeSource;

// Last of the core's sources: what user code records at run time never takes a family
// name from a declared one (built-in, business, an integration's); the merge refuses it,
// naming both, instead.
inventory::submit!(SourceEntry::new(1000, &FACADE_SOURCE));

struct FacadeView {
    families: Vec<Arc<Family>>,
}

impl Source for FacadeSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let families = FACADE
            .families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        Box::new(FacadeView { families })
    }

    fn origin(&self) -> &'static str {
        "the `metrics` facade"
    }
}

impl Snapshot for FacadeView {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        self.families.iter().map(|f| desc(f)).collect()
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        // Families come out of a name-ordered map.
        if let Ok(i) = self
            .families
            .binary_search_by(|f| f.name.as_str().cmp(family))
        {
            encode(&self.families[i], out);
        }
    }
}

fn desc(family: &Family) -> FamilyDesc<'static> {
    FamilyDesc {
        name: Cow::Owned(family.name.clone()),
        help: Cow::Owned(
            family
                .help
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        ),
        kind: family.kind,
        unit: family
            .unit
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .map(Cow::Owned),
    }
}

fn encode(family: &Family, out: &mut dyn Encoder) {
    let series = family.series.read().unwrap_or_else(PoisonError::into_inner);
    let mut scratch: Vec<(&str, &str)> = Vec::new();
    for (labels, cell) in series.iter() {
        scratch.clear();
        scratch.extend(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        encode_cell(out, &scratch, cell);
    }
    if let Some(cell) = family.overflow.get() {
        encode_cell(out, &[(OVERFLOW_LABEL, "true")], cell);
    }
}

fn encode_cell(out: &mut dyn Encoder, labels: &[(&str, &str)], cell: &Cell) {
    match cell {
        Cell::Counter(c) => out.counter(labels, Value::Int(c.load(Ordering::Relaxed))),
        Cell::Gauge(g) => out.gauge(
            labels,
            Value::Float(f64::from_bits(g.load(Ordering::Relaxed))),
        ),
        Cell::Histogram(h) => {
            // On the stack for the usual bucket counts: no allocation per series.
            let mut inline = [0u64; 32];
            let mut heap = Vec::new();
            let counts: &mut [u64] = if h.counts.len() <= inline.len() {
                &mut inline[..h.counts.len()]
            } else {
                heap.resize(h.counts.len(), 0);
                &mut heap
            };
            for (count, cell) in counts.iter_mut().zip(h.counts.iter()) {
                *count = cell.load(Ordering::Relaxed);
            }
            out.histogram(
                labels,
                &HistogramValue {
                    bounds: &h.bounds,
                    counts,
                    sum: f64::from_bits(h.sum.load(Ordering::Relaxed)),
                },
            );
        }
    }
}
