//! Settings: code over environment over defaults. Every invalid value is an error that
//! names its environment variable or builder method.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use crate::Error;

/// Default address of the embedded server: loopback, the OpenTelemetry Prometheus port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// Reads one environment variable. Tests pass a map instead of the process environment.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment. An empty (or blank) value counts as unset, as the
/// OpenTelemetry specification requires for its variables: `OTEL_SERVICE_NAME=` in a
/// deployment template must not turn anything off or fail `install()`.
pub(crate) fn process_env(name: &str) -> Option<String> {
    set(std::env::var(name).ok())
}

/// `None` for an absent or blank value.
fn set(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

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

/// `service_name(..)`, then `OTEL_SERVICE_NAME`, then `service.name` in
/// `OTEL_RESOURCE_ATTRIBUTES`, then the executable's name.
pub(crate) fn resolve_service_name(
    code: Option<&str>,
    env: EnvLookup<'_>,
) -> Result<String, Error> {
    if let Some(name) = code {
        return non_empty("service_name", name);
    }
    if let Some(name) = env("OTEL_SERVICE_NAME") {
        return non_empty("OTEL_SERVICE_NAME", &name);
    }
    // The specification puts `OTEL_SERVICE_NAME` first (the OpenTelemetry SDK does not).
    if let Some(attrs) = env("OTEL_RESOURCE_ATTRIBUTES")
        && let Some((_, name)) = parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &attrs)?
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

fn non_empty(source: &str, value: &str) -> Result<String, Error> {
    let value = value.trim();
    if value.is_empty() {
        Err(Error::config(source, "the service name is empty"))
    } else {
        Ok(value.to_owned())
    }
}

/// Decodes `%XX` escapes (W3C baggage octets, as `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` values use).
pub(crate) fn percent_decode(source: &str, value: &str) -> Result<String, Error> {
    decode_percent(value).map_err(|reason| Error::config(source, reason))
}

/// The one percent decoder (settings here, URL paths and queries in `health::http`):
/// every `%` must be followed by exactly two hex digits, and the result must be UTF-8.
pub(crate) fn decode_percent(value: &str) -> Result<String, &'static str> {
    // Digit by digit: `u8::from_str_radix` would also take a sign (`%+f`).
    fn hex(digit: u8) -> Option<u8> {
        char::from(digit)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = match bytes.get(i + 1..i + 3) {
                Some(&[high, low]) => hex(high).zip(hex(low)).map(|(h, l)| h << 4 | l),
                _ => None,
            }
            .ok_or("a `%` is not followed by two hex digits")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-decoding gives invalid UTF-8")
}

/// `key1=value1,key2=value2`, values percent-decoded. Errors never quote the value (it
/// may be a secret).
pub(crate) fn parse_pairs(source: &str, value: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (n, item) in value.split(',').enumerate() {
        if item.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(Error::config(
                source,
                format!("entry {} is not `key=value`", n + 1),
            ));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(Error::config(
                source,
                format!("entry {} has an empty key", n + 1),
            ));
        }
        out.push((
            percent_decode(source, k)?,
            percent_decode(source, v.trim())?,
        ));
    }
    Ok(out)
}

/// Checks bucket bounds given in code: finite, strictly increasing, not empty. Facade
/// histograms may record any value, so negative bounds are allowed.
pub(crate) fn check_bounds(source: &str, bounds: &[f64]) -> Result<(), Error> {
    if bounds.is_empty() {
        return Err(Error::config(source, "the bucket list is empty"));
    }
    for (i, &b) in bounds.iter().enumerate() {
        if !b.is_finite() {
            return Err(Error::config(
                source,
                format!("bucket bound {b} is not finite"),
            ));
        }
        if i > 0 && b <= bounds[i - 1] {
            return Err(Error::config(
                source,
                format!(
                    "bucket bounds must increase strictly: {} then {b}",
                    bounds[i - 1]
                ),
            ));
        }
    }
    Ok(())
}

/// An environment made of `pairs`, for tests that must not touch the process's.
#[cfg(test)]
pub(crate) fn test_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    // Empty counts as unset, like `process_env`.
    move |k| set(map.get(k).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_env as env;

    #[test]
    fn listen_precedence_and_errors() {
        let e = env(&[]);
        assert_eq!(resolve_listen(None, &e).unwrap(), Some(DEFAULT_LISTEN));
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

    #[test]
    fn empty_variables_are_unset() {
        assert_eq!(set(Some(String::new())), None);
        assert_eq!(set(Some(" \t".into())), None);
        assert_eq!(set(Some(" x ".into())).as_deref(), Some(" x "));
        let e = env(&[("FLEXT_OBS_LISTEN", ""), ("PROMETHEUS_PORT", "9100")]);
        assert_eq!(e("FLEXT_OBS_LISTEN"), None);
        assert_eq!(
            resolve_listen(None, &e).unwrap(),
            Some("127.0.0.1:9100".parse().unwrap())
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("s", "a%20b%2Cc%3a%C3%A9").unwrap(),
            "a b,c:\u{e9}"
        );
        assert_eq!(percent_decode("s", "plain+text").unwrap(), "plain+text");
        for bad in ["%+f", "%-1", "%+1", "a%2", "%", "%zz", "%%41", "%1 "] {
            let err = percent_decode("OTEL_RESOURCE_ATTRIBUTES", bad)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("OTEL_RESOURCE_ATTRIBUTES") && err.contains("two hex digits"),
                "{bad}: {err}"
            );
        }
        assert!(
            percent_decode("s", "%FF")
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
    }

    #[test]
    fn bounds() {
        assert!(check_bounds("b", &[0.1, 1.0]).is_ok());
        assert!(check_bounds("b", &[]).is_err());
        assert!(check_bounds("b", &[1.0, 0.1]).is_err());
        assert!(check_bounds("b", &[f64::NAN]).is_err());
    }
}
