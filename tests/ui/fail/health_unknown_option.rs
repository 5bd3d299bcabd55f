use flext_observability::health_check;

#[health_check(timout = "1s")]
fn database() -> Result<(), String> {
    Ok(())
}

// The function is kept as written: calling it raises no second error.
fn main() {
    let _ = database();
}
