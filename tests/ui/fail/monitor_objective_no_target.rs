use flext_observability::monitor;
use flext_observability::objectives::Objective;

const API: Objective = Objective::new("api");

#[monitor(objective = API)]
fn load() {}

fn main() {}
