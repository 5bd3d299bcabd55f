//! Attribute macros of [flext-observability](https://docs.rs/flext-observability).
//!
//! Use them through that crate (`flext_observability::monitor`), which documents every
//! option and holds everything the generated code refers to.

mod duration;
mod errors;
mod monitor;
mod numbers;

use proc_macro::TokenStream;

/// Instruments a function or every method of an impl block. See `flext_observability::monitor`.
#[proc_macro_attribute]
pub fn monitor(args: TokenStream, item: TokenStream) -> TokenStream {
    monitor::expand(args.into(), item.into()).into()
}
