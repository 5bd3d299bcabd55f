use flext_observability::health_check;

#[health_check(timeout = "5s", interval = "1s")]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
