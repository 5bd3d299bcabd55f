use flext_observability::health_check;

#[health_check]
unsafe fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
