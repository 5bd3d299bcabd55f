use flext_observability::monitor;

struct Repo;

#[monitor]
impl Repo {
    #[monitor(bukets = [0.1])]
    fn get(&self) {}
}

fn main() {}
