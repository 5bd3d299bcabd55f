//! Rendering 1,000 `#[monitor]` functions (the static path): each function has
//! `function_calls_total` (4 result series), an 11-bucket duration histogram and an
//! in-flight gauge, stored in its own static and found through `inventory`.

use flext_observability::Observability;
use flext_observability::prometheus::{render, render_openmetrics};
use flext_observability_bench_core::{bench_render, settle, work};

macro_rules! leaf {
    ($($m:ident)*) => {$(
        pub mod $m {
            #[flext_observability::monitor(buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])]
            pub fn handler(x: u64) -> u64 {
                flext_observability_bench_core::work(x)
            }
        }
    )*};
}

macro_rules! middle {
    ($($m:ident)*) => {$(
        pub mod $m {
            leaf!(c0 c1 c2 c3 c4 c5 c6 c7 c8 c9);
            pub fn call_all(x: u64) -> u64 {
                c0::handler(x) ^ c1::handler(x) ^ c2::handler(x) ^ c3::handler(x) ^ c4::handler(x)
                    ^ c5::handler(x) ^ c6::handler(x) ^ c7::handler(x) ^ c8::handler(x) ^ c9::handler(x)
            }
        }
    )*};
}

macro_rules! top {
    ($($m:ident)*) => {$(
        pub mod $m {
            middle!(b0 b1 b2 b3 b4 b5 b6 b7 b8 b9);
            pub fn call_all(x: u64) -> u64 {
                b0::call_all(x) ^ b1::call_all(x) ^ b2::call_all(x) ^ b3::call_all(x) ^ b4::call_all(x)
                    ^ b5::call_all(x) ^ b6::call_all(x) ^ b7::call_all(x) ^ b8::call_all(x) ^ b9::call_all(x)
            }
        }
    )*};
}

top!(a0 a1 a2 a3 a4 a5 a6 a7 a8 a9);

fn main() {
    let _guard = Observability::builder()
        .without_server()
        .install()
        .expect("install flext-observability");
    let mut acc = 0;
    for x in 0..3 {
        acc ^= a0::call_all(x)
            ^ a1::call_all(x)
            ^ a2::call_all(x)
            ^ a3::call_all(x)
            ^ a4::call_all(x)
            ^ a5::call_all(x)
            ^ a6::call_all(x)
            ^ a7::call_all(x)
            ^ a8::call_all(x)
            ^ a9::call_all(x);
    }
    std::hint::black_box((acc, work(0)));
    let text = render();
    let functions = text
        .lines()
        .filter(|l| l.starts_with("function_calls_concurrent{"))
        .count();
    assert_eq!(functions, 1000, "expected 1000 monitored functions");
    settle();
    bench_render(
        "flext-observability, 1k #[monitor] fns (text 0.0.4)",
        1000,
        || render().len(),
    );
    bench_render(
        "flext-observability, 1k #[monitor] fns (OpenMetrics)",
        1000,
        || render_openmetrics().len(),
    );
}
