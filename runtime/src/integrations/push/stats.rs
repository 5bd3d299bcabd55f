//! The push client's self-metric: pushes that failed, by why.
//!
//! `flext_observability_push_failures_total{reason}` — `unreachable` (no answer within
//! the deadline, connection refused or reset), `rejected` (the gateway answered an
//! error). Shown once either is above zero, so a process that pushes again (or is also
//! scraped) says how many pushes were lost.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};

const FAILURES: &str = "flext_observability_push_failures_total";

pub(super) static UNREACHABLE: AtomicU64 = AtomicU64::new(0);
pub(super) static REJECTED: AtomicU64 = AtomicU64::new(0);

struct PushSource;

static PUSH_SOURCE: PushSource = PushSource;

inventory::submit!(SourceEntry::new(120, &PUSH_SOURCE));

struct View {
    unreachable: u64,
    rejected: u64,
}

impl Source for PushSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(View {
            unreachable: UNREACHABLE.load(Ordering::Relaxed),
            rejected: REJECTED.load(Ordering::Relaxed),
        })
    }

    fn origin(&self) -> &'static str {
        "the Pushgateway client"
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        if self.unreachable == 0 && self.rejected == 0 {
            return Vec::new();
        }
        vec![FamilyDesc::fixed(
            FAILURES,
            "Pushes to a Pushgateway that failed: unreachable (no answer within the deadline, refused, reset) or rejected (an error status).",
            MetricType::Counter,
            None,
        )]
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        if family == FAILURES {
            out.counter(&[("reason", "rejected")], Value::Int(self.rejected));
            out.counter(&[("reason", "unreachable")], Value::Int(self.unreachable));
        }
    }
}
