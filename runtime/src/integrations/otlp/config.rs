//! OTLP settings: builder over the standard `OTEL_*` variables over defaults. An invalid
//! builder value, endpoint or header is an [`Error::Config`] naming its method or
//! variable; any other unusable `OTEL_*` value is ignored with a warning, as the
//! specification asks.
//!
//! Unlike the OpenTelemetry SDK this follows the specification where the SDK does not:
//! `service.name` from `OTEL_SERVICE_NAME` wins over `OTEL_RESOURCE_ATTRIBUTES`, values
//! there are percent-decoded, and `OTEL_PROPAGATORS`, `OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER` and `OTEL_SDK_DISABLED` are honoured.

use std::time::Duration;

use crate::error::Error;
use crate::settings::{self, EnvLookup};

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP/gRPC (default port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318; the specification's default).
    HttpProtobuf,
}

/// Which traces are recorded (`OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Sampler {
    /// Every trace (`always_on`).
    AlwaysOn,
    /// No trace (`always_off`).
    AlwaysOff,
    /// This fraction of traces, by trace id (`traceidratio`).
    TraceIdRatio(f64),
    /// The parent's decision; root spans always (`parentbased_always_on`, the default).
    ParentBasedAlwaysOn,
    /// The parent's decision; root spans never (`parentbased_always_off`).
    ParentBasedAlwaysOff,
    /// The parent's decision; root spans by ratio (`parentbased_traceidratio`).
    ParentBasedTraceIdRatio(f64),
}

/// A context propagation format (`OTEL_PROPAGATORS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Propagation {
    /// W3C `traceparent` / `tracestate` (`tracecontext`).
    TraceContext,
    /// W3C `baggage` (`baggage`).
    Baggage,
    /// Zipkin B3, one `b3` header (`b3`).
    B3Single,
    /// Zipkin B3, `X-B3-*` headers (`b3multi`).
    B3Multi,
}

/// Printed in place of a header value: values are often credentials.
struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Headers given in code, in order; `Debug` shows their names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct HeaderPairs(pub(crate) Vec<(String, String)>);

impl std::fmt::Debug for HeaderPairs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, _)| (k, Redacted)))
            .finish()
    }
}

/// The validated headers of one signal; `Debug` shows their names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers(pub(crate) http::HeaderMap);

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, Redacted)))
            .finish()
    }
}

/// What the builder set in code; `None` means "environment, then default".
#[derive(Clone, Debug, Default)]
pub(crate) struct OtlpSettings {
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) headers: HeaderPairs,
    pub(crate) timeout: Option<Duration>,
    pub(crate) traces: Option<bool>,
    pub(crate) metrics: Option<bool>,
    pub(crate) metric_interval: Option<Duration>,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) propagators: Option<Vec<Propagation>>,
    pub(crate) resource: Vec<(String, String)>,
    pub(crate) disabled: Option<bool>,
    pub(crate) queue_size: Option<usize>,
    /// Which spans reach OpenTelemetry (`trace_level(..)`).
    pub(crate) trace_level: Option<String>,
}

/// Where and how one signal is sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SignalConfig {
    pub(crate) protocol: OtlpProtocol,
    /// Full URL: with `/v1/<signal>` for HTTP, the server address for gRPC.
    pub(crate) endpoint: http::Uri,
    pub(crate) headers: Headers,
    pub(crate) timeout: Duration,
}

/// Everything resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OtlpConfig {
    /// `OTEL_SDK_DISABLED=true`: no OpenTelemetry at all (no ids, no export).
    pub(crate) disabled: bool,
    pub(crate) traces: Option<SignalConfig>,
    pub(crate) metrics: Option<SignalConfig>,
    pub(crate) metric_interval: Duration,
    pub(crate) sampler: Sampler,
    pub(crate) propagators: Vec<Propagation>,
    /// Resource attributes, `service.name` first.
    pub(crate) resource: Vec<(String, String)>,
    pub(crate) queue_size: usize,
    pub(crate) batch_size: usize,
    pub(crate) schedule_delay: Duration,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_METRIC_INTERVAL: Duration = Duration::from_mins(1);
