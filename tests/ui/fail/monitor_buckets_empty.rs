use flext_observability::monitor;

#[monitor(buckets = [])]
fn load() {}

fn main() {}
