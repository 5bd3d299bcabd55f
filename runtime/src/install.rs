//! `Observability::builder()…install()`: settings, start-up validation, the guard.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::catalog;
use crate::config::{self, ListenSetting};
use crate::facade::{BucketConfig, FACADE, FacadeRecorder};
use crate::server::{Bound, Server};
use crate::{DEFAULT_BUCKETS, Error};

static INSTALLED: AtomicBool = AtomicBool::new(false);
static RECORDER_IS_OURS: AtomicBool = AtomicBool::new(false);

/// Entry point: `Observability::builder()`.
#[derive(Debug)]
pub struct Observability;

impl Observability {
    /// A builder with every setting at its default (or its environment variable).
    pub fn builder() -> ObservabilityBuilder {
        ObservabilityBuilder::default()
    }
}

/// Settings of the runtime; [`install`](Self::install) validates and starts it.
///
/// Settings made here win over environment variables, which win over defaults.
#[derive(Debug)]
#[must_use]
pub struct ObservabilityBuilder {
    service_name: Option<String>,
    service_version: Option<String>,
    listen: Option<ListenSetting>,
    default_buckets: Option<Vec<f64>>,
    buckets_by_prefix: Vec<(String, Vec<f64>)>,
    series_limit: Option<usize>,
    metrics_recorder: bool,
    pub(crate) telemetry: crate::telemetry::TelemetrySettings,
    /// Health checks and probes; the methods are in `health::settings`.
    pub(crate) health: crate::health::Settings,
}

impl Default for ObservabilityBuilder {
    fn default() -> Self {
        ObservabilityBuilder {
            service_name: None,
            service_version: None,
            listen: None,
            default_buckets: None,
            buckets_by_prefix: Vec::new(),
            series_limit: None,
            metrics_recorder: true,
            telemetry: crate::telemetry::TelemetrySettings::default(),
            health: crate::health::Settings::default(),
        }
    }
}

impl ObservabilityBuilder {
    /// The service name (`service_name` label of `build_info`, `service.name` resource).
    /// Default: `OTEL_SERVICE_NAME`, else `unknown_service:<executable>`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The version reported by `build_info`. Default: the version of the crate that holds
    /// the executable's monitored functions.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Where the embedded server listens: `"127.0.0.1:9464"`, a `SocketAddr`, `":0"` for
    /// any free loopback port, or `"off"`.
    ///
    /// Default: `FLEXT_OBS_LISTEN`, else `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`, else
    /// `PROMETHEUS_PORT` (on loopback), else `127.0.0.1:9464`.
    pub fn listen(mut self, addr: impl std::fmt::Display) -> Self {
        self.listen = Some(ListenSetting::Addr(addr.to_string()));
        self
    }

    /// Runs no embedded server (render with [`crate::prometheus::render`] yourself).
    pub fn without_server(mut self) -> Self {
        self.listen = Some(ListenSetting::Off);
        self
    }

    /// Bucket bounds (seconds or any unit) of histograms recorded through the `metrics`
    /// facade whose name starts with `prefix`; the longest prefix wins.
    pub fn histogram_buckets(mut self, prefix: impl Into<String>, bounds: &[f64]) -> Self {
        self.buckets_by_prefix
            .push((prefix.into(), bounds.to_vec()));
        self
    }

    /// Default bucket bounds of facade histograms. Default: [`DEFAULT_BUCKETS`].
    pub fn default_histogram_buckets(mut self, bounds: &[f64]) -> Self {
        self.default_buckets = Some(bounds.to_vec());
        self
    }

    /// Most series one metric recorded through the `metrics` facade, or one business
    /// metric declared without `max_series`, may have (default 2000); further label values
    /// go to one `otel_metric_overflow="true"` series.
    pub fn series_limit(mut self, limit: usize) -> Self {
        self.series_limit = Some(limit);
        self
    }

    /// Whether to install the `metrics` facade recorder (default `true`).
    pub fn metrics_recorder(mut self, enabled: bool) -> Self {
        self.metrics_recorder = enabled;
        self
    }

    /// Validates everything and starts the runtime.
    ///
    /// # Errors
    /// An invalid setting ([`Error::Config`] naming the variable or method), an
    /// inconsistent registration ([`Error::Catalog`] naming both source locations), a
    /// port already in use ([`Error::Bind`]), or a second live installation.
    pub fn install(self) -> Result<ObservabilityGuard, Error> {
        self.install_with_env(&config::process_env)
    }

