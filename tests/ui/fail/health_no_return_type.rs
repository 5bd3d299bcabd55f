use flext_observability::health_check;

#[health_check]
fn database() {}

fn main() {
    database();
}
