use flext_observability::monitor;

#[monitor(skip(password))]
fn login(user: &str, password: &str) -> bool {
    user.len() == password.len()
}

fn main() {}
