use flext_observability::health_check;

struct Database;

impl Database {
    #[health_check]
    fn ping(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    let _ = Database.ping();
}
