use flext_observability::monitor;

#[monitor(alert(error_rate > 5))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
