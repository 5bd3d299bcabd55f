use std::rc::Rc;

use flext_observability::health_check;

async fn ping() {}

#[health_check]
async fn database() -> Result<(), String> {
    let local = Rc::new(1);
    ping().await;
    let _ = local;
    Ok(())
}

fn main() {}
