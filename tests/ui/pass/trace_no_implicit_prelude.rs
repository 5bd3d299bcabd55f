//! Span expansion uses absolute paths only.

#![deny(warnings)]
#![no_implicit_prelude]

#[::flext_observability::monitor(args, fields(k = 1), level = "info")]
fn traced(x: u32) -> ::core::result::Result<u32, ::std::string::String> {
    ::core::result::Result::Ok(x)
}

fn main() {
    let _ = traced(1);
}
