//! The families `#[monitor]` writes, in autometrics' names: other parts check their own
//! names against these (a business metric may not take one) or translate them (OTLP).

pub(crate) const CALLS: &str = "function_calls_total";
pub(crate) const DURATION: &str = "function_calls_duration_seconds";
pub(crate) const CONCURRENT: &str = "function_calls_concurrent";
pub(crate) const BUILD_INFO: &str = "build_info";
