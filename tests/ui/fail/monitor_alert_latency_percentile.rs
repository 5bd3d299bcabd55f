use flext_observability::monitor;

#[monitor(alert(latency_p9 > "1s"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
