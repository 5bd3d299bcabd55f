use flext_observability::monitor;

struct Repo;

#[monitor(fields(table = "orders"))]
impl Repo {
    fn get(&self, id: u64) -> u64 {
        id
    }
}

fn main() {}
