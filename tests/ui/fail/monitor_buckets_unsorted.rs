use flext_observability::monitor;

#[monitor(buckets = [0.1, 0.5, 0.25, 1.0])]
fn load() {}

fn main() {}
