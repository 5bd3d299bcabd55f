use flext_observability::monitor;

const API: f64 = 99.9;

#[monitor(objective = API)]
fn load() {}

fn main() {}
