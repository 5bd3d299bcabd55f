use flext_observability::health_check;

#[health_check]
struct Database;

fn main() {
    let _ = Database;
}
