//! Observability for Rust services and data pipelines, without observability code.
//!
//! Annotate a function with [`#[monitor]`](macro@monitor) and it gets call counts by
//! result, a latency histogram and an in-flight gauge, named as
//! [autometrics](https://github.com/autometrics-dev) names them so existing dashboards,
//! queries and SLO rules work unchanged ([`objectives`]: `#[monitor(objective = API)]`).
//! [`Observability::builder()`] serves them on `/metrics`; [`artifacts`] writes the
//! Prometheus rules, Alertmanager routing and Grafana dashboards for them.
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
//! | `function_calls_total` | counter | `function`, `module`, `service_name`, `result` (`ok`, `error`, `cancelled`), `error="panic"` for panics; `objective_name`, `objective_percentile` with a success-rate objective |
//! | `function_calls_duration_seconds` | histogram | `function`, `module`, `service_name`; `objective_name`, `objective_percentile`, `objective_latency_threshold` with a latency objective |
//! | `function_calls_concurrent` | gauge | `function`, `module`, `service_name` |
//! | `build_info` | info | `crate`, `version`, `commit`, `branch`, `service_name`, `repository_url`, `repository_provider`, `autometrics_version="1.0.0"` (one series per process) |
//!
//! Every series exists, at zero, before the first call. `service_name` is what
//! [`install`](ObservabilityBuilder::install) resolved (`service_name(..)`, else
//! `AUTOMETRICS_SERVICE_NAME`, else `OTEL_SERVICE_NAME`, …); `commit` and `branch` come
//! from `AUTOMETRICS_COMMIT`/`AUTOMETRICS_BRANCH` (or vergen's `VERGEN_GIT_*`) at build
//! time, overridden by the same variables at run time. Metrics written with the
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
//! # Integrations
//!
//! Each behind its feature, each a module with its own runnable example and every option
//! documented:
//!
//! | feature | module | what it adds |
//! |---|---|---|
//! | `server` (default) | `health`, `prometheus` | `/metrics`, `/livez`, `/readyz`, `/startupz`, `/health` on `127.0.0.1:9464` |
//! | `status` (default) | `status` | `/status` and `/status.json`, a page for a person; panics counted |
//! | `http`, `axum`, `reqwest` | `http` | tower server and client layers per OpenTelemetry's HTTP conventions; axum route templates; a reqwest middleware |
//! | `grpc` | `grpc` | tonic server and client layers per the RPC conventions; `grpc.health.v1.Health` from the health checks |
//! | `sqlx` | `sqlx` | `MonitoredPool`: queries, errors, rows, pool metrics, spans, recent slow queries |
//! | `tokio-metrics` | | the Tokio runtime's metrics (`ObservabilityBuilder::tokio_runtime`) |
//! | `alerts` | `alerts` | declared `alert(..)`s, objectives and health checks evaluated in the process and delivered to Alertmanager |
//! | `push` | `push` | a Pushgateway client for batch jobs |
//! | `remote-write` | `remote_write` | Prometheus remote write to Thanos, Mimir, Cortex, `VictoriaMetrics` |
//! | `system` | | CPU, memory and disk checks, `process_*` metrics |
//!
//! Objectives ([`objectives::Objective`]) and the Prometheus rules, Alertmanager routing and Grafana
//! dashboards generated from them ([`artifacts`]) need no feature.
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

// Layers, bottom to top (ARCHITECTURE.md; `.ci/layers` checks that imports only go
// down). Foundation: no storage, no registry.
mod clock;
mod diag;
mod error;
mod json;
mod model;
pub mod objectives;
mod percent;
#[cfg(feature = "server")]
mod routes;
mod settings;
mod slot;
mod span_ids;
// Storage: what the hot path writes.
mod business;
mod dynamic;
mod exemplar;
mod facade;
mod identity;
mod monitor;
mod recent;
// Catalogue and the read path.
mod catalog;
mod collect;
// Sources and exposition.
mod overflow;
#[cfg(all(feature = "system", target_os = "linux"))]
mod process;
pub mod prometheus;
mod target_info;
// Subsystems and surfaces.
pub mod health;
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub mod logs;
#[cfg(feature = "server")]
mod server;
#[cfg(not(feature = "server"))]
#[path = "server_off.rs"]
mod server;
pub mod trace;
// Generated rules, dashboards and routing, from the catalogue.
pub mod artifacts;
// Start-up: the integration API, the builder, the guard.
mod install;
mod integration;
// Optional capabilities, one folder each.
mod integrations;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

pub use business::{
    Count, Counter, CounterSeries, Gauge, GaugeSeries, Histogram, HistogramSeries, Info,
    InfoSeries, Measure, MetricKind, MetricMeta, NoLabels,
};
pub use error::{Error, StartupIssue};
pub use identity::InstanceId;
pub use install::{DEFAULT_LISTEN, Observability, ObservabilityBuilder, ObservabilityGuard};
#[cfg(feature = "alerts")]
#[cfg_attr(docsrs, doc(cfg(feature = "alerts")))]
pub use integrations::alerts;
#[cfg(feature = "grpc")]
#[cfg_attr(docsrs, doc(cfg(feature = "grpc")))]
pub use integrations::grpc;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use integrations::http;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub use integrations::otlp::{OtlpProtocol, Propagation, Sampler, propagation};
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub use integrations::push;
#[cfg(feature = "remote-write")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-write")))]
pub use integrations::remote_write;
#[cfg(feature = "sqlx")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx")))]
pub use integrations::sqlx;
#[cfg(feature = "status")]
#[cfg_attr(docsrs, doc(cfg(feature = "status")))]
pub use integrations::status;
pub use model::DEFAULT_BUCKETS;

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
