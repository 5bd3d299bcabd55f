//! Observability for Rust services and data pipelines, without observability code.
//!
//! Annotate a function with [`#[monitor]`](macro@monitor) and it gets call counts by
//! result, a latency histogram and an in-flight gauge, named as
//! [autometrics](https://github.com/autometrics-dev) names them so existing dashboards and
//! queries work unchanged (autometrics' SLO rules also need its objective labels, which
//! `#[monitor]` does not set yet). [`Observability::builder()`] serves them on `/metrics`.
//!
//! ```
//! use flext_observability::{Observability, monitor};
//!
//! #[derive(Debug)]
//! struct DbError;
//!
//! #[monitor]
//! fn load_orders(customer: u64) -> Result<Vec<u64>, DbError> {
//!     if customer == 0 { Err(DbError) } else { Ok(vec![customer * 10]) }
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Port 0 picks a free port; the default is 127.0.0.1:9464 (FLEXT_OBS_LISTEN).
//!     let guard = Observability::builder()
//!         .service_name("orders")
//!         .listen("127.0.0.1:0")
//!         .install()?;
//!     println!("scrape http://{}/metrics", guard.local_addr().unwrap());
//!
//!     load_orders(7).unwrap();
//!     load_orders(0).unwrap_err();
//!
//!     let text = flext_observability::prometheus::render();
//!     let calls = |result: &str| {
//!         text.lines()
//!             .find(|l| l.starts_with(r#"function_calls_total{function="load_orders""#)
//!                 && l.contains(&format!(r#"result="{result}"}}"#)))
//!             .map(|l| l.rsplit(' ').next().unwrap().to_owned())
//!     };
//!     assert_eq!(calls("ok").as_deref(), Some("1"));
//!     assert_eq!(calls("error").as_deref(), Some("1"));
//!     Ok(())
//! }
//! ```
//!
//! # What you get
//!
//! | series | type | labels |
//! |---|---|---|
//! | `function_calls_total` | counter | `function`, `module`, `result` (`ok`, `error`, `cancelled`), `error="panic"` for panics |
//! | `function_calls_duration_seconds` | histogram | `function`, `module` |
//! | `function_calls_concurrent` | gauge | `function`, `module` |
//! | `build_info` | info | `crate`, `version`, `service_name` |
//!
//! Every series exists, at zero, before the first call. Metrics written with the
//! [`metrics`](https://docs.rs/metrics) crate (`metrics::counter!(…)`) appear in the same
//! exposition once [`install`](ObservabilityBuilder::install) has run.
//!
//! # Health checks
//!
//! [`#[health_check]`](macro@health_check) registers a function that runs in the
//! background, with a timeout, on its own schedule; `/livez`, `/readyz`, `/startupz` and
//! `/health` answer from the latest results at once, and `health_check_*` metrics export
//! them. See the [`health`] module.
//!
//! # Business metrics
//!
//! [`#[business_metric]`](macro@business_metric) declares metrics whose names are checked at
//! compile time, and records into them from any call of a function:
//!
//! ```
//! use flext_observability::{Counter, business_metric};
//!
//! /// Rows written by ETL pipelines.
//! #[business_metric(labels(pipeline, target))]
//! static SYNC_ROWS_WRITTEN_TOTAL: Counter;
//!
//! /// Pipeline runs, by final status.
//! #[business_metric(labels(pipeline, status))]
//! static SYNC_RUNS_TOTAL: Counter;
//!
//! #[derive(Debug)]
//! struct SourceDown;
//!
//! #[business_metric(
//!     SYNC_RUNS_TOTAL { pipeline: "orders", status: outcome }.inc(),
//!     SYNC_ROWS_WRITTEN_TOTAL { pipeline: "orders", target: target }.inc_by(|rows| *rows),
//! )]
//! fn sync_orders(target: &str) -> Result<u64, SourceDown> {
//!     Ok(1200)
//! }
//!
//! fn main() {
//!     sync_orders("warehouse").unwrap();
//!     let text = flext_observability::prometheus::render();
//!     assert!(text.contains(r#"sync_rows_written_total{pipeline="orders",target="warehouse"} 1200"#));
//!     assert!(text.contains(r#"sync_runs_total{pipeline="orders",status="success"} 1"#));
//! }
//! ```
//!
//! [`counter!`], [`gauge!`] and [`histogram!`] check literal names of the `metrics` facade the
//! same way. Batch jobs push everything to a Pushgateway at the end with `push::Pushgateway`
//! (feature `push`).
//!
//! # Spans, OpenTelemetry, logs
//!
//! Every monitored call is also a [`tracing`](https://docs.rs/tracing) span (see
//! [`#[monitor]`](macro@monitor#spans)); with no subscriber interested it costs one atomic
//! load. Cargo features add the consumers, all configured by the builder or the standard
//! environment variables:
//!
//! | feature | what `install()` adds |
//! |---|---|
//! | `logs` | a global `tracing` subscriber writing JSON or text lines (module `logs`; `LOG_LEVEL`, `LOG_FORMAT`) |
//! | `otlp` | `logs`, plus OpenTelemetry: trace ids in log lines and as exemplars, OTLP export of traces and metrics over gRPC or HTTP/protobuf (`OTEL_EXPORTER_OTLP_*`, `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, …), and W3C/B3 propagation (module `propagation`) |
//!
//! OTLP export starts when an endpoint is configured (`otlp_endpoint(..)` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`). Monitored calls never wait for the collector; what
//! it cannot take is dropped and counted in `flext_otlp_dropped_total` on `/metrics`.
//!
//! # Cost
//!
//! A monitored call reads the clock twice (TSC where available) and updates four
//! counters that only the calling thread writes (threads beyond the 31st live one share a
//! shard and add atomically): no lock, hash, allocation or label lookup. See `BENCHMARKS.md` for numbers against autometrics, `tracing`, `metrics` and
//! the `prometheus` crates.
//!
//! # Platform notes
//!
//! Registration uses [`inventory`](https://docs.rs/inventory), which runs before `main` on
//! Linux, macOS, Windows, the BSDs, iOS, Android and WebAssembly with a constructor-aware
//! runtime. On other targets nothing registers: monitored functions still run, but their
//! series are never exported. A crate whose monitored functions you want exported
//! must be linked: a crate that is only a dependency and never referenced is dropped by
//! the linker, together with its registrations (`use that_crate as _;` keeps it).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod business;
mod catalog;
mod clock;
mod collect;
mod config;
mod diag;
mod dynamic;
mod error;
mod facade;
pub mod health;
mod install;
#[cfg(any(feature = "server", feature = "logs"))]
mod json;
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub mod logs;
mod monitor;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(all(feature = "system", target_os = "linux"))]
mod process;
pub mod prometheus;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub mod propagation;
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub mod push;
#[cfg(feature = "server")]
mod server;
#[cfg(not(feature = "server"))]
#[path = "server_off.rs"]
mod server;
mod slot;
mod telemetry;
pub mod trace;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use business::{
    Count, Counter, CounterSeries, Gauge, GaugeSeries, Histogram, HistogramSeries, Info,
    InfoSeries, Measure, MetricKind, MetricMeta, NoLabels,
};
pub use catalog::CatalogIssue;
pub use config::DEFAULT_LISTEN;
pub use error::Error;
pub use install::{Observability, ObservabilityBuilder, ObservabilityGuard};
pub use monitor::Outcome;
#[cfg(feature = "otlp")]
pub use otlp::{OtlpProtocol, Propagation, Sampler};

#[doc = include_str!("../docs/monitor.md")]
pub use flext_observability_macros::monitor;

#[doc = include_str!("../docs/health_check.md")]
pub use flext_observability_macros::health_check;

#[doc = include_str!("../docs/business_metric.md")]
pub use flext_observability_macros::business_metric;

#[doc = include_str!("../docs/series.md")]
pub use flext_observability_macros::series;

#[doc = include_str!("../docs/facade_macros.md")]
pub use flext_observability_macros::{counter, gauge, histogram};

/// Default bucket bounds of duration histograms, in seconds: 10 µs to 10 s, including
/// every threshold autometrics' latency objectives use.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
