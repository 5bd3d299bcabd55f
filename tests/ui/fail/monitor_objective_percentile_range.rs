use flext_observability::monitor;
use flext_observability::objectives::{Objective, ObjectivePercentile};

const API: Objective = Objective::new("api").success_rate(ObjectivePercentile::custom(100.0));

#[monitor(objective = API)]
fn load() {}

fn main() {}