const DEFAULT_SCHEDULE_DELAY: Duration = Duration::from_secs(5);
/// Longest interval, delay or timeout taken: larger values are clamped, so that deadline
/// arithmetic (`now + every`) can never overflow.
const MAX_DURATION: Duration = Duration::from_hours(24);
/// Largest span queue: larger values are clamped (a channel of that many slots is
/// allocated up front).
const MAX_QUEUE_SIZE: usize = 1 << 20;

// An unusable `OTEL_*` value is ignored with a warning and the default applies
// (`settings::Policy::Lenient`), as the specification asks: these variables are often
// set cluster-wide for other SDKs, and one of them must not take `/metrics` and the
// health probes down with `install()`. (Endpoints and headers stay errors: falling back
// would send data elsewhere, or without its credentials.)

/// `true` or `false`; anything else is ignored.
fn bool_var(env: EnvLookup<'_>, name: &str) -> Option<bool> {
    settings::read_lenient(env, name, settings::boolean)
}

/// A positive number of milliseconds, clamped to [`MAX_DURATION`].
fn millis_var(env: EnvLookup<'_>, name: &str) -> Option<Duration> {
    settings::read_lenient(env, name, settings::millis).map(|d| d.min(MAX_DURATION))
}

/// A duration given in code: positive, clamped to [`MAX_DURATION`].
fn code_duration(source: &str, d: Duration) -> Result<Duration, Error> {
    if d.is_zero() {
        Err(Error::config(source, "must be positive"))
    } else {
        Ok(d.min(MAX_DURATION))
    }
}

fn count_var(env: EnvLookup<'_>, name: &str) -> Option<usize> {
    settings::read_lenient(env, name, settings::positive)
}

/// Exporter names of `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER`: whether OTLP
/// export is asked for; `None` when the variable is unset or names no exporter known
/// here (unknown names are ignored with a warning).
fn exporter_var(env: EnvLookup<'_>, name: &str, allowed: &[&str]) -> Option<bool> {
    let value = env(name)?;
    let mut known = false;
    let mut otlp = false;
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let item = item.to_ascii_lowercase();
        if allowed.contains(&item.as_str()) {
            known = true;
            otlp |= item == "otlp";
        } else {
            settings::ignored(
                name,
                &value,
                &format!("unsupported exporter `{item}`: use {}", allowed.join(", ")),
            );
        }
    }
    known.then_some(otlp)
}

/// `OTEL_EXPORTER_OTLP_PROTOCOL` and its per-signal form.
fn protocol_var(env: EnvLookup<'_>, name: &str) -> Option<OtlpProtocol> {
    let v = env(name)?;
    match v.trim().to_ascii_lowercase().as_str() {
        "grpc" => Some(OtlpProtocol::Grpc),
        "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
        "http/json" => {
            // OTLP/HTTP receivers take protobuf on the same path.
            settings::ignored(
                name,
                &v,
                "`http/json` is not supported, `http/protobuf` is sent",
            );
            None
        }
        _ => {
            settings::ignored(name, &v, "not `grpc` or `http/protobuf`");
            None
        }
    }
}

fn check_endpoint(source: &str, value: &str) -> Result<http::Uri, Error> {
    let uri: http::Uri = value
        .trim()
        .parse()
        .map_err(|_| Error::config(source, format!("`{value}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            // Never downgraded to cleartext behind the user's back.
            return Err(Error::config(
                source,
                "TLS (`https`) is not supported by the built-in transport: use `http://` to a local collector or sidecar, which can forward over TLS",
            ));
        }
        _ => {
            return Err(Error::config(
                source,
                format!("`{value}` must start with `http://`"),
            ));
        }
    }
    if uri.authority().is_none() {
        return Err(Error::config(source, format!("`{value}` has no host")));
    }
    Ok(uri)
}

/// Validates header names and values once, into the map the transport sends.
fn header_map(source: &str, pairs: &[(String, String)]) -> Result<http::HeaderMap, Error> {
    let mut map = http::HeaderMap::new();
    for (k, v) in pairs {
        let name = http::HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| Error::config(source, format!("`{k}` is not a header name")))?;
        // The value is never quoted: it may be a secret.
        let value = http::HeaderValue::from_str(v)
            .map_err(|_| Error::config(source, format!("header `{k}` has an invalid value")))?;
        map.insert(name, value);
    }
    Ok(map)
}

