//! Attribute macros of [flext-observability](https://docs.rs/flext-observability).
//!
//! Use them through that crate (`flext_observability::monitor`), which documents every
//! option and holds everything the generated code refers to.

mod alert;
mod attr;
mod business;
mod duration;
mod errors;
mod function;
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

/// Declares a business metric, or records into declared ones from a function's calls.
/// See `flext_observability::business_metric`.
#[proc_macro_attribute]
pub fn business_metric(args: TokenStream, item: TokenStream) -> TokenStream {
    business::expand(args.into(), item.into()).into()
}

/// The series of a call site with literal label values. See `flext_observability::series`.
#[proc_macro]
pub fn series(input: TokenStream) -> TokenStream {
    business::series(input.into()).into()
}

/// `metrics::counter!` with the name checked at compile time. See `flext_observability::counter`.
#[proc_macro]
pub fn counter(input: TokenStream) -> TokenStream {
    business::facade(
        flext_observability_naming::MetricKind::Counter,
        input.into(),
    )
    .into()
}

/// `metrics::gauge!` with the name checked at compile time. See `flext_observability::gauge`.
#[proc_macro]
pub fn gauge(input: TokenStream) -> TokenStream {
    business::facade(flext_observability_naming::MetricKind::Gauge, input.into()).into()
}

/// `metrics::histogram!` with the name checked at compile time. See `flext_observability::histogram`.
#[proc_macro]
pub fn histogram(input: TokenStream) -> TokenStream {
    business::facade(
        flext_observability_naming::MetricKind::Histogram,
        input.into(),
    )
    .into()
}
