use flext_observability::health_check;

struct Pool;

#[health_check]
fn database(pool: &mut Pool) -> Result<(), String> {
    let _ = pool;
    Ok(())
}

fn main() {}
