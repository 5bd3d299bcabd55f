//! The core settings `install()` resolves itself: where the embedded server listens and
//! the service's name. Every invalid value is an error that names its environment
//! variable or builder method.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::error::Error;
use crate::settings::{self, EnvLookup};

/// Default address of the embedded server: loopback, the OpenTelemetry Prometheus port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// Where the embedded server listens, as given in code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListenSetting {
    Addr(String),
    Off,
}

/// Parses `host:port`, `:port`, or `off`/`none`/`disabled`.
pub(crate) fn parse_listen(source: &str, value: &str) -> Result<Option<SocketAddr>, Error> {
    let value = value.trim();
    if matches!(
        value.to_ascii_lowercase().as_str(),
        "off" | "none" | "disabled" | "false"
    ) {
        return Ok(None);
    }
    let candidate = if let Some(port) = value.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        value.to_owned()
    };
    if let Ok(addr) = candidate.parse::<SocketAddr>() {
        return Ok(Some(addr));
    }
    let resolved = candidate
        .to_socket_addrs()
        .map_err(|e| {
            Error::config(
                source,
                format!("`{value}` is not `host:port` or `off` ({e})"),
            )
        })?
        .next();
    resolved
        .map(Some)
        .ok_or_else(|| Error::config(source, format!("`{value}` resolves to no address")))
}

fn parse_port(source: &str, value: &str) -> Result<u16, Error> {
    value
        .trim()
        .parse::<u16>()
        .map_err(|_| Error::config(source, format!("`{value}` is not a port number (0-65535)")))
}

/// The embedded server address: `listen(..)`, then `FLEXT_OBS_LISTEN`, then the OpenTelemetry
/// variables `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT`, then `PROMETHEUS_PORT`, then
/// [`DEFAULT_LISTEN`]. Hosts default to loopback.
pub(crate) fn resolve_listen(
    code: Option<&ListenSetting>,
    env: EnvLookup<'_>,
) -> Result<Option<SocketAddr>, Error> {
    match code {
        Some(ListenSetting::Off) => return Ok(None),
        Some(ListenSetting::Addr(a)) => return parse_listen("listen", a),
        None => {}
    }
    if let Some(v) = env("FLEXT_OBS_LISTEN") {
        return parse_listen("FLEXT_OBS_LISTEN", &v);
    }
    let host = env("OTEL_EXPORTER_PROMETHEUS_HOST");
    let port = match env("OTEL_EXPORTER_PROMETHEUS_PORT") {
        Some(p) => Some(parse_port("OTEL_EXPORTER_PROMETHEUS_PORT", &p)?),
        None => match env("PROMETHEUS_PORT") {
            Some(p) => Some(parse_port("PROMETHEUS_PORT", &p)?),
            None => None,
        },
    };
    if host.is_none() && port.is_none() {
        // Without the `server` feature there is nothing to listen with by default.
        return Ok(cfg!(feature = "server").then_some(DEFAULT_LISTEN));
    }
    let host = host.unwrap_or_else(|| "127.0.0.1".into());
    let port = port.unwrap_or(DEFAULT_LISTEN.port());
    let joined = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    parse_listen("OTEL_EXPORTER_PROMETHEUS_HOST", &joined)
}

/// `service_name(..)`, then `AUTOMETRICS_SERVICE_NAME` (the autometrics specification
/// reads it before `OTEL_SERVICE_NAME`), then `OTEL_SERVICE_NAME`, then `service.name` in
/// `OTEL_RESOURCE_ATTRIBUTES`, then the executable's name.
pub(crate) fn resolve_service_name(
    code: Option<&str>,
    env: EnvLookup<'_>,
) -> Result<String, Error> {
    if let Some(name) = code {
        return non_empty("service_name", name);
    }
    if let Some(name) = env("AUTOMETRICS_SERVICE_NAME") {
        return non_empty("AUTOMETRICS_SERVICE_NAME", &name);
    }
    if let Some(name) = env("OTEL_SERVICE_NAME") {
        return non_empty("OTEL_SERVICE_NAME", &name);
    }
    // The specification puts `OTEL_SERVICE_NAME` first (the OpenTelemetry SDK does not).
    if let Some(attrs) = env("OTEL_RESOURCE_ATTRIBUTES")
        && let Some((_, name)) = settings::pairs("OTEL_RESOURCE_ATTRIBUTES", &attrs)?
            .into_iter()
            .rev()
            .find(|(k, _)| k == "service.name")
    {
        return non_empty("OTEL_RESOURCE_ATTRIBUTES", &name);
    }
    Ok(std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map_or_else(
            || "unknown_service".to_owned(),
            |exe| format!("unknown_service:{exe}"),
        ))
}

