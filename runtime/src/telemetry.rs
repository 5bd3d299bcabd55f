//! Builder options and start-up of spans' consumers: the `tracing` subscriber with its
//! log layer (feature `logs`), the OpenTelemetry pipeline (feature `otlp`).

#[cfg(feature = "otlp")]
use std::time::Duration;

use crate::Error;
#[cfg(feature = "logs")]
use crate::ObservabilityBuilder;
use crate::config::EnvLookup;

/// What the builder set in code.
#[derive(Debug, Default)]
pub(crate) struct TelemetrySettings {
    #[cfg(feature = "logs")]
    pub(crate) logs: crate::logs::LogSettings,
    #[cfg(feature = "otlp")]
    pub(crate) otlp: crate::otlp::config::OtlpSettings,
}

/// Settings checked before anything starts.
#[derive(Debug)]
pub(crate) struct Resolved {
    #[cfg(feature = "logs")]
    logs: crate::logs::LogConfig,
    #[cfg(feature = "otlp")]
    otlp: crate::otlp::config::OtlpConfig,
}

/// Running consumers; dropping flushes and stops the exporters.
#[derive(Debug)]
pub(crate) struct TelemetryGuard {
    #[cfg(feature = "otlp")]
    _pipeline: crate::otlp::Pipeline,
}

#[cfg_attr(not(feature = "logs"), allow(clippy::unnecessary_wraps))]
#[cfg_attr(
    not(feature = "otlp"),
    allow(unused_variables, clippy::needless_pass_by_value)
)]
pub(crate) fn resolve(
    settings: TelemetrySettings,
    env: EnvLookup<'_>,
    service_name: &str,
    service_version: Option<&str>,
) -> Result<Resolved, Error> {
    Ok(Resolved {
        #[cfg(feature = "logs")]
        logs: crate::logs::resolve(settings.logs, env)?,
        #[cfg(feature = "otlp")]
        otlp: crate::otlp::config::resolve(&settings.otlp, env, service_name, service_version)?,
    })
}

#[cfg_attr(
    not(feature = "logs"),
    allow(unused_variables, clippy::needless_pass_by_value)
)]
// Fallible only when the OTLP pipeline is compiled in.
#[cfg_attr(not(feature = "otlp"), allow(clippy::unnecessary_wraps))]
pub(crate) fn start(resolved: Resolved) -> Result<TelemetryGuard, Error> {
    #[cfg(feature = "otlp")]
    let (pipeline, otel) = crate::otlp::start(&resolved.otlp)?;
    #[cfg(feature = "otlp")]
    let otel = otel.map(|l| {
        Box::new(l)
            as Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>
    });
    #[cfg(all(feature = "logs", not(feature = "otlp")))]
    let otel = None;
    #[cfg(feature = "otlp")]
    let with_otel = otel.is_some();
    // Whether the OpenTelemetry layer is in the global subscriber (there is none
    // without `otlp`).
    #[cfg(feature = "logs")]
    let installed = crate::logs::install_subscriber(resolved.logs, otel);
    #[cfg(all(feature = "logs", not(feature = "otlp")))]
    debug_assert!(!installed);
    #[cfg(feature = "otlp")]
    if installed {
        crate::otlp::layer_installed();
    } else if with_otel && resolved.otlp.traces.is_some() {
        // The exporter runs, but no span reaches it: say so rather than export nothing.
        crate::diag::warn_once(
            "otel-layer-missing",
            "OTLP trace export is configured but flext-observability's OpenTelemetry layer is not in the global `tracing` subscriber (`.tracing_subscriber(false)`, another subscriber set first, or a second `install()` in this process): no span will be exported",
        );
    }
    Ok(TelemetryGuard {
        #[cfg(feature = "otlp")]
        _pipeline: pipeline,
    })
}

