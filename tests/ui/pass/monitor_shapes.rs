// Every shape `#[monitor]` supports on free functions and methods.
#![deny(warnings)]

use flext_observability::monitor;

#[derive(Debug)]
pub struct E;

#[derive(Debug)]
pub struct Wrapped(E);

impl From<E> for Wrapped {
    fn from(e: E) -> Self {
        Wrapped(e)
    }
}

#[monitor]
fn unit() {}

#[monitor]
pub fn with_question_mark(x: Result<u32, E>) -> Result<u32, Wrapped> {
    let v = x?;
    if v == 0 {
        return Ok(1);
    }
    Ok(v)
}

#[monitor]
fn generic<T: Clone + Default, const N: usize>(items: [T; N]) -> Vec<T> {
    items.to_vec()
}

#[monitor]
fn where_clause<T>(t: T) -> T
where
    T: Copy,
{
    t
}

#[monitor]
fn returns_impl_trait(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[monitor]
fn returns_result_impl_trait(n: u32) -> Result<impl Iterator<Item = u32>, E> {
    if n > 10 {
        return Err(E);
    }
    Ok(0..n)
}

#[monitor]
fn impl_trait_arg(x: impl std::fmt::Display) -> String {
    x.to_string()
}

#[monitor]
fn borrows<'a>(s: &'a str, _other: &str) -> &'a str {
    &s[1..]
}

#[monitor]
fn elided(s: &str) -> &str {
    s.trim()
}

#[monitor]
unsafe fn raw_read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[monitor]
fn pattern_args((a, b): (u32, u32), Wrapped(_e): Wrapped) -> u32 {
    a + b
}

#[monitor]
fn mut_arg(mut v: Vec<u32>) -> usize {
    v.push(1);
    v.len()
}

#[monitor]
async fn async_fn(x: u32) -> Result<u32, E> {
    let y = std::future::ready(x).await;
    if y == 0 {
        return Err(E);
    }
    Ok(y)
}

#[monitor]
async fn async_question_mark(x: Result<u32, E>) -> Result<u32, Wrapped> {
    Ok(x?)
}

#[monitor]
async unsafe fn async_unsafe(p: *const u8) -> u8 {
    unsafe { *p }
}

#[monitor]
async fn async_borrow<'a>(s: &'a str) -> &'a str {
    s
}

#[monitor]
#[inline]
#[must_use]
/// Attributes and docs are kept.
fn keeps_attributes() -> u8 {
    1
}

#[monitor]
fn never_returns() -> ! {
    loop {}
}

#[monitor]
fn returns_option() -> Option<u8> {
    None
}

pub struct Counter {
    value: u64,
    name: String,
}

impl Counter {
    #[monitor]
    pub fn new() -> Self {
        Counter {
            value: 0,
            name: String::new(),
        }
    }

    #[monitor(name = "Counter::bump")]
    fn bump(&mut self) -> &mut u64 {
        self.value += 1;
        &mut self.value
    }

    #[monitor(name = "Counter::name")]
    fn name(&self) -> &str {
        &self.name
    }

    #[monitor(name = "Counter::into_name")]
    fn into_name(self) -> String {
        self.name
    }

    #[monitor(name = "Counter::boxed")]
    fn boxed(self: Box<Self>) -> u64 {
        self.value
    }

    #[monitor(name = "Counter::async_bump")]
    async fn async_bump(&mut self) -> &mut u64 {
        self.value += 1;
        &mut self.value
    }
}

pub trait Store {
    fn get(&self, key: u32) -> Result<u32, E>;
    fn describe(&self) -> String {
        String::new()
    }
    fn async_get(&self) -> impl Future<Output = u32> + Send;
}

impl Store for Counter {
    #[monitor(name = "Counter::get")]
    fn get(&self, key: u32) -> Result<u32, E> {
        if key == 0 { Err(E) } else { Ok(key) }
    }

    #[monitor(name = "<Counter as Store>::async_get")]
    async fn async_get(&self) -> u32 {
        1
    }
}

fn main() {
    unit();
    let _ = with_question_mark(Ok(1));
    let _ = generic::<u8, 2>([1, 2]);
    let _ = where_clause(1u8);
    let _ = returns_impl_trait(3).count();
    let _ = returns_result_impl_trait(3).map(Iterator::count);
    let _ = impl_trait_arg(1);
    let _ = borrows("ab", "c");
    let _ = elided(" a ");
    let _ = unsafe { raw_read(&1) };
    let _ = pattern_args((1, 2), Wrapped(E));
    let _ = mut_arg(vec![]);
    let _ = async_fn(1);
    let _ = async_question_mark(Ok(1));
    let _ = unsafe { async_unsafe(&1) };
    let _ = async_borrow("x");
    let _ = keeps_attributes();
    let _ = never_returns as fn() -> !;
    let _ = returns_option();
    let mut c = Counter::new();
    *c.bump() += 1;
    let _ = c.name();
    let _ = c.get(1);
    let _ = c.describe();
    let _ = c.async_get();
    let _ = c.async_bump();
    let _ = Box::new(Counter::new()).boxed();
    let _ = c.into_name();
}
