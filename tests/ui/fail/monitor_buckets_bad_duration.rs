use flext_observability::monitor;

#[monitor(buckets = ["1ms", "10 parsecs"])]
fn load() {}

fn main() {}
