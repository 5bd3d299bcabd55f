use flext_observability::monitor;

struct Repo;

#[monitor]
impl Repo {
    #[monitor(skip, alert(error_rate > 0.05))]
    fn load(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
