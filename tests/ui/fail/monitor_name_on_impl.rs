use flext_observability::monitor;

struct Repo;

#[monitor(name = "repo")]
impl Repo {
    fn get(&self) {}
}

fn main() {}
