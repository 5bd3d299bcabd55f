//! What a source of metrics implements, and what an encoder receives.

use crate::exemplar::Exemplar;
use crate::model::{FamilyDesc, HistogramValue, Labels, Value};

/// Receives one family at a time, then its series.
pub(crate) trait Encoder {
    fn family(&mut self, desc: &FamilyDesc<'_>);
    fn counter(&mut self, labels: Labels<'_>, value: Value);
    fn gauge(&mut self, labels: Labels<'_>, value: Value);
    fn histogram(&mut self, labels: Labels<'_>, value: &HistogramValue<'_>);
    fn info(&mut self, labels: Labels<'_>);
    /// A counter with the exemplar of a recent increment; encoders without exemplar
    /// support write the plain counter.
    fn counter_exemplar(&mut self, labels: Labels<'_>, value: Value, exemplar: Option<&Exemplar>) {
        let _ = exemplar;
        self.counter(labels, value);
    }
    /// A histogram with one optional exemplar per bucket (`bounds.len() + 1` of them).
    fn histogram_exemplars(
        &mut self,
        labels: Labels<'_>,
        value: &HistogramValue<'_>,
        exemplars: &[Option<Exemplar>],
    ) {
        let _ = exemplars;
        self.histogram(labels, value);
    }
}

/// A consistent view of one source, taken once per read.
pub(crate) trait Snapshot {
    /// Every family this snapshot has series for (or declares, at zero).
    fn families(&self) -> Vec<FamilyDesc<'_>>;
    /// Writes this snapshot's series of `family` (its sample name, `x_total`).
    fn encode(&self, family: &str, out: &mut dyn Encoder);
}

/// Something that holds metrics.
pub(crate) trait Source: Send + Sync {
    fn snapshot(&self) -> Box<dyn Snapshot + '_>;

    /// Who writes this source's families, for messages about a name two sources claim
    /// ("the `metrics` facade").
    fn origin(&self) -> &'static str {
        "the runtime"
    }
}
