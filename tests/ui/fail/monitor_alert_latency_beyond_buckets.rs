use flext_observability::monitor;

// The default buckets end at 10 s: a p99 above 30 s is never measured.
#[monitor(alert(latency_p99 > "30s"))]
fn charge() -> Result<(), String> {
    Ok(())
}

// Declared buckets ending at 1 s: 1 s itself is already out of reach.
#[monitor(buckets = [0.1, 0.5, 1.0], alert(latency_p99 > "1s"))]
fn refund() -> Result<(), String> {
    Ok(())
}

fn main() {}
