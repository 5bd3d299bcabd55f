use flext_observability::health_check;

#[health_check(critical, interval = "5s", critical)]
fn database() -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = database();
}
