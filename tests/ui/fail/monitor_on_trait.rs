use flext_observability::monitor;

#[monitor]
trait Store {
    fn get(&self);
}

fn main() {}
