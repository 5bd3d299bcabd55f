//! Tokio runtime metrics (feature `tokio-metrics`): the application's runtime, read from
//! `Handle::metrics()` whenever metrics are collected. See
//! [`tokio_runtime`](crate::ObservabilityBuilder::tokio_runtime) for the series.
//!
//! Only what stable Tokio exposes is read. The metrics Tokio keeps behind its own
//! `tokio_unstable` cfg (blocking threads, spawned tasks, polls, steals, …) are added
//! when the application is built with `RUSTFLAGS="--cfg tokio_unstable"`, which is what
//! turns them on in Tokio itself; nothing else is needed.

// `tokio_unstable` is Tokio's cfg, set by the application's RUSTFLAGS, not one of ours.
#![allow(unexpected_cfgs)]

mod source;

use ::tokio::runtime::Handle;

use crate::error::Error;
use crate::install::ObservabilityBuilder;
use crate::integration::{IntegrationEntry, Prepared, Running, Setup, Start};

inventory::submit!(IntegrationEntry { order: 31, prepare });

/// The runtime given in code.
#[derive(Debug, Default)]
struct TokioSettings {
    handle: Option<Handle>,
}

impl ObservabilityBuilder {
    /// The Tokio runtime whose metrics are exported (feature `tokio-metrics`). Default:
    /// the runtime `install()` is called in, if any (`#[tokio::main]`); none otherwise.
    ///
    /// | series | type | from Tokio |
    /// |---|---|---|
    /// | `tokio_runtime_workers` | gauge | `num_workers` |
    /// | `tokio_runtime_alive_tasks` | gauge | `num_alive_tasks` |
    /// | `tokio_runtime_global_queue_depth` | gauge | `global_queue_depth` |
    /// | `tokio_runtime_busy_seconds_total` | counter | `worker_total_busy_duration`, summed over workers |
    /// | `tokio_runtime_busy_ratio` | gauge, 0–1 | the busy time over wall time × workers, over the last second or more between two collections |
    /// | `tokio_runtime_parks_total` | counter | `worker_park_count`, summed |
    ///
    /// With `RUSTFLAGS="--cfg tokio_unstable"` (Tokio's own switch for its unstable
    /// metrics): `tokio_runtime_blocking_threads`, `tokio_runtime_idle_blocking_threads`,
    /// `tokio_runtime_blocking_queue_depth` (gauges), `tokio_runtime_spawned_tasks_total`,
    /// `tokio_runtime_remote_schedules_total`, `tokio_runtime_budget_forced_yields_total`,
    /// `tokio_runtime_polls_total`, `tokio_runtime_steals_total` (counters).
    ///
    /// In PromQL the busy share of the workers over any window is
    /// `rate(tokio_runtime_busy_seconds_total[5m]) / tokio_runtime_workers`.
    ///
    /// ```
    /// let runtime = tokio::runtime::Runtime::new().unwrap();
    /// let builder = flext_observability::Observability::builder()
    ///     .tokio_runtime(runtime.handle().clone());
    /// ```
    pub fn tokio_runtime(mut self, handle: Handle) -> Self {
        self.extensions.get_mut::<TokioSettings>().handle = Some(handle);
        self
    }
}

struct Ready(Handle);

#[allow(clippy::unnecessary_wraps)] // the signature every integration's `prepare` has
fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let handle = setup
        .extensions
        .take::<TokioSettings>()
        .handle
        .or_else(|| Handle::try_current().ok());
    Ok(handle.map(|h| Box::new(Ready(h)) as Box<dyn Prepared>))
}

impl Prepared for Ready {
    fn start(self: Box<Self>, _: &mut Start) -> Result<Box<dyn Running>, Error> {
        source::measure(Some(self.0));
        Ok(Box::new(Measuring))
    }
}

/// Measures until the guard is dropped.
#[derive(Debug)]
struct Measuring;

impl Running for Measuring {}

impl Drop for Measuring {
    fn drop(&mut self) {
        source::measure(None);
    }
}
