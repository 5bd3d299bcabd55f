use flext_observability::monitor;

#[monitor(alert(latency_p99 > "5 parsecs"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
