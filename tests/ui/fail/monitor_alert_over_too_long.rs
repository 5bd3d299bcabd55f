use flext_observability::monitor;

#[monitor(alert(error_rate > 0.05, over = "721h"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
