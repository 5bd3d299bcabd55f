// `#[monitor]` with `#[async_trait]`, in every order.
#![deny(warnings)]

use async_trait::async_trait;
use flext_observability::monitor;

#[derive(Debug)]
pub struct E;

#[async_trait]
pub trait Fetch {
    async fn fetch(&self, id: u32) -> Result<u32, E>;
    async fn ping(&self);
}

pub struct A;
pub struct B;
pub struct C;

// `#[monitor]` above `#[async_trait]`: it sees the `async fn`s first.
#[monitor]
#[async_trait]
impl Fetch for A {
    async fn fetch(&self, id: u32) -> Result<u32, E> {
        if id == 0 {
            return Err(E);
        }
        Ok(id)
    }
    async fn ping(&self) {}
}

// `#[async_trait]` above `#[monitor]`: it sees the boxed futures and instruments them.
#[async_trait]
#[monitor]
impl Fetch for B {
    async fn fetch(&self, id: u32) -> Result<u32, E> {
        Ok(id)
    }
    async fn ping(&self) {}
}

// `#[monitor]` on methods inside an `#[async_trait]` impl.
#[async_trait]
impl Fetch for C {
    #[monitor(name = "C::fetch")]
    async fn fetch(&self, id: u32) -> Result<u32, E> {
        Ok(id)
    }
    #[monitor(name = "C::ping")]
    async fn ping(&self) {}
}

fn main() {
    let _ = A.fetch(1);
    let _ = B.fetch(1);
    let _ = C.fetch(1);
    let _ = (A.ping(), B.ping(), C.ping());
}
