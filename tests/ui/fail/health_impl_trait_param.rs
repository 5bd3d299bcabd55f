use flext_observability::health_check;

#[health_check]
fn database(pool: impl std::fmt::Debug) -> Result<(), String> {
    let _ = pool;
    Ok(())
}

fn main() {}
