use flext_observability::monitor;

#[monitor(nmae = "load")]
fn load() {}

fn main() {}
