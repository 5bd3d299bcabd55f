//! Every span option of `#[monitor]` compiles, on fns, async fns and impl blocks.
#![deny(warnings)]


use flext_observability::monitor;

#[derive(Debug)]
struct Card {
    last4: u16,
}

#[monitor(level = "debug")]
fn debug_level() {}

#[monitor(level = "TRACE", name = "renamed")]
fn trace_level() {}

#[monitor(span = false)]
fn no_span() -> u8 {
    1
}

#[monitor(span = true)]
fn explicit_span() {}

#[monitor(args)]
fn all_args(user: &str, count: u32, card: &Card) -> usize {
    user.len() + count as usize + card.last4 as usize
}

#[monitor(args, skip(password, card))]
fn some_args(user: &str, password: &str, card: Card) -> bool {
    !user.is_empty() && !password.is_empty() && card.last4 > 0
}

#[monitor(fields(user, %count, ?card, order.kind = "retail", total = count * 2, shown = %user.len()))]
fn chosen_fields(user: &str, count: u32, card: Card) -> u32 {
    count + u32::from(card.last4) + user.len() as u32
}

#[monitor(args, fields(extra = 1))]
async fn async_args(id: u64, (a, b): (u8, u8)) -> Result<u64, String> {
    Ok(id + u64::from(a) + u64::from(b))
}

struct Repo;

#[monitor(level = "warn", args)]
impl Repo {
    fn get(&self, id: u64) -> u64 {
        id
    }

    #[monitor(skip(secret))]
    fn put(&self, id: u64, secret: &str) -> usize {
        secret.len() + id as usize
    }

    #[monitor(span = false)]
    fn quiet(&self) {}

    #[monitor(skip)]
    fn untouched(&self) {}
}

fn main() {
    debug_level();
    trace_level();
    let _ = no_span();
    explicit_span();
    let _ = all_args("a", 1, &Card { last4: 1 });
    let _ = some_args("a", "b", Card { last4: 2 });
    let _ = chosen_fields("a", 2, Card { last4: 3 });
    let _ = async_args(1, (2, 3));
    let repo = Repo;
    let _ = repo.get(1);
    let _ = repo.put(1, "x");
    repo.quiet();
    repo.untouched();
}
