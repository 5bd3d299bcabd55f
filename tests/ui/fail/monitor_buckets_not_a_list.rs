use flext_observability::monitor;

#[monitor(buckets = 0.5)]
fn load() {}

fn main() {}
