use flext_observability::monitor;
use flext_observability::objectives::{Objective, ObjectivePercentile};

const API: Objective = Objective::new("api/v1").success_rate(ObjectivePercentile::P99);

#[monitor(objective = API)]
fn load() {}

fn main() {}
