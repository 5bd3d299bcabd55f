use flext_observability::monitor;

#[monitor(level = "loud")]
fn load(id: u64) -> u64 {
    id
}

fn main() {}
