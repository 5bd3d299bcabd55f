use flext_observability::monitor;

#[monitor(alert(latency_p99 > 0.5))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
