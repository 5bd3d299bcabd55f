use flext_observability::monitor;

#[monitor]
const fn answer() -> u32 {
    42
}

fn main() {}