fn signal(
    settings: &OtlpSettings,
    env: EnvLookup<'_>,
    upper: &str,
    path: &str,
) -> Result<SignalConfig, Error> {
    let protocol = settings
        .protocol
        .or_else(|| protocol_var(env, &format!("OTEL_EXPORTER_OTLP_{upper}_PROTOCOL")))
        .or_else(|| protocol_var(env, "OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or(OtlpProtocol::HttpProtobuf);
    let base = |source: &str, url: &str| -> Result<http::Uri, Error> {
        let uri = check_endpoint(source, url)?;
        Ok(match protocol {
            OtlpProtocol::HttpProtobuf => {
                let joined = format!("{}/{path}", url.trim().trim_end_matches('/'));
                joined
                    .parse()
                    .map_err(|_| Error::config(source, format!("`{url}` is not a base URL")))?
            }
            OtlpProtocol::Grpc => uri,
        })
    };
    let per_signal = format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT");
    let endpoint = if let Some(url) = &settings.endpoint {
        base("otlp_endpoint", url)?
    } else if let Some(url) = env(&per_signal) {
        // Per-signal endpoints are used as given.
        check_endpoint(&per_signal, &url)?
    } else if let Some(url) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
        base("OTEL_EXPORTER_OTLP_ENDPOINT", &url)?
    } else {
        http::Uri::from_static(match protocol {
            OtlpProtocol::HttpProtobuf if upper == "TRACES" => "http://localhost:4318/v1/traces",
            OtlpProtocol::HttpProtobuf => "http://localhost:4318/v1/metrics",
            OtlpProtocol::Grpc => "http://localhost:4317",
        })
    };
    let header_var = format!("OTEL_EXPORTER_OTLP_{upper}_HEADERS");
    let mut headers = match env(&header_var) {
        Some(v) => header_map(&header_var, &settings::pairs(&header_var, &v)?)?,
        None => match env("OTEL_EXPORTER_OTLP_HEADERS") {
            Some(v) => header_map(
                "OTEL_EXPORTER_OTLP_HEADERS",
                &settings::pairs("OTEL_EXPORTER_OTLP_HEADERS", &v)?,
            )?,
            None => http::HeaderMap::new(),
        },
    };
    // Headers given in code replace same-named ones from the environment.
    for (name, value) in header_map("otlp_header", &settings.headers.0)? {
        if let Some(name) = name {
            headers.insert(name, value);
        }
    }
    let timeout_var = format!("OTEL_EXPORTER_OTLP_{upper}_TIMEOUT");
    let timeout = match settings.timeout {
        Some(t) => code_duration("otlp_timeout", t)?,
        None => millis_var(env, &timeout_var)
            .or_else(|| millis_var(env, "OTEL_EXPORTER_OTLP_TIMEOUT"))
            .unwrap_or(DEFAULT_TIMEOUT),
    };
    for var in [
        format!("OTEL_EXPORTER_OTLP_{upper}_COMPRESSION"),
        "OTEL_EXPORTER_OTLP_COMPRESSION".to_owned(),
    ] {
        if let Some(v) = env(&var)
            && !v.trim().eq_ignore_ascii_case("none")
        {
            settings::ignored(
                &var,
                &v,
                "compression is not supported, requests are sent uncompressed",
            );
        }
    }
    Ok(SignalConfig {
        protocol,
        endpoint,
        headers: Headers(headers),
        timeout,
    })
}

fn parse_sampler(env: EnvLookup<'_>) -> Sampler {
    let Some(name) = env("OTEL_TRACES_SAMPLER") else {
        return Sampler::ParentBasedAlwaysOn;
    };
    let ratio = || -> f64 {
        let Some(v) = env("OTEL_TRACES_SAMPLER_ARG") else {
            return 1.0;
        };
        match v.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                settings::ignored("OTEL_TRACES_SAMPLER_ARG", &v, "not a ratio between 0 and 1");
                1.0
            }
        }
    };
    match name.trim().to_ascii_lowercase().as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio()),
        "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
        "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()),
        _ => {
            settings::ignored(
                "OTEL_TRACES_SAMPLER",
                &name,
                "unsupported sampler: use always_on, always_off, traceidratio, \
                 parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            );
            Sampler::ParentBasedAlwaysOn
        }
    }
}

