//! The server layer's options.

use std::sync::{Arc, OnceLock};

use ::http::HeaderName;

use super::semconv::KnownMethods;

/// Paths the server layer does not measure unless told otherwise: the embedded server's
/// `/metrics` and probes, and the usual probe paths of applications that serve their own.
pub const DEFAULT_EXCLUDED_PATHS: &[&str] = &[
    "/metrics",
    "/livez",
    "/readyz",
    "/startupz",
    "/health",
    "/healthz",
];

/// The environment variable that replaces the list of known methods, as the semantic
/// conventions require (comma-separated, case-sensitive).
pub const KNOWN_METHODS_ENV: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

#[derive(Clone, Debug)]
#[allow(clippy::struct_excessive_bools)] // independent switches, one builder method each
pub(crate) struct Config {
    pub(crate) methods: KnownMethods,
    pub(crate) excluded: Vec<Box<str>>,
    /// The second bytes of the excluded paths, as a set: most paths are told apart by
    /// one lookup.
    second_bytes: [u64; 4],
    pub(crate) body_sizes: bool,
    pub(crate) spans: bool,
    pub(crate) correlation: bool,
    pub(crate) correlation_header: OnceLock<HeaderName>,
    pub(crate) default_scheme: u8,
    pub(crate) forwarded_proto: bool,
    pub(crate) active_requests: bool,
}

