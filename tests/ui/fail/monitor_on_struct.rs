use flext_observability::monitor;

#[monitor]
struct Orders;

fn main() {}