    pub(crate) fn install_with_env(
        self,
        env: config::EnvLookup<'_>,
    ) -> Result<ObservabilityGuard, Error> {
        let service_name = config::resolve_service_name(self.service_name.as_deref(), env)?;
        let listen = config::resolve_listen(self.listen.as_ref(), env)?;
        let default = self
            .default_buckets
            .unwrap_or_else(|| DEFAULT_BUCKETS.to_vec());
        config::check_bounds("default_histogram_buckets", &default)?;
        let mut by_prefix = Vec::new();
        for (prefix, bounds) in self.buckets_by_prefix {
            config::check_bounds("histogram_buckets", &bounds)?;
            by_prefix.push((prefix, Arc::from(bounds)));
        }
        let series_limit = self
            .series_limit
            .unwrap_or(crate::dynamic::DEFAULT_SERIES_LIMIT);
        if series_limit == 0 {
            return Err(Error::config("series_limit", "must be at least 1"));
        }
        let version = self
            .service_version
            .clone()
            .or_else(|| catalog::default_build_info().map(|i| i.version))
            .filter(|v| !v.is_empty());
        let telemetry =
            crate::telemetry::resolve(self.telemetry, env, &service_name, version.as_deref())?;

        let catalog = catalog::catalog();
        if !catalog.issues.is_empty() {
            return Err(Error::Catalog(catalog.issues.clone()));
        }
        let health = crate::health::prepare(self.health, env)?;

        if INSTALLED
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(Error::AlreadyInstalled);
        }
        // From here on, failures must undo the flag; what can fail comes before what
        // starts threads, so a failed install leaves nothing running.
        let result = (|| {
            let bound = listen.map(Server::bind).transpose()?;
            crate::business::set_default_series_limit(series_limit);
            crate::clock::init();
            FACADE.configure(BucketConfig {
                default: Arc::from(default),
                by_prefix,
                series_limit,
            });
            if self.metrics_recorder && !RECORDER_IS_OURS.load(Ordering::Acquire) {
                metrics::set_global_recorder(FacadeRecorder).map_err(|_| Error::RecorderTaken)?;
                RECORDER_IS_OURS.store(true, Ordering::Release);
            }
            let mut info = catalog::default_build_info().unwrap_or_default();
            if let Some(version) = self.service_version {
                info.version = version;
            }
            info.service_name.clone_from(&service_name);
            catalog::set_build_info(info);

            let telemetry = crate::telemetry::start(telemetry)?;
            // Before the server serves, so its first probe finds a snapshot.
            let health = crate::health::Health::start(health)?;
            let server = bound.map(Bound::serve).transpose()?;
            Ok(ObservabilityGuard {
                telemetry: Some(telemetry),
                server,
                health: Some(health),
                service_name,
            })
        })();
        if result.is_err() {
            INSTALLED.store(false, Ordering::Release);
        }
        result
    }
}

/// The running runtime. Dropping it makes readiness fail, waits the
/// [`drain_delay`](ObservabilityBuilder::drain_delay) if readiness was probed, flushes the
/// exporters, then stops the embedded server (after requests in progress finish) and the
/// health checks; metrics keep being recorded and can be installed again.
///
/// Dropping blocks the dropping thread for that sequence: the drain delay (only when a
/// readiness probe was served), the exporters' final flush and up to 5 s for requests in
/// progress. Inside a multi-threaded Tokio runtime the wait moves off the worker
/// (`block_in_place`); in a current-threaded one, drop the guard at the end of `main`.
#[derive(Debug)]
#[must_use = "dropping the guard stops the runtime at once"]
pub struct ObservabilityGuard {
    telemetry: Option<crate::telemetry::TelemetryGuard>,
    server: Option<Server>,
    health: Option<crate::health::Health>,
    service_name: String,
}

impl ObservabilityGuard {
    /// Where the embedded server listens (useful with port 0), if it runs.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(Server::local_addr)
    }

    /// The resolved service name.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Stops everything now; the same as dropping the guard.
    pub fn shutdown(self) {}
}

impl Drop for ObservabilityGuard {
    fn drop(&mut self) {
        let in_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if in_worker {
            // The other workers keep the application's tasks running meanwhile.
            tokio::task::block_in_place(|| self.stop_all());
        } else {
            self.stop_all();
        }
    }
}

impl ObservabilityGuard {
    fn stop_all(&mut self) {
        // Readiness fails first and load balancers get the drain delay to notice; then
        // exporters flush (their last export still sees everything), then the server
        // stops, then the checks.
        if let Some(health) = &self.health {
            health.drain(self.server.is_some());
        }
        self.telemetry = None;
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        if let Some(health) = self.health.take() {
            health.stop();
        }
        INSTALLED.store(false, Ordering::Release);
    }
}
