use flext_observability::monitor;

#[monitor(buckets = [0.1, f64::NAN])]
fn load() {}

fn main() {}
