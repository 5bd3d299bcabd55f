// `#[monitor]` on whole impl blocks: every method, per-method options and opt-out.
#![deny(warnings)]

use flext_observability::monitor;

#[derive(Debug)]
pub struct NotFound;

pub struct Repo<T> {
    items: Vec<T>,
}

#[monitor]
impl<T: Clone> Repo<T> {
    pub fn new() -> Self {
        Repo { items: Vec::new() }
    }

    pub fn get(&self, i: usize) -> Result<T, NotFound> {
        self.items.get(i).cloned().ok_or(NotFound)
    }

    #[monitor(buckets = [0.001, 0.01, 0.1])]
    pub fn push(&mut self, item: T) {
        self.items.push(item);
    }

    #[monitor(skip)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    // `const fn` cannot read a clock: an impl-level `#[monitor]` leaves it alone.
    pub const fn capacity_hint() -> usize {
        16
    }

    pub async fn load(&self) -> Option<T> {
        self.items.first().cloned()
    }

    pub const LIMIT: usize = 10;
}

pub trait Named {
    fn name(&self) -> String;
}

#[monitor(error_if = |name: &String| name.is_empty())]
impl<T> Named for Repo<T> {
    fn name(&self) -> String {
        "repo".into()
    }
}

fn main() {
    let mut repo = Repo::new();
    repo.push(1u8);
    let _ = repo.get(0);
    let _ = repo.len();
    let _ = Repo::<u8>::capacity_hint();
    let _ = repo.load();
    let _ = repo.name();
    let _ = Repo::<u8>::LIMIT;
}
