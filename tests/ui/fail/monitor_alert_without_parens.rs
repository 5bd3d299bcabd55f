use flext_observability::monitor;

#[monitor(alert)]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
