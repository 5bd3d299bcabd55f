use flext_observability::monitor;

#[monitor(args, skip(passwd))]
fn login(user: &str, password: &str) -> bool {
    user.len() == password.len()
}

fn main() {}
