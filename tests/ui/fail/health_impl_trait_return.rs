use flext_observability::health_check;

#[health_check]
fn database() -> impl Future<Output = Result<(), String>> {
    async { Ok(()) }
}

fn main() {
    let _ = database();
}
