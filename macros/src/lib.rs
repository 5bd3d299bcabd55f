//! Attribute macros of [flext-observability](https://docs.rs/flext-observability).
//!
//! Use them through that crate (`flext_observability::monitor`), which documents every
//! option and holds everything the generated code refers to.

mod duration;
mod errors;
mod health_check;
mod monitor;
mod numbers;

use proc_macro::TokenStream;

/// Instruments a function or every method of an impl block. See `flext_observability::monitor`.
#[proc_macro_attribute]
pub fn monitor(args: TokenStream, item: TokenStream) -> TokenStream {
    monitor::expand(args.into(), item.into()).into()
}

/// Registers a function as a health check run in the background. See
/// `flext_observability::health_check`.
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    health_check::expand(args.into(), item.into()).into()
}
