use flext_observability::health_check;

#[health_check]
fn database() -> u32 {
    7
}

fn main() {}
