// Inner attributes at the top of a body stay at the top of the function.
#![deny(warnings)]
#![deny(unused_variables)]

use flext_observability::monitor;

#[monitor]
fn free(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    x
}

#[monitor]
async fn asynchronous(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    x
}

struct S;

#[monitor]
impl S {
    fn method(&self) -> u32 {
        #![allow(unused_variables)]
        let unused = 1;
        2
    }
}

fn main() {
    free(1);
    let _ = asynchronous(1);
    S.method();
}
