//! The server's self-metric: connections it closed to stay within its cap.
//!
//! `flext_observability_server_connections_closed_total{reason}` — `evicted`: an idle
//! or slow connection closed to make room for a new one; `refused`: a new connection
//! closed at once because every held one was serving a request. Shown once either is
//! above zero.

use std::sync::atomic::Ordering;

use super::connections::{EVICTED, REFUSED};
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};

const CLOSED: &str = "flext_observability_server_connections_closed_total";

struct ServerSource;

static SERVER_SOURCE: ServerSource = ServerSource;

inventory::submit!(SourceEntry::new(50, &SERVER_SOURCE));

struct View {
    evicted: u64,
    refused: u64,
}

impl Source for ServerSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        Box::new(View {
            evicted: EVICTED.load(Ordering::Relaxed),
            refused: REFUSED.load(Ordering::Relaxed),
        })
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        if self.evicted == 0 && self.refused == 0 {
            return Vec::new();
        }
        vec![FamilyDesc::fixed(
            CLOSED,
            "Connections the embedded server closed to stay within its connection cap: \
             evicted (idle or slow, to make room) or refused (every held one was busy).",
            MetricType::Counter,
            None,
        )]
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        if family == CLOSED {
            out.counter(&[("reason", "evicted")], Value::Int(self.evicted));
            out.counter(&[("reason", "refused")], Value::Int(self.refused));
        }
    }
}
