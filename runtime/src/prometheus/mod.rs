//! Prometheus exposition: text format 0.0.4 and OpenMetrics 1.0.
//!
//! Both render everything registered — monitored functions, metrics recorded through the
//! `metrics` facade, and every other source — with one contiguous group per family,
//! families in name order and series in label order, so the output is deterministic.
//!
//! ```
//! #[flext_observability::monitor]
//! fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
//!     input.parse()
//! }
//!
//! parse("42").unwrap();
//! let text = flext_observability::prometheus::render();
//! assert!(text.contains(r#"function_calls_total{function="parse","#));
//! let om = flext_observability::prometheus::render_openmetrics();
//! assert!(om.ends_with("# EOF\n"));
//! ```

pub(crate) mod format;
mod render;
#[cfg(feature = "server")]
mod route;
mod text;

#[cfg_attr(not(feature = "push"), allow(unused_imports))] // the Pushgateway's chosen metrics
pub(crate) use render::render_filtered;
pub use render::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, render, render_openmetrics};
#[cfg(all(test, feature = "remote-write"))]
// remote write's tests compare with the text format
pub(crate) use text::TextEncoder;
