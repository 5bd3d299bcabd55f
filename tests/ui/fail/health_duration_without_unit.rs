use flext_observability::health_check;

// `HEALTH_CHECK_INTERVAL=30` means seconds; in an attribute the unit is required.
#[health_check(interval = "30")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
