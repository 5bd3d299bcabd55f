use flext_observability::monitor;

#[monitor(alert(error_rate > 0.05, over = "5m", over = "1m"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