impl Config {
    /// Whether `path` is excluded: equal to an excluded path, or below it (`/livez/db`
    /// under `/livez`).
    #[inline]
    pub(crate) fn excluded(&self, path: &str) -> bool {
        if let Some(&b) = path.as_bytes().get(1)
            && self.second_bytes[usize::from(b >> 6)] & (1 << (b & 63)) == 0
        {
            return false;
        }
        self.excluded.iter().any(|e| {
            path.strip_prefix(&**e)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    fn index(&mut self) {
        self.second_bytes = [0; 4];
        for path in &self.excluded {
            // "/" excludes only itself: a path with a second byte is never it.
            if let Some(&b) = path.as_bytes().get(1) {
                self.second_bytes[usize::from(b >> 6)] |= 1 << (b & 63);
            }
        }
    }

    /// The correlation header: the one set on the layer, else `install()`'s, read on the
    /// first request.
    #[inline]
    pub(crate) fn correlation_header(&self) -> &HeaderName {
        self.correlation_header
            .get_or_init(super::correlation::configured_header)
    }
}

/// Measures, traces and correlates every request of an HTTP service: a
/// [`tower::Layer`](tower_layer::Layer) for any service of `http::Request`s and
/// `http::Response`s (axum, hyper, tonic).
///
/// ```
/// use flext_observability::http::ServerLayer;
///
/// let layer = ServerLayer::new()
///     .exclude("/internal")        // also /internal/...
///     .body_sizes(true)            // opt-in size histograms
///     .scheme("https");            // behind a TLS-terminating proxy
/// # let _ = layer;
/// ```
///
/// With axum, add it with `Router::layer` (not around the router from outside), so it
/// sees the matched route template. See the [module docs](super) for what it records.
#[derive(Clone, Debug)]
pub struct ServerLayer {
    pub(crate) config: Arc<Config>,
}

impl Default for ServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerLayer {
    /// Metrics, a span per request and correlation ids; `/metrics` and the probe paths
    /// ([`DEFAULT_EXCLUDED_PATHS`]) excluded. Reads
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` (an unusable entry is ignored with one
    /// warning).
    pub fn new() -> Self {
        let mut config = Config {
            methods: methods_from_env(&crate::settings::process_env),
            excluded: DEFAULT_EXCLUDED_PATHS
                .iter()
                .map(|p| Box::from(*p))
                .collect(),
            body_sizes: false,
            spans: true,
            correlation: true,
            correlation_header: OnceLock::new(),
            default_scheme: 0,
            forwarded_proto: false,
            active_requests: true,
            second_bytes: [0; 4],
        };
        config.index();
        ServerLayer {
            config: Arc::new(config),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        f(config);
        config.index();
        self
    }

    /// Leaves requests for `path` and the paths below it unmeasured and untraced.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().exclude("/favicon.ico").exclude("/static");
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn exclude(self, path: impl Into<String>) -> Self {
        let path = path.into();
        let path = path.trim_end_matches('/');
        let path: Box<str> = if path.is_empty() {
            "/".into()
        } else {
            path.into()
        };
        self.with(|c| {
            if !c.excluded.contains(&path) {
                c.excluded.push(path);
            }
        })
    }

    /// Measures the default-excluded paths too ([`DEFAULT_EXCLUDED_PATHS`]); paths given
    /// to [`exclude`](Self::exclude) stay excluded.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().include_default_paths().exclude("/metrics");
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn include_default_paths(self) -> Self {
        self.with(|c| {
            c.excluded
                .retain(|p| !DEFAULT_EXCLUDED_PATHS.contains(&&**p));
        })
    }

    /// Records `http.server.request.body.size` and `http.server.response.body.size`
    /// (Development status in the conventions, hence off by default). Sizes come from
    /// `Content-Length` (requests) and the body's exact size (responses); bodies of
    /// unknown length (streams) are not recorded.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().body_sizes(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn body_sizes(self, on: bool) -> Self {
        self.with(|c| c.body_sizes = on)
    }

    /// Whether to open a server span per request (default `true`). Off, requests are
    /// still measured and correlated.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let metrics_only = ServerLayer::new().spans(false).correlation(false);
    /// # let _ = metrics_only;
    /// ```
    #[must_use]
    pub fn spans(self, on: bool) -> Self {
        self.with(|c| c.spans = on)
    }

    /// Whether to take or generate correlation ids (default `true`): the request's id
    /// (or a new UUID) goes on the span as `correlation_id`
    /// (hence on every log line inside it) and back on the response.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().correlation(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn correlation(self, on: bool) -> Self {
        self.with(|c| c.correlation = on)
    }

    /// The correlation header. Default: the one `install()` configured
    /// (`LOG_CORRELATION_ID_HEADER`, default `X-Correlation-ID`).
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().correlation_header(http::HeaderName::from_static("x-request-id"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn correlation_header(self, name: HeaderName) -> Self {
        self.with(|c| c.correlation_header = OnceLock::from(name))
    }

    /// The `url.scheme` of requests whose URI has none (HTTP/1 origin-form): `"http"`
    /// (default) or `"https"` (a TLS listener, or behind a TLS-terminating proxy).
    ///
    /// # Panics
    /// On another value.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().scheme("https");
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn scheme(self, scheme: &str) -> Self {
        let id = match scheme {
            "http" => 0,
            "https" => 1,
            other => panic!("url.scheme must be \"http\" or \"https\", not {other:?}"),
        };
        self.with(|c| c.default_scheme = id)
    }

    /// Takes `url.scheme` from `X-Forwarded-Proto` when it says `http` or `https`
    /// (default `false`: only trust it behind a proxy that sets it).
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().trust_forwarded_proto(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn trust_forwarded_proto(self, on: bool) -> Self {
        self.with(|c| c.forwarded_proto = on)
    }

    /// Whether to keep `http.server.active_requests` (default `true`; Development status
    /// and opt-in in the conventions).
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let layer = ServerLayer::new().active_requests(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn active_requests(self, on: bool) -> Self {
        self.with(|c| c.active_requests = on)
    }

    /// Replaces the known methods (default: the conventions' `GET`, `HEAD`, `POST`, `PUT`,
    /// `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`, `PATCH`, `QUERY`, or
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`); others are recorded as `_OTHER`. At
    /// most 21 names beyond the standard ones exist per process.
    ///
    /// # Panics
    /// On a name that is not an HTTP method token.
    ///
    /// ```
    /// # use flext_observability::http::ServerLayer;
    /// let webdav = ServerLayer::new().known_methods(&["GET", "PUT", "PROPFIND", "MKCOL"]);
    /// # let _ = webdav;
    /// ```
    #[must_use]
    pub fn known_methods(self, names: &[&str]) -> Self {
        let (methods, refused) = KnownMethods::custom(names.iter().copied());
        assert!(
            refused.is_empty(),
            "not HTTP methods (or too many of them): {refused:?}"
        );
        self.with(|c| c.methods = methods)
    }
}

/// The known methods from `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`, else the standard
/// list.
pub(crate) fn methods_from_env(env: crate::settings::EnvLookup<'_>) -> KnownMethods {
    crate::settings::read_lenient(env, KNOWN_METHODS_ENV, |value| {
        let (methods, refused) = KnownMethods::custom(value.split(','));
        if refused.is_empty() {
            Ok(methods)
        } else {
            Err(format!("not HTTP methods: {refused:?}"))
        }
    })
    .unwrap_or(KnownMethods::Standard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_match_paths_and_what_is_below() {
        let layer = ServerLayer::new().exclude("/static/");
        let c = &layer.config;
        for path in [
            "/metrics",
            "/livez",
            "/livez/db",
            "/readyz",
            "/static",
            "/static/a.css",
        ] {
            assert!(c.excluded(path), "{path}");
        }
        for path in [
            "/",
            "",
            "/metricsx",
            "/orders/1",
            "/live",
            "/staticx",
            "/Metrics",
        ] {
            assert!(!c.excluded(path), "{path}");
        }
        let all = ServerLayer::new().include_default_paths();
        assert!(!all.config.excluded("/metrics"));
        let root = ServerLayer::new().include_default_paths().exclude("/");
        assert!(root.config.excluded("/"));
        assert!(!root.config.excluded("/a"));
    }

    #[test]
    fn known_methods_come_from_the_environment() {
        let env = |name: &str| (name == KNOWN_METHODS_ENV).then(|| "GET,PROPFIND".to_owned());
        let methods = methods_from_env(&env);
        let propfind = ::http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_ne!(
            methods.classify(&propfind),
            super::super::semconv::OTHER_METHOD
        );
        assert_eq!(
            methods.classify(&::http::Method::POST),
            super::super::semconv::OTHER_METHOD
        );
        let bad = |_: &str| Some("GET,bad method".to_owned());
        assert!(matches!(methods_from_env(&bad), KnownMethods::Standard));
    }
}
