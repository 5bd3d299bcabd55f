use flext_observability::monitor;

#[monitor(alert(error_rate > 0.05), alert(error_rate > 0.5, severity = "page"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
