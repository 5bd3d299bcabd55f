// Generated code only uses absolute paths: shadowing `core`, `std`, the crate name and
// the prelude changes nothing, and user names never clash with generated ones.
#![deny(warnings)]
#![allow(dead_code)]

mod core {}
mod std {}
mod flext_observability {}

use ::flext_observability::health_check;

struct Result;
struct Option;
struct Box;
struct Arc;
struct Duration;

#[health_check]
fn shadowed(resources: &u8, missing: u16) -> ::core::result::Result<(), ::std::string::String> {
    let flext_value = *resources as u16 + missing;
    let _ = flext_value;
    ::core::result::Result::Ok(())
}

#[health_check]
fn flext_resource_0() -> bool {
    true
}

#[no_implicit_prelude]
mod bare {
    #[::flext_observability::health_check(interval = "1s")]
    pub fn in_no_prelude(x: &u32) -> ::core::result::Result<(), ::std::string::String> {
        let _ = x;
        ::core::result::Result::Ok(())
    }

    #[::flext_observability::health_check(kind = liveness)]
    pub async fn async_in_no_prelude() -> bool {
        true
    }
}

fn main() {}
