use flext_observability::monitor;

#[monitor(span = "off")]
fn load(id: u64) -> u64 {
    id
}

fn main() {}
