// `crate = path` for a re-exported or renamed crate.
#![deny(warnings)]

use flext_observability as obs;

mod reexport {
    pub use ::flext_observability as observability;
}

#[obs::health_check(crate = obs)]
fn renamed() -> bool {
    true
}

#[reexport::observability::health_check(crate = "reexport::observability")]
async fn through_reexport() -> Result<(), String> {
    Ok(())
}

fn main() {
    assert!(renamed());
}
