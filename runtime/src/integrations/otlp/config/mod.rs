//! OTLP settings: builder over the standard `OTEL_*` variables over defaults. An invalid
//! builder value, endpoint or header is an [`Error::Config`] naming its method or
//! variable; any other unusable `OTEL_*` value is ignored with a warning, as the
//! specification asks.
//!
//! Unlike the OpenTelemetry SDK this follows the specification where the SDK does not:
//! `service.name` from `OTEL_SERVICE_NAME` wins over `OTEL_RESOURCE_ATTRIBUTES`, values
//! there are percent-decoded, and `OTEL_PROPAGATORS`, `OTEL_TRACES_EXPORTER`,
//! `OTEL_METRICS_EXPORTER` and `OTEL_SDK_DISABLED` are honoured.
//!
//! Here: what the builder set, what is resolved, and the order of the sources. The
//! lenient `OTEL_*` readers are in `environment`, the endpoint and header rules in
//! `endpoint`; the resource attributes are the core's (`crate::identity`), the same on
//! `/metrics` (`target_info`) and every other export.

mod endpoint;
mod environment;

use std::time::Duration;

use self::endpoint::{HeaderPairs, Headers};
pub use self::environment::{OtlpProtocol, Propagation, Sampler};
use crate::error::Error;
use crate::identity::Resource;
use crate::settings::EnvLookup;

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

/// A duration given in code, which must be positive.
fn positive(source: &str, d: Duration) -> Result<Duration, Error> {
    if d.is_zero() {
        Err(Error::config(source, "must be positive"))
    } else {
        Ok(d)
    }
}

/// A positive number of milliseconds from `name`, clamped to [`MAX_DURATION`].
fn clamped_millis(env: EnvLookup<'_>, name: &str) -> Option<Duration> {
    environment::millis_var(env, name).map(|d| d.min(MAX_DURATION))
}

/// Where and how the signal `upper` (`TRACES`, `METRICS`) is sent; `path` is appended
/// to base URLs for HTTP.
fn signal(
    settings: &OtlpSettings,
    env: EnvLookup<'_>,
    upper: &str,
    path: &str,
) -> Result<SignalConfig, Error> {
    let per_signal = format!("OTEL_EXPORTER_OTLP_{upper}_PROTOCOL");
    let protocol = settings
        .protocol
        .or_else(|| environment::protocol_var(env, &per_signal))
        .or_else(|| environment::protocol_var(env, "OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or(OtlpProtocol::HttpProtobuf);
    let endpoint = endpoint::endpoint(settings.endpoint.as_deref(), env, protocol, upper, path)?;
    let headers = endpoint::headers(&settings.headers, env, upper)?;
    let timeout = match settings.timeout {
        Some(t) => positive("otlp_timeout", t)?.min(MAX_DURATION),
        None => clamped_millis(env, &format!("OTEL_EXPORTER_OTLP_{upper}_TIMEOUT"))
            .or_else(|| clamped_millis(env, "OTEL_EXPORTER_OTLP_TIMEOUT"))
            .unwrap_or(DEFAULT_TIMEOUT),
    };
    environment::warn_compression(env, upper);
    Ok(SignalConfig {
        protocol,
        endpoint,
        headers,
        timeout,
    })
}

/// Resolves every OTLP setting; the resource is the one `install()` resolved.
pub(crate) fn resolve(
    settings: &OtlpSettings,
    env: EnvLookup<'_>,
    resource: &Resource,
) -> Result<OtlpConfig, Error> {
    let disabled = settings
        .disabled
        .or_else(|| environment::bool_var(env, "OTEL_SDK_DISABLED"))
        .unwrap_or(false);
    let traces_var = environment::exporter_var(env, "OTEL_TRACES_EXPORTER", &["otlp", "none"]);
    let metrics_var = environment::exporter_var(
        env,
        "OTEL_METRICS_EXPORTER",
        &["otlp", "prometheus", "none"],
    );
    // Export is opt-in: an endpoint (in code or environment) or an explicit exporter.
    let want_traces = settings
        .traces
        .or(traces_var)
        .unwrap_or_else(|| endpoint::given(settings.endpoint.is_some(), env, "TRACES"));
    let want_metrics = settings
        .metrics
        .or(metrics_var)
        .unwrap_or_else(|| endpoint::given(settings.endpoint.is_some(), env, "METRICS"));
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
        Some(d) => positive("metric_export_interval", d)?.min(MAX_DURATION),
        None => {
            clamped_millis(env, "OTEL_METRIC_EXPORT_INTERVAL").unwrap_or(DEFAULT_METRIC_INTERVAL)
        }
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
        None => environment::sampler(env),
    };
    let propagators = match &settings.propagators {
        Some(p) => p.clone(),
        None => environment::propagators(env),
    };
    let resource = resource.attributes.clone();
    let queue_size = match settings.queue_size {
        Some(0) => return Err(Error::config("otlp_queue_size", "must be at least 1")),
        Some(n) => n,
        None => environment::count_var(env, "OTEL_BSP_MAX_QUEUE_SIZE").unwrap_or(2048),
    }
    .min(MAX_QUEUE_SIZE);
    let batch_size = environment::count_var(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE")
        .unwrap_or(512)
        .min(queue_size);
    let schedule_delay =
        clamped_millis(env, "OTEL_BSP_SCHEDULE_DELAY").unwrap_or(DEFAULT_SCHEDULE_DELAY);
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

    fn svc() -> Resource {
        let none = crate::identity::ResourceSettings::default();
        crate::identity::resolve_resource(&none, &env(&[]), "svc", None).unwrap()
    }

    fn resolve_env(pairs: &[(&str, &str)]) -> Result<OtlpConfig, Error> {
        resolve(&OtlpSettings::default(), &env(pairs), &svc())
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
            &svc(),
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
        let c = resolve(&settings, &env(&[("OTEL_TRACES_EXPORTER", "otlp")]), &svc()).unwrap();
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
            let err = resolve(&builder, &env(&[]), &svc()).expect_err(source);
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
            &svc(),
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
    fn invalid_values_name_their_variable() {
        // Endpoints and headers: falling back would send data elsewhere or without its
        // credentials.
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "bad name=1"),
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
        // Builder values stay errors.
        let settings = OtlpSettings {
            sampler: Some(Sampler::TraceIdRatio(1.5)),
            ..OtlpSettings::default()
        };
        assert_eq!(
            source(resolve(&settings, &env(&[]), &svc()).unwrap_err()),
            "sampler"
        );
    }
}
