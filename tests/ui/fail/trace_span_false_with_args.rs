use flext_observability::monitor;

#[monitor(span = false, args)]
fn load(id: u64) -> u64 {
    id
}

fn main() {}
