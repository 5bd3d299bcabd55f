use flext_observability::health_check;

#[health_check(kind = readyness)]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
