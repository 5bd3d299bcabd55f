use flext_observability::monitor;

#[monitor(alert(name = "charge-card errors", error_rate > 0.05))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
