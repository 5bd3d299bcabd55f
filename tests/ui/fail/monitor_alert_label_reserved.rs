use flext_observability::monitor;

#[monitor(alert(error_rate > 0.05, labels(function = "other")))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
