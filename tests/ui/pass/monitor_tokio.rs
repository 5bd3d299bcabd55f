// `#[monitor]` with `#[tokio::main]` and `#[tokio::test]`, in both orders.
#![deny(warnings)]

use flext_observability::monitor;

#[monitor]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Referenced, not called: it would start a runtime inside this one.
    let _ = other_main as fn();
}

#[tokio::main(flavor = "current_thread")]
#[monitor]
async fn other_main() {}

#[monitor]
#[tokio::test]
async fn monitored_test() {}

#[tokio::test]
#[monitor]
async fn monitored_test_inner() {}
