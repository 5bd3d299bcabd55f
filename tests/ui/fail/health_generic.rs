use flext_observability::health_check;

#[health_check]
fn ping<C: Default>() -> Result<(), String> {
    let _ = C::default();
    Ok(())
}

fn main() {
    let _ = ping::<u8>();
}
