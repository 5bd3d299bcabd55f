//! Business metrics: statics declared with `#[business_metric]`, their series, and the
//! source that exports them.
//!
//! A declaration expands to a `static` of one of the types in [`metric`] (which holds
//! the metric's facts and its series) plus, when it has labels, a label struct of the
//! same name whose fields are the label values. Everything registers with `inventory`;
//! the [`registry`] is built once, on first use, and is what the exporters read.

mod call;
mod check;
mod erased;
mod family;
mod handle;
mod meta;
mod metric;
pub(crate) mod registry;
mod site;
mod source;
mod storage;

pub use call::{CallGuard, OkAny, OkResult, apply};
pub(crate) use check::startup_issues;
pub use erased::{BusinessEntry, FacadeEntry, Metric};
pub(crate) use family::set_default_series_limit;
pub use family::{Family, Series};
pub use handle::{Count, CounterSeries, GaugeSeries, HistogramSeries, Measure};
pub use meta::{MetricKind, MetricMeta};
pub use metric::{Counter, Gauge, Histogram, Info, NoLabels};
pub(crate) use registry::registry;
pub use site::{GaugeStore, InfoSeries, InfoStore, Labels, Site, SiteDyn, SiteEntry, SiteStore};
pub use storage::{CounterShards, HistogramShards, StoreRef};
