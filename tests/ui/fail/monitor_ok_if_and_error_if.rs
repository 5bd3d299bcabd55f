use flext_observability::monitor;

#[monitor(ok_if = Option::is_some, error_if = Option::is_none)]
fn load() -> Option<u8> {
    None
}

fn main() {}