/// The request header that carries a correlation id: `LOG_CORRELATION_ID_HEADER`, else
/// `X-Correlation-ID`.
pub(crate) fn resolve_correlation_header(env: EnvLookup<'_>) -> Result<String, Error> {
    match env("LOG_CORRELATION_ID_HEADER") {
        Some(name) if crate::span_ids::is_header_name(name.trim()) => Ok(name.trim().to_owned()),
        Some(name) => Err(Error::config(
            "LOG_CORRELATION_ID_HEADER",
            format!("`{name}` is not a header name"),
        )),
        None => Ok(crate::span_ids::DEFAULT_CORRELATION_HEADER.to_owned()),
    }
}

fn non_empty(source: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        Err(Error::config(source, "the service name is empty"))
    } else {
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::test_env as env;

    #[test]
    fn listen_precedence_and_errors() {
        let e = env(&[]);
        let default = cfg!(feature = "server").then_some(DEFAULT_LISTEN);
        assert_eq!(resolve_listen(None, &e).unwrap(), default);
        let e = env(&[
            ("FLEXT_OBS_LISTEN", "0.0.0.0:9000"),
            ("PROMETHEUS_PORT", "1"),
        ]);
        assert_eq!(
            resolve_listen(None, &e).unwrap(),
            Some("0.0.0.0:9000".parse().unwrap())
        );
        let code = ListenSetting::Addr("127.0.0.1:7000".into());
        assert_eq!(
            resolve_listen(Some(&code), &e).unwrap(),
            Some("127.0.0.1:7000".parse().unwrap())
        );
        let e = env(&[("FLEXT_OBS_LISTEN", "off")]);
        assert_eq!(resolve_listen(None, &e).unwrap(), None);
        let e = env(&[("PROMETHEUS_PORT", "9100")]);
        assert_eq!(
            resolve_listen(None, &e).unwrap(),
            Some("127.0.0.1:9100".parse().unwrap())
        );
        let e = env(&[("FLEXT_OBS_LISTEN", "nonsense:port")]);
        let err = resolve_listen(None, &e).unwrap_err().to_string();
        assert!(err.contains("FLEXT_OBS_LISTEN"), "{err}");
        let e = env(&[("OTEL_EXPORTER_PROMETHEUS_PORT", "99999")]);
        let err = resolve_listen(None, &e).unwrap_err().to_string();
        assert!(err.contains("OTEL_EXPORTER_PROMETHEUS_PORT"), "{err}");
    }

    #[test]
    fn service_name() {
        let e = env(&[("OTEL_SERVICE_NAME", "orders")]);
        assert_eq!(resolve_service_name(None, &e).unwrap(), "orders");
        assert_eq!(
            resolve_service_name(Some("billing"), &e).unwrap(),
            "billing"
        );
        let e = env(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from%20attrs"),
            ("OTEL_SERVICE_NAME", "orders"),
        ]);
        assert_eq!(resolve_service_name(None, &e).unwrap(), "orders");
        let e = env(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1,service.name=from%20attrs")]);
        assert_eq!(resolve_service_name(None, &e).unwrap(), "from attrs");
        let e = env(&[
            ("AUTOMETRICS_SERVICE_NAME", "checkout"),
            ("OTEL_SERVICE_NAME", "orders"),
        ]);
        assert_eq!(resolve_service_name(None, &e).unwrap(), "checkout");
        // Blank is unset: the next source is used.
        let e = env(&[("OTEL_SERVICE_NAME", " ")]);
        assert!(
            resolve_service_name(None, &e)
                .unwrap()
                .starts_with("unknown_service")
        );
        assert!(
            resolve_service_name(Some(" "), &e)
                .unwrap_err()
                .to_string()
                .contains("service_name")
        );
    }
}
