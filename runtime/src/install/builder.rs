//! The builder: every setting of the core, in code. Integrations add their own methods
//! in their folders (see [`crate::integration`]).

#[cfg(feature = "system")]
use std::path::PathBuf;
use std::time::Duration;

use super::config::ListenSetting;
use crate::integration::Extensions;

/// Settings of the runtime; [`install`](Self::install) validates and starts it.
///
/// Settings made here win over environment variables, which win over defaults.
#[derive(Debug)]
#[must_use]
pub struct ObservabilityBuilder {
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    /// Resource attributes, namespace and instance id given in code.
    pub(crate) resource: crate::identity::ResourceSettings,
    pub(crate) listen: Option<ListenSetting>,
    pub(crate) default_buckets: Option<Vec<f64>>,
    pub(crate) buckets_by_prefix: Vec<(String, Vec<f64>)>,
    pub(crate) series_limit: Option<usize>,
    pub(crate) metrics_recorder: bool,
    /// Health checks and probes.
    pub(crate) health: crate::health::Settings,
    #[cfg(feature = "logs")]
    pub(crate) logs: crate::logs::LogSettings,
    /// What integrations' builder methods set, by type.
    pub(crate) extensions: Extensions,
}

impl Default for ObservabilityBuilder {
    fn default() -> Self {
        ObservabilityBuilder {
            service_name: None,
            service_version: None,
            resource: crate::identity::ResourceSettings::default(),
            listen: None,
            default_buckets: None,
            buckets_by_prefix: Vec::new(),
            series_limit: None,
            metrics_recorder: true,
            health: crate::health::Settings::default(),
            #[cfg(feature = "logs")]
            logs: crate::logs::LogSettings::default(),
            extensions: Extensions::default(),
        }
    }
}

impl ObservabilityBuilder {
    /// The service name (`service_name` label of `build_info` and `function_calls_*`,
    /// `service.name` resource).
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

    /// The `service.namespace` resource attribute: a group of services (a team, a
    /// product), the `namespace` in the `job` remote write sends
    /// (`<namespace>/<service name>`). Default: `service.namespace` in
    /// `OTEL_RESOURCE_ATTRIBUTES`, else none.
    pub fn service_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.resource.namespace = Some(namespace.into());
        self
    }

    /// Where `service.instance.id` comes from: which instance of the service this
    /// process is (`target_info`, the OTLP resource, the `instance` of remote write and
    /// of the Pushgateway's `per_instance`).
    ///
    /// Default: `service.instance.id` in `OTEL_RESOURCE_ATTRIBUTES`, else
    /// `FLEXT_OBS_INSTANCE_ID_FROM` (`random`, `host` or `stable:<identity>`), else a
    /// random UUID v4 made once per process ([`InstanceId`](crate::InstanceId)).
    pub fn service_instance_id(mut self, source: crate::identity::InstanceId) -> Self {
        self.resource.instance = Some(source);
        self
    }

    /// A resource attribute (over `OTEL_RESOURCE_ATTRIBUTES`): on the OTLP resource and a
    /// label of `target_info` (dots made underscores). `service.name` is set with
    /// [`service_name`](Self::service_name), the version with
    /// [`service_version`](Self::service_version).
    ///
    /// ```
    /// let builder = flext_observability::Observability::builder()
    ///     .resource_attribute("deployment.environment.name", "production");
    /// # drop(builder);
    /// ```
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.attributes.push((key.into(), value.into()));
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

    /// Default bucket bounds of facade histograms. Default: [`DEFAULT_BUCKETS`](crate::DEFAULT_BUCKETS).
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
}

