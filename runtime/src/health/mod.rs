//! Health checks: what [`#[health_check]`](macro@crate::health_check) functions return,
//! and the snapshot every surface reads.
//!
//! Checks run in the background, on their own thread and Tokio runtime, each on its own
//! schedule; every run updates one immutable [`HealthSnapshot`]. The HTTP probes
//! (`/livez`, `/readyz`, `/startupz`, `/health`), the metrics and your own code
//! ([`snapshot`]) read that snapshot: nothing runs on a probe request, so probes answer
//! in microseconds whatever the checks do.
//!
//! ```standalone_crate
//! use std::time::Duration;
//! use flext_observability::health::{self, Probe, Status};
//! use flext_observability::{Observability, health_check};
//!
//! #[health_check(critical, interval = "1s", timeout = "200ms")]
//! async fn queue() -> Result<(), String> {
//!     Ok(())
//! }
//!
//! let guard = Observability::builder()
//!     .without_server()
//!     .system_checks(false) // only `queue`, whatever the feature set
//!     .install()
//!     .unwrap();
//! // The first run starts at once; wait for its result.
//! let deadline = std::time::Instant::now() + Duration::from_secs(10);
//! while health::snapshot().unwrap().status(Probe::Readiness) == Status::Unhealthy {
//!     assert!(std::time::Instant::now() < deadline);
//!     std::thread::sleep(Duration::from_millis(10));
//! }
//! let snapshot = health::snapshot().unwrap();
//! assert_eq!(snapshot.status(Probe::Readiness), Status::Healthy);
//! assert_eq!(snapshot.check("queue").unwrap().status(), Status::Healthy);
//! # drop(guard);
//! ```

// Without the embedded server, the probe side (verdicts, JSON) has no caller.
#![cfg_attr(not(feature = "server"), allow(dead_code))]

#[cfg(feature = "system")]
mod cgroup;
#[cfg(feature = "server")]
pub(crate) mod http;

pub(crate) mod metrics;
mod model;
pub(crate) mod registry;
mod report;
mod runner;
mod settings;
mod state;
#[cfg(feature = "system")]
mod system;

use std::time::Duration;

pub use report::{HealthReport, IntoHealth, Kind, Probe, Status};
pub use state::{CheckState, HealthSnapshot, snapshot};

pub(crate) use settings::Settings;
// For surfaces outside the core that serve health (the gRPC health service): change
// notifications, and "readiness was asked" (so shutdown drains).
#[allow(unused_imports)]
pub(crate) use state::{changes, mark_probed};

use crate::error::Error;
use crate::settings::EnvLookup;

/// The validated health settings, before anything starts.
#[derive(Debug)]
pub(crate) struct Prepared(settings::Config);

/// Validates the settings and resolves every check's parameters.
pub(crate) fn prepare(settings: Settings, env: EnvLookup<'_>) -> Result<Prepared, Error> {
    settings::resolve(settings, env).map(Prepared)
}

/// The running health machinery, owned by the guard.
#[derive(Debug)]
pub(crate) struct Health {
    runner: runner::Runner,
    drain_delay: Duration,
}

impl Health {
    /// Publishes the first snapshot (every check pending) and starts the runner.
    pub(crate) fn start(prepared: Prepared) -> Result<Health, Error> {
        let config = prepared.0;
        let drain_delay = config.drain_delay;
        #[cfg(all(feature = "system", target_os = "linux"))]
        crate::process::set_enabled(config.process_metrics);
        let runner = runner::Runner::start(config)?;
        Ok(Health {
            runner,
            drain_delay,
        })
    }

    /// Makes readiness fail, then waits the drain delay if a server answers probes and
    /// something polled readiness, so traffic moves away before the server stops.
    pub(crate) fn drain(&self, server_running: bool) {
        state::start_draining();
        if server_running && state::probed() && !self.drain_delay.is_zero() {
            crate::diag::notice(&format!(
                "shutting down: readiness fails now; waiting {:?} for load balancers to stop \
                 sending traffic before the server stops (FLEXT_OBS_SHUTDOWN_DRAIN or \
                 `drain_delay(..)`; 0 skips it)",
                self.drain_delay
            ));
            std::thread::sleep(self.drain_delay);
        }
    }

    /// Stops the runner (without waiting for sync checks that are stuck).
    pub(crate) fn stop(self) {
        drop(self);
    }
}

/// Stopping is dropping, so a `Health` that is dropped without [`Health::stop`] (an
/// `install()` that fails after starting it) leaves no runner and no process metrics
/// behind.
impl Drop for Health {
    fn drop(&mut self) {
        self.runner.stop();
        #[cfg(all(feature = "system", target_os = "linux"))]
        crate::process::set_enabled(false);
    }
}

#[cfg(test)]
mod tests {
    // The one test needs process metrics, which exist on Linux with `system` only.
    #[cfg(all(feature = "system", target_os = "linux"))]
    use super::*;

    /// `install()` can fail after the health runner started: dropping it then must undo
    /// what starting it did, as `stop` does.
    #[cfg(all(feature = "system", target_os = "linux"))]
    #[test]
    fn dropping_health_resets_process_metrics() {
        let builder = crate::Observability::builder()
            .system_checks(false)
            .process_metrics(true);
        let prepared = prepare(builder.health, &crate::settings::test_env(&[])).unwrap();
        let health = Health::start(prepared).unwrap();
        assert!(crate::process::enabled());
        assert!(state::snapshot().is_some());
        drop(health);
        assert!(!crate::process::enabled());
        assert!(state::snapshot().is_none());
    }
}
