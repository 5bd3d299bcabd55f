use flext_observability::monitor;

#[monitor(alert(error_rate > 0.05, summary = "{{ $value | humanizePercentage }} fail"))]
fn charge() -> Result<(), String> {
    Ok(())
}

fn main() {}
