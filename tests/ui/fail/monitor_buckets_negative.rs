use flext_observability::monitor;

#[monitor(buckets = [-0.5, 0.1])]
fn load() {}

fn main() {}
