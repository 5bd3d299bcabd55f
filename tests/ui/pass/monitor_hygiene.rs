// Generated code only uses absolute paths: shadowing `core`, `std`, the crate name and
// the prelude changes nothing, and user names never clash with generated ones.
#![deny(warnings)]
#![allow(dead_code)]

mod core {}
mod std {}
mod flext_observability {}

use ::flext_observability::monitor;

#[derive(Debug)]
struct Result;
#[derive(Debug)]
struct Option;
struct Box;

#[monitor]
fn shadowed_names(flext_guard: u32, flext_ret: u32) -> u32 {
    // Spelled like the call-site static the macro generates, to prove the two never meet.
    #[allow(non_snake_case)]
    let FLEXT_OBSERVABILITY_SITE = flext_guard + flext_ret;
    FLEXT_OBSERVABILITY_SITE
}

#[no_implicit_prelude]
mod bare {
    #[::flext_observability::monitor]
    pub fn in_no_prelude(x: u32) -> ::core::result::Result<u32, ()> {
        ::core::result::Result::Ok(x)
    }

    #[::flext_observability::monitor]
    pub async fn async_in_no_prelude(x: u32) -> u32 {
        x
    }

    pub struct S;

    #[::flext_observability::monitor]
    impl S {
        pub fn method(&self) -> ::core::option::Option<u8> {
            ::core::option::Option::None
        }
    }
}

fn main() {
    let _ = shadowed_names(1, 2);
    let _ = bare::in_no_prelude(1);
    let _ = bare::async_in_no_prelude(1);
    let _ = bare::S.method();
}
