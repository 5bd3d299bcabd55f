use flext_observability::monitor;

#[monitor(name = "a", name = "b")]
fn load() {}

fn main() {}
