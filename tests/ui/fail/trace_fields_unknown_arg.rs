use flext_observability::monitor;

#[monitor(fields(customer))]
fn load(id: u64) -> u64 {
    id
}

fn main() {}
