//! The `OTEL_*` variables read leniently, and the choices they name (protocol, sampler,
//! propagators, exporters).
//!
//! An unusable value is ignored with a warning and the default applies
//! (`settings::Policy::Lenient`), as the specification asks: these variables are often
//! set cluster-wide for other SDKs, and one of them must not take `/metrics` and the
//! health probes down with `install()`. Endpoints and headers are not read here: they
//! stay errors (see `endpoint`), since falling back would send data elsewhere, or
//! without its credentials.

use std::time::Duration;

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

/// `true` or `false`; anything else is ignored.
pub(super) fn bool_var(env: EnvLookup<'_>, name: &str) -> Option<bool> {
    settings::read_lenient(env, name, settings::boolean)
}

/// A positive number of milliseconds.
pub(super) fn millis_var(env: EnvLookup<'_>, name: &str) -> Option<Duration> {
    settings::read_lenient(env, name, settings::millis)
}

/// A positive count.
pub(super) fn count_var(env: EnvLookup<'_>, name: &str) -> Option<usize> {
    settings::read_lenient(env, name, settings::positive)
}

/// Exporter names of `OTEL_TRACES_EXPORTER` / `OTEL_METRICS_EXPORTER`: whether OTLP
/// export is asked for; `None` when the variable is unset or names no exporter known
/// here (unknown names are ignored with a warning).
pub(super) fn exporter_var(env: EnvLookup<'_>, name: &str, allowed: &[&str]) -> Option<bool> {
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
pub(super) fn protocol_var(env: EnvLookup<'_>, name: &str) -> Option<OtlpProtocol> {
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

/// Warns about `OTEL_EXPORTER_OTLP_COMPRESSION` and its per-signal form (`upper` is
/// `TRACES` or `METRICS`) when they ask for compression: requests are sent uncompressed.
pub(super) fn warn_compression(env: EnvLookup<'_>, upper: &str) {
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
}

/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`,
/// ratio 1).
pub(super) fn sampler(env: EnvLookup<'_>) -> Sampler {
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
pub(super) fn propagators(env: EnvLookup<'_>) -> Vec<Propagation> {
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::test_env as env;

    #[test]
    fn samplers_and_their_ratio() {
        assert_eq!(sampler(&env(&[])), Sampler::ParentBasedAlwaysOn);
        for (name, expected) in [
            ("always_on", Sampler::AlwaysOn),
            ("ALWAYS_OFF", Sampler::AlwaysOff),
            (" traceidratio ", Sampler::TraceIdRatio(0.5)),
            ("parentbased_always_off", Sampler::ParentBasedAlwaysOff),
            (
                "parentbased_traceidratio",
                Sampler::ParentBasedTraceIdRatio(0.5),
            ),
            ("sometimes", Sampler::ParentBasedAlwaysOn),
        ] {
            let chosen = sampler(&env(&[
                ("OTEL_TRACES_SAMPLER", name),
                ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ]));
            assert_eq!(chosen, expected, "{name}");
        }
        for arg in ["1.5", "-0.1", "half"] {
            let chosen = sampler(&env(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", arg),
            ]));
            assert_eq!(chosen, Sampler::TraceIdRatio(1.0), "{arg}");
        }
    }

    #[test]
    fn propagators_keep_known_names_in_order() {
        let p = |v: &str| propagators(&env(&[("OTEL_PROPAGATORS", v)]));
        assert_eq!(
            p("b3multi, TraceContext,b3multi"),
            [Propagation::B3Multi, Propagation::TraceContext]
        );
        // Known names next to an unknown one are kept.
        assert_eq!(p("jaeger,b3"), [Propagation::B3Single]);
        // Only unknown names: as if unset; `none` alone: no propagation.
        assert_eq!(
            p("jaeger"),
            [Propagation::TraceContext, Propagation::Baggage]
        );
        assert_eq!(p("none"), []);
    }

    #[test]
    fn exporters_and_protocols() {
        let traces = |v: &str| {
            exporter_var(
                &env(&[("OTEL_TRACES_EXPORTER", v)]),
                "OTEL_TRACES_EXPORTER",
                &["otlp", "none"],
            )
        };
        assert_eq!(traces("otlp"), Some(true));
        assert_eq!(traces("none"), Some(false));
        assert_eq!(traces("zipkin"), None);
        assert_eq!(traces("zipkin,none"), Some(false));
        assert_eq!(traces("zipkin,OTLP"), Some(true));
        let protocol = |v: &str| protocol_var(&env(&[("P", v)]), "P");
        assert_eq!(protocol("grpc"), Some(OtlpProtocol::Grpc));
        assert_eq!(protocol("HTTP/protobuf"), Some(OtlpProtocol::HttpProtobuf));
        assert_eq!(protocol("http/json"), None);
        assert_eq!(protocol("carrier-pigeon"), None);
    }
}
