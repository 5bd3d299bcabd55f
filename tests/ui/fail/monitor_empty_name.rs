use flext_observability::monitor;

#[monitor(name = "")]
fn load() {}

fn main() {}
