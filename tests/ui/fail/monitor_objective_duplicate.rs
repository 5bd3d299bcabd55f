use flext_observability::monitor;
use flext_observability::objectives::{Objective, ObjectivePercentile};

const A: Objective = Objective::new("a").success_rate(ObjectivePercentile::P99);
const B: Objective = Objective::new("b").success_rate(ObjectivePercentile::P99);

#[monitor(objective = A, objective = B)]
fn load() {}

fn main() {}
