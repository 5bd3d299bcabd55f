//! Fakes for unit tests of the read path: a source of fixed families and an encoder that
//! records what it is fed.

use std::borrow::Cow;

use super::source::{Encoder, Snapshot, Source};
use crate::model::{FamilyDesc, HistogramValue, Labels, MetricType, Value};

/// One family of a [`Fake`]: its name, type, and one series per `(label, value)`.
type FakeFamily = (&'static str, MetricType, Vec<(&'static str, u64)>);

/// A source of fixed families.
pub(crate) struct Fake(pub(crate) Vec<FakeFamily>);

impl Source for Fake {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(FakeView(self))
    }
}

struct FakeView<'a>(&'a Fake);

impl Snapshot for FakeView<'_> {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        self.0
            .0
            .iter()
            .map(|(name, kind, _)| FamilyDesc {
                name: Cow::Borrowed(name),
                help: Cow::Borrowed("help"),
                kind: *kind,
                unit: None,
            })
            .collect()
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        for (name, kind, series) in &self.0.0 {
            if *name != family {
                continue;
            }
            for &(label, v) in series {
                let labels = [("l", label)];
                match kind {
                    MetricType::Counter => out.counter(&labels, Value::Int(v)),
                    MetricType::Gauge => out.gauge(&labels, Value::Int(v)),
                    MetricType::Info => out.info(&labels),
                    MetricType::Histogram => out.histogram(
                        &labels,
                        &HistogramValue {
                            bounds: &[1.0],
                            counts: &[v, 0],
                            sum: 0.5,
                        },
                    ),
                }
            }
        }
    }
}

/// Records what it is fed, one line per call.
#[derive(Default)]
pub(crate) struct Recorder(pub(crate) Vec<String>);

impl Encoder for Recorder {
    fn family(&mut self, desc: &FamilyDesc<'_>) {
        self.0
            .push(format!("family {} {}", desc.name, desc.kind.as_str()));
    }
    fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.0.push(format!("counter {labels:?} {value:?}"));
    }
    fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.0.push(format!("gauge {labels:?} {value:?}"));
    }
    fn histogram(&mut self, labels: Labels<'_>, value: &HistogramValue<'_>) {
        self.0
            .push(format!("histogram {labels:?} {}", value.count()));
    }
    fn info(&mut self, labels: Labels<'_>) {
        self.0.push(format!("info {labels:?}"));
    }
}
