//! The builder's OTLP settings.

use std::time::Duration;

use super::config::{OtlpProtocol, OtlpSettings, Propagation, Sampler};
use crate::install::ObservabilityBuilder;

impl ObservabilityBuilder {
    /// Which spans belong to the trace, in the syntax of [`log_level`](Self::log_level).
    /// Default: `info` (other crates' `debug` and `trace` spans stay out of traces). The
    /// `exception` events of failed `#[monitor]` spans always pass.
    ///
    /// When traces are exported, these are the spans exported (if sampled). When they
    /// are not, setting it keeps these spans recorded anyway, with trace ids (log lines,
    /// exemplars, propagation); left unset, only the spans the log layer records
    /// (`LOG_LEVEL`) and request scopes (spans that declare a `correlation_id` field)
    /// exist, and any other span below `LOG_LEVEL` costs one atomic load.
    pub fn trace_level(mut self, level: impl Into<String>) -> Self {
        self.extensions.get_mut::<OtlpSettings>().trace_level = Some(level.into());
        self
    }

    /// OTLP base endpoint for traces and metrics (`http://collector:4318`; `/v1/traces`
    /// and `/v1/metrics` are appended for HTTP). Setting it turns OTLP export on, except
    /// for a signal that `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER` set to `none`
    /// (the operator's switch; [`otlp_traces`](Self::otlp_traces) and
    /// [`otlp_metrics`](Self::otlp_metrics) win over it).
    /// Default: `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`.
    pub fn otlp_endpoint(mut self, url: impl Into<String>) -> Self {
        self.extensions.get_mut::<OtlpSettings>().endpoint = Some(url.into());
        self
    }

    /// OTLP transport. Default: `OTEL_EXPORTER_OTLP_PROTOCOL`, else HTTP/protobuf.
    pub fn otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.extensions.get_mut::<OtlpSettings>().protocol = Some(protocol);
        self
    }

    /// A header sent with every export (added to `OTEL_EXPORTER_OTLP_HEADERS`).
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions
            .get_mut::<OtlpSettings>()
            .headers
            .0
            .push((name.into(), value.into()));
        self
    }

    /// Longest time one export may take. Default: `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 s.
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.extensions.get_mut::<OtlpSettings>().timeout = Some(timeout);
        self
    }

    /// Whether spans are exported over OTLP. Default: `OTEL_TRACES_EXPORTER` (`otlp`,
    /// `none`), else on when an OTLP endpoint is configured.
    pub fn otlp_traces(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<OtlpSettings>().traces = Some(enabled);
        self
    }

    /// Whether metrics are pushed over OTLP (the `/metrics` endpoint is separate).
    /// Default: `OTEL_METRICS_EXPORTER` (`otlp`, `prometheus`, `none`), else on when an
    /// OTLP endpoint is configured.
    pub fn otlp_metrics(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<OtlpSettings>().metrics = Some(enabled);
        self
    }

    /// Time between metric exports. Default: `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s.
    pub fn metric_export_interval(mut self, every: Duration) -> Self {
        self.extensions.get_mut::<OtlpSettings>().metric_interval = Some(every);
        self
    }

    /// Most finished spans waiting for export; more are dropped and counted in
    /// `flext_otlp_dropped_total`. Default: `OTEL_BSP_MAX_QUEUE_SIZE`, else 2048.
    pub fn otlp_queue_size(mut self, spans: usize) -> Self {
        self.extensions.get_mut::<OtlpSettings>().queue_size = Some(spans);
        self
    }

    /// Which traces are recorded. Default: `OTEL_TRACES_SAMPLER(_ARG)`, else
    /// parent-based always-on.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.extensions.get_mut::<OtlpSettings>().sampler = Some(sampler);
        self
    }

    /// Propagation formats, in order. Default: `OTEL_PROPAGATORS`, else W3C trace
    /// context and baggage.
    pub fn propagators(mut self, formats: &[Propagation]) -> Self {
        self.extensions.get_mut::<OtlpSettings>().propagators = Some(formats.to_vec());
        self
    }

    /// Turns OpenTelemetry off entirely (no trace ids, no export), like
    /// `OTEL_SDK_DISABLED=true`.
    pub fn otel_disabled(mut self, disabled: bool) -> Self {
        self.extensions.get_mut::<OtlpSettings>().disabled = Some(disabled);
        self
    }
}
