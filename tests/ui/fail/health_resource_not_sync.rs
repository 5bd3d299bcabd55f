use std::cell::Cell;

use flext_observability::health_check;

#[health_check]
fn database(pool: &Cell<u32>) -> Result<(), String> {
    let _ = pool;
    Ok(())
}

fn main() {}
