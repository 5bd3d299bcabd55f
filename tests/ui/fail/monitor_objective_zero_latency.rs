use flext_observability::monitor;
use flext_observability::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};

const API: Objective = Objective::new("api")
    .latency(ObjectiveLatency::from_millis(0), ObjectivePercentile::P99);

#[monitor(objective = API)]
fn load() {}

fn main() {}