/// Health checks (`#[health_check]`) and probes.
impl ObservabilityBuilder {
    /// How often checks without their own `interval` run. Default: `HEALTH_CHECK_INTERVAL`
    /// (`30s`, `500ms`, `1m30s`, or plain seconds), else 30 s. Runs get ±10 % jitter.
    ///
    /// A check with its own `timeout` longer than this interval (and no `interval` of its
    /// own) makes [`install`](Self::install) fail with [`Error::Config`](crate::Error::Config) naming this
    /// setting and the check.
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.health.interval = Some(interval);
        self
    }

    /// How long a check without its own `timeout` may run before it counts as failed and
    /// its future is dropped. Default: `HEALTH_CHECK_TIMEOUT` (same grammar as
    /// `HEALTH_CHECK_INTERVAL`), else 10 s; never more than the check's interval (a
    /// default longer than the default interval is an error, a default longer than a
    /// check's own `interval` is shortened to it).
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.health.timeout = Some(timeout);
        self
    }

    /// How many checks may run at once (default 8); due checks beyond wait their turn.
    pub fn health_check_concurrency(mut self, limit: usize) -> Self {
        self.health.concurrency = Some(limit);
        self
    }

    /// Consecutive failures before a passing check is reported failing, and consecutive
    /// successes before a failing one is reported passing again, for checks without
    /// their own `failure_threshold` / `success_threshold`. Default `(1, 1)`: Kubernetes
    /// and load balancers apply their own thresholds on top.
    pub fn health_check_thresholds(mut self, failure: u32, success: u32) -> Self {
        self.health.thresholds = Some((failure, success));
        self
    }

    /// Makes `value` available to health checks that take a `&T` or a `T` (cloned per
    /// run) parameter: a connection pool, a client, a configuration. One value per type.
    ///
    /// ```standalone_crate
    /// use flext_observability::{Observability, health_check};
    ///
    /// #[derive(Clone)]
    /// struct Pool { url: String }
    ///
    /// #[health_check]
    /// fn database(pool: &Pool) -> Result<(), String> {
    ///     if pool.url.is_empty() { Err("no database configured".into()) } else { Ok(()) }
    /// }
    ///
    /// let guard = Observability::builder()
    ///     .without_server()
    ///     .resource(Pool { url: "postgres://db".into() })
    ///     .install()
    ///     .unwrap();
    /// # drop(guard);
    /// ```
    ///
    /// A check whose parameter type was not registered makes
    /// [`install`](Self::install) fail with [`Error::Config`](crate::Error::Config) naming the type and the check.
    pub fn resource<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.health.resources.insert(value);
        self
    }

    /// Shows the outputs, observed values and details of checks to callers on this
    /// machine (loopback), and logs what failing checks returned (and their panic
    /// messages). Other callers still need the [`health_token`](Self::health_token).
    /// Default: `FLEXT_OBS_HEALTH_DETAILS` (`true` or `false`), else withheld (names and
    /// statuses only, in probes and logs).
    pub fn health_details(mut self, show: bool) -> Self {
        self.health.show_details = Some(show);
        self
    }

    /// Shows the details of checks to requests with `Authorization: Bearer <token>`
    /// (compared in constant time). The token is never logged or printed.
    pub fn health_token(mut self, token: impl Into<String>) -> Self {
        self.health.token = Some(token.into());
        self
    }

    /// How long readiness reports "shutting down" before the server stops when the guard
    /// is dropped, so load balancers stop sending traffic first. Default:
    /// `FLEXT_OBS_SHUTDOWN_DRAIN` (`5s`, `500ms`, `0` to skip), else 5 s; applied only
    /// when a readiness probe (`/readyz`, `/health`) was served since start-up, and said
    /// in one line when it starts; dropping the guard blocks the dropping thread that long.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.health.drain_delay = Some(delay);
        self
    }

    /// Whether the built-in CPU, memory and disk checks run (feature `system`; default
    /// on with the feature, no effect without it).
    pub fn system_checks(mut self, enabled: bool) -> Self {
        self.health.system_checks = Some(enabled);
        self
    }

    /// Whether the standard `process_*` metrics are exported (feature `system`, Linux;
    /// default on with the feature, no effect without it).
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.health.process_metrics = Some(enabled);
        self
    }
}

/// Built-in system checks (feature `system`).
#[cfg(feature = "system")]
impl ObservabilityBuilder {
    /// CPU usage, in percent of what the process may use, at which `cpu:utilization` is
    /// degraded (`warn`) and failing (`fail`). Default: `CPU_THRESHOLD_PERCENT` (80) as the
    /// warn level, the fail level halfway from it to 100.
    #[cfg_attr(docsrs, doc(cfg(feature = "system")))]
    pub fn cpu_threshold_percent(mut self, warn: f64, fail: f64) -> Self {
        self.health.system.cpu = Some((warn, fail));
        self
    }

    /// Memory levels of `memory:utilization`, as for
    /// [`cpu_threshold_percent`](Self::cpu_threshold_percent). Default:
    /// `MEMORY_THRESHOLD_PERCENT` (85).
    #[cfg_attr(docsrs, doc(cfg(feature = "system")))]
    pub fn memory_threshold_percent(mut self, warn: f64, fail: f64) -> Self {
        self.health.system.memory = Some((warn, fail));
        self
    }

    /// Disk levels of `disk:utilization`, as for
    /// [`cpu_threshold_percent`](Self::cpu_threshold_percent). Default:
    /// `DISK_THRESHOLD_PERCENT` (90).
    #[cfg_attr(docsrs, doc(cfg(feature = "system")))]
    pub fn disk_threshold_percent(mut self, warn: f64, fail: f64) -> Self {
        self.health.system.disk = Some((warn, fail));
        self
    }

    /// The filesystem `disk:utilization` watches: the one holding `path`. Default `/`.
    #[cfg_attr(docsrs, doc(cfg(feature = "system")))]
    pub fn disk_check_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.health.system.disk_path = Some(path.into());
        self
    }
}

#[cfg(feature = "logs")]
impl ObservabilityBuilder {
    /// Which log lines are written: a level (`"info"`) or `target=level` list
    /// (`"warn,orders=debug"`). Default: `LOG_LEVEL`, else `info`.
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.logs.level = Some(level.into());
        self
    }

    /// JSON lines or text. Default: `LOG_FORMAT` (`json` or `text`), else JSON, or text
    /// when standard output is a terminal.
    pub fn log_format(mut self, format: crate::logs::LogFormat) -> Self {
        self.logs.format = Some(format);
        self
    }

    /// Writes log lines to `writer` instead of standard output.
    pub fn log_writer(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.logs.writer = Some(crate::logs::LogWriter::Shared(std::sync::Arc::new(
            std::sync::Mutex::new(Box::new(writer)),
        )));
        self
    }

    /// Whether `install()` sets the global `tracing` subscriber (default `true`). Without
    /// it, `#[monitor]` spans go to whatever subscriber the application sets, and no span
    /// is exported over OTLP (the OpenTelemetry layer is part of the subscriber
    /// `install()` sets; `install()` warns when trace export is configured anyway).
    pub fn tracing_subscriber(mut self, install: bool) -> Self {
        self.logs.install = Some(install);
        self
    }
}
