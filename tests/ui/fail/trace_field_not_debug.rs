use flext_observability::monitor;

struct Secret;

#[monitor(fields(secret))]
fn load(secret: Secret) -> u64 {
    let _ = secret;
    1
}

fn main() {}
