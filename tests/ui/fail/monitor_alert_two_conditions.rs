use flext_observability::monitor;

#[monitor(alert(error_rate > 0.05, errors > 3))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