#[cfg(feature = "logs")]
impl ObservabilityBuilder {
    /// Which log lines are written: a level (`"info"`) or `target=level` list
    /// (`"warn,orders=debug"`). Default: `LOG_LEVEL`, else `info`.
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.telemetry.logs.level = Some(level.into());
        self
    }

    /// JSON lines or text. Default: `LOG_FORMAT` (`json` or `text`), else text.
    pub fn log_format(mut self, format: crate::logs::LogFormat) -> Self {
        self.telemetry.logs.format = Some(format);
        self
    }

    /// Writes log lines to `writer` instead of standard output.
    pub fn log_writer(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.telemetry.logs.writer = Some(crate::logs::LogWriter::Shared(std::sync::Arc::new(
            std::sync::Mutex::new(Box::new(writer)),
        )));
        self
    }

    /// Which spans reach OpenTelemetry, in the syntax of [`log_level`](Self::log_level).
    /// Default: `info` (other crates' `debug` and `trace` spans stay out of traces). The
    /// `exception` events of failed `#[monitor]` spans always pass.
    pub fn trace_level(mut self, level: impl Into<String>) -> Self {
        self.telemetry.logs.trace_level = Some(level.into());
        self
    }

    /// Whether `install()` sets the global `tracing` subscriber (default `true`). Without
    /// it, `#[monitor]` spans go to whatever subscriber the application sets, and no span
    /// is exported over OTLP (the OpenTelemetry layer is part of the subscriber
    /// `install()` sets; `install()` warns when trace export is configured anyway).
    pub fn tracing_subscriber(mut self, install: bool) -> Self {
        self.telemetry.logs.install = Some(install);
        self
    }
}

#[cfg(feature = "otlp")]
impl ObservabilityBuilder {
    /// OTLP base endpoint for traces and metrics (`http://collector:4318`; `/v1/traces`
    /// and `/v1/metrics` are appended for HTTP). Setting it turns OTLP export on, except
    /// for a signal that `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` set to `none`
    /// (the operator's switch; [`otlp_traces`](Self::otlp_traces) and
    /// [`otlp_metrics`](Self::otlp_metrics) win over it).
    /// Default: `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`.
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.telemetry.otlp.endpoint = Some(url.into());
        self
    }

    /// OTLP transport. Default: `OTEL_EXPORTER_OTLP_PROTOCOL`, else HTTP/protobuf.
    pub fn otlp_protocol(mut self, protocol: crate::OtlpProtocol) -> Self {
        self.telemetry.otlp.protocol = Some(protocol);
        self
    }

    /// A header sent with every export (added to `OTEL_EXPORTER_OTLP_HEADERS`).
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.telemetry
            .otlp
            .headers
            .0
            .push((name.into(), value.into()));
        self
    }

    /// Longest time one export may take. Default: `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s.
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.telemetry.otlp.timeout = Some(timeout);
        self
    }

    /// Whether spans are exported over OTLP. Default: `OTEL_TRACES_EXPORTER` (`otlp`,
    /// `none`), else on when an OTLP endpoint is configured.
    pub fn otlp_traces(mut self, enabled: bool) -> Self {
        self.telemetry.otlp.traces = Some(enabled);
        self
    }

    /// Whether metrics are pushed over OTLP (the `/metrics` endpoint is separate).
    /// Default: `OTEL_METRICS_EXPORTER` (`otlp`, `prometheus`, `none`), else on when an
    /// OTLP endpoint is configured.
    pub fn otlp_metrics(mut self, enabled: bool) -> Self {
        self.telemetry.otlp.metrics = Some(enabled);
        self
    }

    /// Time between metric exports. Default: `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s.
    pub fn metric_export_interval(mut self, every: Duration) -> Self {
        self.telemetry.otlp.metric_interval = Some(every);
        self
    }

    /// Most finished spans waiting for export; more are dropped and counted in
    /// `flext_otlp_dropped_total`. Default: `OTEL_BSP_MAX_QUEUE_SIZE`, else 2048.
    pub fn otlp_queue_size(mut self, spans: usize) -> Self {
        self.telemetry.otlp.queue_size = Some(spans);
        self
    }

    /// Which traces are recorded. Default: `OTEL_TRACES_SAMPLER(_ARG)`, else
    /// parent-based always-on.
    pub fn sampler(mut self, sampler: crate::Sampler) -> Self {
        self.telemetry.otlp.sampler = Some(sampler);
        self
    }

    /// Propagation formats, in order. Default: `OTEL_PROPAGATORS`, else W3C trace
    /// context and baggage.
    pub fn propagators(mut self, formats: &[crate::Propagation]) -> Self {
        self.telemetry.otlp.propagators = Some(formats.to_vec());
        self
    }

    /// A resource attribute (over `OTEL_RESOURCE_ATTRIBUTES`); `service.name` is set
    /// with [`service_name`](Self::service_name).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.telemetry
            .otlp
            .resource
            .push((key.into(), value.into()));
        self
    }

    /// Turns OpenTelemetry off entirely (no trace ids, no export), like
    /// `OTEL_SDK_DISABLED=true`.
    pub fn otel_disabled(mut self, disabled: bool) -> Self {
        self.telemetry.otlp.disabled = Some(disabled);
        self
    }
}
