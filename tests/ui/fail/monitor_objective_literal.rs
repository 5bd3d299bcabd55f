use flext_observability::monitor;

#[monitor(objective = "api")]
fn load() {}

fn main() {}
