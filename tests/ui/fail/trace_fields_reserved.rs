use flext_observability::monitor;

#[monitor(fields(code.function = "other"))]
fn load(id: u64) -> u64 {
    id
}

fn main() {}