/// `OTEL_PROPAGATORS` (default `tracecontext,baggage`); unknown names are ignored with a
/// warning.
pub(crate) fn parse_propagators(env: EnvLookup<'_>) -> Vec<Propagation> {
    let default = || vec![Propagation::TraceContext, Propagation::Baggage];
    let Some(value) = env("OTEL_PROPAGATORS") else {
        return default();
    };
    let mut out = Vec::new();
    let mut none = false;
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let p = match item.to_ascii_lowercase().as_str() {
            "tracecontext" => Propagation::TraceContext,
            "baggage" => Propagation::Baggage,
            "b3" => Propagation::B3Single,
            "b3multi" => Propagation::B3Multi,
            "none" => {
                none = true;
                continue;
            }
            other => {
                settings::ignored(
                    "OTEL_PROPAGATORS",
                    &value,
                    &format!(
                        "unsupported propagator `{other}`: use tracecontext, baggage, b3, b3multi or none"
                    ),
                );
                continue;
            }
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    // Only unknown names: as if unset.
    if out.is_empty() && !none {
        default()
    } else {
        out
    }
}

/// Resource attributes: `service.name` (resolved with its own precedence) first, then
/// `service.version` (when known in code it wins over the other sources),
/// `OTEL_RESOURCE_ATTRIBUTES`, the builder's, the SDK's own.
fn resource(
    settings: &OtlpSettings,
    env: EnvLookup<'_>,
    service_name: &str,
    service_version: Option<&str>,
) -> Result<Vec<(String, String)>, Error> {
    let mut resource = vec![("service.name".to_owned(), service_name.to_owned())];
    if let Some(v) = service_version {
        resource.push(("service.version".to_owned(), v.to_owned()));
    }
    let from_env = match env("OTEL_RESOURCE_ATTRIBUTES") {
        Some(v) => settings::pairs("OTEL_RESOURCE_ATTRIBUTES", &v)?,
        None => Vec::new(),
    };
    for (k, v) in from_env
        .into_iter()
        .chain(settings.resource.iter().cloned())
    {
        // `service.name` was resolved with its own precedence, and the version known in
        // code (the one `build_info` reports) wins too, so both agree; otherwise later
        // entries win.
        if k == "service.name" || (k == "service.version" && service_version.is_some()) {
            continue;
        }
        resource.retain(|(key, _)| *key != k);
        resource.push((k, v));
    }
    for (k, v) in [
        ("telemetry.sdk.name", "flext-observability"),
        ("telemetry.sdk.language", "rust"),
        ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
    ] {
        if !resource.iter().any(|(key, _)| key == k) {
            resource.push((k.to_owned(), v.to_owned()));
        }
    }
    Ok(resource)
}

/// Resolves every OTLP setting. `service_name` is already resolved (builder, then
/// `OTEL_SERVICE_NAME`, then `service.name` of `OTEL_RESOURCE_ATTRIBUTES`).
pub(crate) fn resolve(
    settings: &OtlpSettings,
    env: EnvLookup<'_>,
    service_name: &str,
    service_version: Option<&str>,
) -> Result<OtlpConfig, Error> {
    let disabled = settings
        .disabled
        .or_else(|| bool_var(env, "OTEL_SDK_DISABLED"))
        .unwrap_or(false);
    let traces_var = exporter_var(env, "OTEL_TRACES_EXPORTER", &["otlp", "none"]);
    let metrics_var = exporter_var(
        env,
        "OTEL_METRICS_EXPORTER",
        &["otlp", "prometheus", "none"],
    );
    // Export is opt-in: an endpoint (in code or environment) or an explicit exporter.
    let endpoint_given = |upper: &str| {
        settings.endpoint.is_some()
            || env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || env(&format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")).is_some()
    };
    let want_traces = settings
        .traces
        .or(traces_var)
        .unwrap_or_else(|| endpoint_given("TRACES"));
    let want_metrics = settings
        .metrics
        .or(metrics_var)
        .unwrap_or_else(|| endpoint_given("METRICS"));
    let traces = if want_traces && !disabled {
        Some(signal(settings, env, "TRACES", "v1/traces")?)
    } else {
        None
    };
    let metrics = if want_metrics && !disabled {
        Some(signal(settings, env, "METRICS", "v1/metrics")?)
    } else {
        None
    };
    let metric_interval = match settings.metric_interval {
        Some(d) => code_duration("metric_export_interval", d)?,
        None => millis_var(env, "OTEL_METRIC_EXPORT_INTERVAL").unwrap_or(DEFAULT_METRIC_INTERVAL),
    };
    let sampler = match settings.sampler {
        Some(s) => {
            if let Sampler::TraceIdRatio(r) | Sampler::ParentBasedTraceIdRatio(r) = s
                && !(0.0..=1.0).contains(&r)
            {
                return Err(Error::config(
                    "sampler",
                    "the ratio must be between 0 and 1",
                ));
            }
            s
        }
        None => parse_sampler(env),
    };
    let propagators = match &settings.propagators {
        Some(p) => p.clone(),
        None => parse_propagators(env),
    };
    let resource = resource(settings, env, service_name, service_version)?;
    let queue_size = match settings.queue_size {
        Some(0) => return Err(Error::config("otlp_queue_size", "must be at least 1")),
        Some(n) => n,
        None => count_var(env, "OTEL_BSP_MAX_QUEUE_SIZE").unwrap_or(2048),
    }
    .min(MAX_QUEUE_SIZE);
    let batch_size = count_var(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        .unwrap_or(512)
        .min(queue_size);
    let schedule_delay =
        millis_var(env, "OTEL_BSP_SCHEDULE_DELAY").unwrap_or(DEFAULT_SCHEDULE_DELAY);
    Ok(OtlpConfig {
        disabled,
        traces,
        metrics,
        metric_interval,
        sampler,
        propagators,
        resource,
        queue_size,
        batch_size,
        schedule_delay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::test_env as env;

    fn resolve_env(pairs: &[(&str, &str)]) -> Result<OtlpConfig, Error> {
        resolve(&OtlpSettings::default(), &env(pairs), "svc", None)
    }

    fn source(err: Error) -> String {
        match err {
            Error::Config { source, .. } => source,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn export_is_opt_in_and_endpoints_follow_the_spec() {
        let c = resolve_env(&[]).unwrap();
        assert!(c.traces.is_none() && c.metrics.is_none());
        let c = resolve_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).unwrap();
        let t = c.traces.unwrap();
        assert_eq!(t.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(t.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(
            c.metrics.unwrap().endpoint,
            "http://collector:4318/v1/metrics"
        );
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:9999/custom",
            ),
        ])
        .unwrap();
        assert_eq!(c.traces.unwrap().endpoint, "http://other:9999/custom");
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_METRICS_EXPORTER", "prometheus"),
        ])
        .unwrap();
        assert_eq!(c.traces.unwrap().endpoint, "http://collector:4317/");
        assert!(c.metrics.is_none());
        let c = resolve_env(&[("OTEL_TRACES_EXPORTER", "otlp")]).unwrap();
        assert_eq!(
            c.traces.unwrap().endpoint,
            "http://localhost:4318/v1/traces"
        );
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ])
        .unwrap();
        assert!(c.disabled && c.traces.is_none());
        // Code over environment.
        let settings = OtlpSettings {
            endpoint: Some("http://code:1234".into()),
            protocol: Some(OtlpProtocol::Grpc),
            ..OtlpSettings::default()
        };
        let c = resolve(
            &settings,
            &env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")]),
            "svc",
            None,
        )
        .unwrap();
        assert_eq!(c.traces.unwrap().endpoint, "http://code:1234/");
    }

    #[test]
    fn headers_timeouts_sampler_propagators() {
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,x=1"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "m=2"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_PROPAGATORS", "b3multi,tracecontext"),
        ])
        .unwrap();
        let t = c.traces.unwrap();
        assert_eq!(t.headers.0["api-key"], "a b");
        assert_eq!(t.headers.0["x"], "1");
        assert_eq!(t.headers.0.len(), 2);
        assert_eq!(t.timeout, Duration::from_millis(2500));
        let m = c.metrics.unwrap();
        assert_eq!(m.headers.0["m"], "2");
        assert_eq!(m.headers.0.len(), 1);
        assert_eq!(c.sampler, Sampler::ParentBasedTraceIdRatio(0.25));
        assert_eq!(
            c.propagators,
            vec![Propagation::B3Multi, Propagation::TraceContext]
        );
    }

    #[test]
    fn resource_rules() {
        let c = resolve_env(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=ignored,deployment.environment=prod%2Deu,team=a%2Cb",
        )])
        .unwrap();
        assert_eq!(c.resource[0], ("service.name".into(), "svc".into()));
        assert!(
            c.resource
                .contains(&("deployment.environment".into(), "prod-eu".into()))
        );
        assert!(c.resource.contains(&("team".into(), "a,b".into())));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_EXPORTER", ""),
            ("OTEL_PROPAGATORS", ""),
            ("OTEL_TRACES_SAMPLER", ""),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", ""),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", " "),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
            ("OTEL_SDK_DISABLED", ""),
        ])
        .unwrap();
        let t = c
            .traces
            .expect("an empty OTEL_TRACES_EXPORTER does not turn traces off");
        assert_eq!(t.endpoint, "http://c:4318/v1/traces");
        assert_eq!(t.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(t.timeout, DEFAULT_TIMEOUT);
        assert_eq!(
            c.propagators,
            vec![Propagation::TraceContext, Propagation::Baggage]
        );
        assert_eq!(c.sampler, Sampler::ParentBasedAlwaysOn);
        assert!(!c.disabled);
    }

    #[test]
    fn extreme_values_are_clamped_or_refused() {
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "18446744073709551615"),
            ("OTEL_BSP_SCHEDULE_DELAY", "18446744073709551615"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "18446744073709551615"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "18446744073709551615"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "18446744073709551615"),
        ])
        .unwrap();
        assert_eq!(c.metric_interval, MAX_DURATION);
        assert_eq!(c.schedule_delay, MAX_DURATION);
        assert_eq!(c.queue_size, MAX_QUEUE_SIZE);
        assert_eq!(c.batch_size, MAX_QUEUE_SIZE);
        assert_eq!(c.traces.unwrap().timeout, MAX_DURATION);
        let settings = OtlpSettings {
            metric_interval: Some(Duration::MAX),
            timeout: Some(Duration::MAX),
            queue_size: Some(usize::MAX),
            ..OtlpSettings::default()
        };
        let c = resolve(
            &settings,
            &env(&[("OTEL_TRACES_EXPORTER", "otlp")]),
            "svc",
            None,
        )
        .unwrap();
        assert_eq!(c.metric_interval, MAX_DURATION);
        assert_eq!(c.traces.unwrap().timeout, MAX_DURATION);
        assert_eq!(c.queue_size, MAX_QUEUE_SIZE);
        for (builder, source) in [
            (
                OtlpSettings {
                    metric_interval: Some(Duration::ZERO),
                    ..OtlpSettings::default()
                },
                "metric_export_interval",
            ),
            (
                OtlpSettings {
                    timeout: Some(Duration::ZERO),
                    traces: Some(true),
                    ..OtlpSettings::default()
                },
                "otlp_timeout",
            ),
        ] {
            let err = resolve(&builder, &env(&[]), "svc", None).expect_err(source);
            assert_eq!(self::source(err), source);
        }
    }

    #[test]
    fn debug_output_never_shows_header_values() {
        let settings = OtlpSettings {
            headers: HeaderPairs(vec![("authorization".into(), "Bearer code-secret".into())]),
            ..OtlpSettings::default()
        };
        let c = resolve(
            &settings,
            &env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=env-secret"),
            ]),
            "svc",
            None,
        )
        .unwrap();
        let t = c.traces.clone().unwrap();
        assert_eq!(t.headers.0["authorization"], "Bearer code-secret");
        assert_eq!(t.headers.0["x-api-key"], "env-secret");
        for text in [
            format!("{settings:?}"),
            format!("{c:?}"),
            format!("{t:?}"),
            format!("{c:#?}"),
        ] {
            assert!(!text.contains("secret"), "{text}");
            assert!(text.contains("authorization"), "names stay: {text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
    }

    #[test]
    fn the_version_known_in_code_wins() {
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "service.version=9.9,team=a")]);
        let c = resolve(&OtlpSettings::default(), &e, "svc", Some("2.0")).unwrap();
        let versions: Vec<_> = c
            .resource
            .iter()
            .filter(|(k, _)| k == "service.version")
            .collect();
        assert_eq!(
            versions,
            [&("service.version".to_owned(), "2.0".to_owned())]
        );
        let c = resolve(&OtlpSettings::default(), &e, "svc", None).unwrap();
        assert!(
            c.resource
                .contains(&("service.version".to_owned(), "9.9".to_owned()))
        );
    }

    #[test]
    fn invalid_values_name_their_variable() {
        // Endpoints and headers: falling back would send data elsewhere or without its
        // credentials.
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "bad name=1"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
        ] {
            let mut pairs = vec![(var, value)];
            if var != "OTEL_EXPORTER_OTLP_ENDPOINT" {
                pairs.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"));
            }
            let err = resolve_env(&pairs).expect_err(var);
            assert_eq!(source(err), var, "{var}={value}");
        }
        let err = resolve_env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318")]).unwrap_err();
        assert!(err.to_string().contains("TLS"), "{err}");
    }

    #[test]
    fn other_unusable_variables_are_ignored() {
        // Often set cluster-wide for other SDKs: a warning and the default, never a
        // failed `install()`.
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ("OTEL_PROPAGATORS", "jaeger"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_METRICS_EXPORTER", "console"),
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_BSP_SCHEDULE_DELAY", "0"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"),
        ] {
            let mut pairs = vec![
                (var, value),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ];
            if var == "OTEL_TRACES_SAMPLER_ARG" {
                pairs.push(("OTEL_TRACES_SAMPLER", "traceidratio"));
            }
            let c = resolve_env(&pairs).unwrap_or_else(|e| panic!("{var}={value}: {e}"));
            let defaults = resolve_env(&pairs[1..]).unwrap();
            let t = c.traces.as_ref().expect("traces stay on");
            let d = defaults.traces.as_ref().unwrap();
            assert_eq!((t.protocol, t.timeout), (d.protocol, d.timeout), "{var}");
            assert!(c.metrics.is_some(), "{var}");
            assert!(!c.disabled);
            assert_eq!(c.metric_interval, DEFAULT_METRIC_INTERVAL);
            assert_eq!(c.schedule_delay, DEFAULT_SCHEDULE_DELAY);
            assert_eq!((c.queue_size, c.batch_size), (2048, 512));
            if var == "OTEL_TRACES_SAMPLER_ARG" {
                assert_eq!(c.sampler, Sampler::TraceIdRatio(1.0));
            } else {
                assert_eq!(c.sampler, Sampler::ParentBasedAlwaysOn, "{var}");
            }
            assert_eq!(
                c.propagators,
                vec![Propagation::TraceContext, Propagation::Baggage],
                "{var}"
            );
        }
        // Known names next to an unknown one are kept.
        let c = resolve_env(&[("OTEL_PROPAGATORS", "jaeger,b3")]).unwrap();
        assert_eq!(c.propagators, vec![Propagation::B3Single]);
        let c = resolve_env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_EXPORTER", "zipkin,none"),
        ])
        .unwrap();
        assert!(c.traces.is_none());
        // Builder values stay errors.
        let settings = OtlpSettings {
            sampler: Some(Sampler::TraceIdRatio(1.5)),
            ..OtlpSettings::default()
        };
        assert_eq!(
            source(resolve(&settings, &env(&[]), "svc", None).unwrap_err()),
            "sampler"
        );
    }
}
