//! Where a signal is sent and with which headers: URL rules, the per-signal and general
//! `OTEL_EXPORTER_OTLP_*` endpoints and headers, and the builder's values over them.
//!
//! Unlike the rest of the `OTEL_*` variables, an unusable endpoint or header is an
//! [`Error::Config`] naming its variable or method: falling back would send data
//! elsewhere, or without its credentials.

use super::environment::OtlpProtocol;
use crate::error::Error;
use crate::percent::redact_urls;
use crate::settings::{self, EnvLookup};

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

/// Whether an endpoint for the signal `upper` (`TRACES`, `METRICS`) is configured, in
/// code (`code`) or in the environment: export is opt-in.
pub(super) fn given(code: bool, env: EnvLookup<'_>, upper: &str) -> bool {
    code || env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || env(&format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT")).is_some()
}

/// The full URL of the signal `upper` (`TRACES`, `METRICS`): the builder's base URL, else
/// the per-signal variable (used as given), else the general one (a base URL), else the
/// protocol's local default. Base URLs get `path` (`v1/traces`) appended for HTTP.
pub(super) fn endpoint(
    code: Option<&str>,
    env: EnvLookup<'_>,
    protocol: OtlpProtocol,
    upper: &str,
    path: &str,
) -> Result<http::Uri, Error> {
    let per_signal = format!("OTEL_EXPORTER_OTLP_{upper}_ENDPOINT");
    Ok(if let Some(url) = code {
        base("otlp_endpoint", url, protocol, path)?
    } else if let Some(url) = env(&per_signal) {
        check_endpoint(&per_signal, &url)?
    } else if let Some(url) = env("OTEL_EXPORTER_OTLP_ENDPOINT") {
        base("OTEL_EXPORTER_OTLP_ENDPOINT", &url, protocol, path)?
    } else {
        http::Uri::from_static(match protocol {
            OtlpProtocol::HttpProtobuf if upper == "TRACES" => "http://localhost:4318/v1/traces",
            OtlpProtocol::HttpProtobuf => "http://localhost:4318/v1/metrics",
            OtlpProtocol::Grpc => "http://localhost:4317",
        })
    })
}

/// A base URL: the signal's `path` appended for HTTP, the server address for gRPC.
fn base(source: &str, url: &str, protocol: OtlpProtocol, path: &str) -> Result<http::Uri, Error> {
    let uri = check_endpoint(source, url)?;
    Ok(match protocol {
        OtlpProtocol::HttpProtobuf => {
            let joined = format!("{}/{path}", url.trim().trim_end_matches('/'));
            joined.parse().map_err(|_| {
                Error::config(source, format!("`{}` is not a base URL", redact_urls(url)))
            })?
        }
        OtlpProtocol::Grpc => uri,
    })
}

fn check_endpoint(source: &str, value: &str) -> Result<http::Uri, Error> {
    let uri: http::Uri = value
        .trim()
        .parse()
        .map_err(|_| Error::config(source, format!("`{}` is not a URL", redact_urls(value))))?;
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
                format!("`{}` must start with `http://`", redact_urls(value)),
            ));
        }
    }
    if uri.authority().is_none() {
        return Err(Error::config(
            source,
            format!("`{}` has no host", redact_urls(value)),
        ));
    }
    Ok(uri)
}

/// The headers of the signal `upper`: the per-signal variable, else the general one,
/// then the builder's, which replace same-named ones.
pub(super) fn headers(
    code: &HeaderPairs,
    env: EnvLookup<'_>,
    upper: &str,
) -> Result<Headers, Error> {
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
    for (name, value) in header_map("otlp_header", &code.0)? {
        if let Some(name) = name {
            headers.insert(name, value);
        }
    }
    Ok(Headers(headers))
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::test_env as env;

    fn source(err: Error) -> String {
        match err {
            Error::Config { source, .. } => source,
            other => panic!("not a config error: {other}"),
        }
    }

    #[test]
    fn code_then_per_signal_then_general_then_default() {
        let http = OtlpProtocol::HttpProtobuf;
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318/"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:1/custom",
            ),
        ]);
        let url = |code, protocol, upper, path| endpoint(code, &e, protocol, upper, path).unwrap();
        assert_eq!(
            url(Some("http://code:1/base/"), http, "TRACES", "v1/traces"),
            "http://code:1/base/v1/traces"
        );
        assert_eq!(
            url(None, http, "TRACES", "v1/traces"),
            "http://traces:1/custom"
        );
        assert_eq!(
            url(None, http, "METRICS", "v1/metrics"),
            "http://general:4318/v1/metrics"
        );
        assert_eq!(
            url(None, OtlpProtocol::Grpc, "METRICS", "v1/metrics"),
            "http://general:4318/"
        );
        let none = env(&[]);
        assert_eq!(
            endpoint(None, &none, http, "METRICS", "v1/metrics").unwrap(),
            "http://localhost:4318/v1/metrics"
        );
        assert_eq!(
            endpoint(None, &none, OtlpProtocol::Grpc, "TRACES", "v1/traces").unwrap(),
            "http://localhost:4317/"
        );
        assert!(given(false, &e, "METRICS") && given(true, &none, "TRACES"));
        assert!(!given(false, &none, "TRACES"));
    }

    #[test]
    fn only_plain_http_urls_with_a_host() {
        for (value, says) in [
            ("not a url", "is not a URL"),
            ("https://c:4318", "TLS"),
            ("ftp://c:4318", "must start with `http://`"),
            ("/v1/traces", "must start with `http://`"),
        ] {
            let err = check_endpoint("S", value).unwrap_err().to_string();
            assert!(err.contains("`S`") && err.contains(says), "{value}: {err}");
        }
        assert!(check_endpoint("S", " http://c:4318/x ").is_ok());
        // Credentials and query values never reach the error.
        for value in [
            "ftp://user:S3CRET@collector:4318?token=T0KEN",
            "http://user:S3CRET@?token=T0KEN",
        ] {
            let err = check_endpoint("S", value).unwrap_err().to_string();
            assert!(
                !err.contains("S3CRET") && !err.contains("T0KEN"),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn headers_per_signal_over_general_and_code_over_both() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "m=3,a=4"),
        ]);
        let code = HeaderPairs(vec![("a".into(), "code".into())]);
        let t = headers(&code, &e, "TRACES").unwrap().0;
        assert_eq!(t.len(), 2);
        assert_eq!(t["a"], "code");
        assert_eq!(t["b"], "2");
        let m = headers(&HeaderPairs::default(), &e, "METRICS").unwrap().0;
        assert_eq!(m.len(), 2);
        assert_eq!(m["m"], "3");
        assert_eq!(m["a"], "4");
        let bad = HeaderPairs(vec![("bad name".into(), "x".into())]);
        assert_eq!(
            source(headers(&bad, &e, "TRACES").unwrap_err()),
            "otlp_header"
        );
        let err = headers(
            &HeaderPairs(vec![("k".into(), "secret\n".into())]),
            &env(&[]),
            "TRACES",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
