use flext_observability::monitor;

#[monitor(alert(over = "5m", severity = "page"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
