// A type error in the user's body is reported on the user's code, once.
use flext_observability::monitor;

#[monitor]
fn load() -> Result<u32, String> {
    Ok("not a number")
}

fn main() {}
