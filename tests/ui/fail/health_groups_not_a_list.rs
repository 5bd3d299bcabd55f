use flext_observability::health_check;

#[health_check(groups = "storage")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
