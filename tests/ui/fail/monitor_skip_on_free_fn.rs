use flext_observability::monitor;

#[monitor(skip)]
fn load() {}

fn main() {}
