use flext_observability::monitor;

#[monitor(alert(errors > 0.5))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
