use flext_observability::monitor;

#[monitor(alert(below = 0.95))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
