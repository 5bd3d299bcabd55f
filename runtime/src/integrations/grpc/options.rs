//! The layers and their options.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::http::HeaderName;

use super::methods::{self, MethodData, NO_DESTINATION};
use super::semconv;

/// Services the server layer does not measure unless told otherwise: the health service
/// (probed every few seconds, or watched for hours) and server reflection.
pub const DEFAULT_EXCLUDED_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Whether some layer asked for the names of the conventions before v1.39
/// (`OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup`): the exporters then write both.
pub(crate) static DUP: AtomicBool = AtomicBool::new(false);

fn read_dup() -> bool {
    let dup = semconv::dup_from_env(&crate::settings::process_env);
    if dup {
        DUP.store(true, Ordering::Relaxed);
    }
    dup
}

#[derive(Clone, Debug)]
pub(crate) struct ServerConfig {
    /// The methods a server recognises, when given; else the ones its handlers answer.
    pub(crate) known: Option<Vec<&'static MethodData>>,
    /// Services (`pkg.Service`) and methods (`pkg.Service/Method`) left alone.
    pub(crate) excluded: Vec<Box<str>>,
    pub(crate) spans: bool,
    pub(crate) correlation: bool,
    pub(crate) correlation_header: OnceLock<HeaderName>,
    pub(crate) timeout_ns: Option<u64>,
    pub(crate) dup: bool,
}

impl ServerConfig {
    /// Whether the method `name` (`pkg.Service/Method`) is left alone.
    #[inline]
    pub(crate) fn excluded(&self, name: &str) -> bool {
        self.excluded.iter().any(|e| {
            name.strip_prefix(&**e)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// The correlation header: the layer's, else `install()`'s, read on the first call.
    #[inline]
    pub(crate) fn correlation_header(&self) -> &HeaderName {
        self.correlation_header
            .get_or_init(crate::integrations::http::correlation::configured_header)
    }
}

/// Measures and traces every call of a gRPC server: a
/// [`tower::Layer`](tower_layer::Layer) for tonic's `Server::builder().layer(..)` (or
/// any service of `http` requests that carries gRPC).
///
/// ```
/// use flext_observability::grpc::ServerLayer;
///
/// let layer = ServerLayer::new()
///     .known_methods(&["orders.v1.Orders/GetOrder", "orders.v1.Orders/ListOrders"])
///     .timeout(std::time::Duration::from_secs(30)); // the server's own `.timeout(..)`
/// // tonic::transport::Server::builder().layer(layer).add_service(..)
/// # let _ = layer;
/// ```
///
/// See the [module docs](super) for what it records.
#[derive(Clone, Debug)]
pub struct ServerLayer {
    pub(crate) config: Arc<ServerConfig>,
}

impl Default for ServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerLayer {
    /// Metrics, a span per call and correlation ids; methods recognised once a handler
    /// answers them; the health and reflection services excluded
    /// ([`DEFAULT_EXCLUDED_SERVICES`]). Reads `OTEL_SEMCONV_STABILITY_OPT_IN`.
    pub fn new() -> Self {
        ServerLayer {
            config: Arc::new(ServerConfig {
                known: None,
                excluded: DEFAULT_EXCLUDED_SERVICES
                    .iter()
                    .map(|s| Box::from(*s))
                    .collect(),
                spans: true,
                correlation: true,
                correlation_header: OnceLock::new(),
                timeout_ns: None,
                dup: read_dup(),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut ServerConfig)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The methods this server serves, fully qualified (`orders.v1.Orders/GetOrder`):
    /// calls of any other are recorded as `_OTHER` (the span keeps the name in
    /// `rpc.method_original`).
    ///
    /// Without a list, a method is recognised once a call of it got an answer other
    /// than `UNIMPLEMENTED` from the service (tonic answers `UNIMPLEMENTED` at once for
    /// a method it does not route), so only methods a handler serves are named. A layer
    /// or interceptor between this layer and tonic's router that answers every path
    /// (an authentication check) would let any path be recognised, up to
    /// [`MAX_METHODS`](super::MAX_METHODS): give the list then, or add this layer inside
    /// it.
    ///
    /// # Panics
    /// On a name that is not `package.Service/Method`.
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let layer = ServerLayer::new().known_methods(&["orders.v1.Orders/GetOrder"]);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn known_methods(self, names: &[&str]) -> Self {
        let known = names
            .iter()
            .map(|name| {
                let m = methods::intern(name);
                assert!(
                    !m.is_other(),
                    "not a gRPC method (package.Service/Method), or too many: {name:?}"
                );
                m
            })
            .collect();
        self.with(|c| c.known = Some(known))
    }

    /// Leaves the calls of a service (`pkg.Service`) or of one method
    /// (`pkg.Service/Method`) unmeasured and untraced.
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let layer = ServerLayer::new().exclude("orders.v1.Admin");
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn exclude(self, service_or_method: impl Into<String>) -> Self {
        let name: Box<str> = service_or_method.into().trim_matches('/').into();
        self.with(|c| {
            if !c.excluded.contains(&name) {
                c.excluded.push(name);
            }
        })
    }

    /// Measures the default-excluded services too ([`DEFAULT_EXCLUDED_SERVICES`]).
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let layer = ServerLayer::new().include_default_services();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn include_default_services(self) -> Self {
        self.with(|c| {
            c.excluded
                .retain(|e| !DEFAULT_EXCLUDED_SERVICES.contains(&&**e));
        })
    }

    /// Whether to open a server span per call (default `true`). Off, calls are still
    /// measured and correlated.
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let metrics_only = ServerLayer::new().spans(false).correlation(false);
    /// # let _ = metrics_only;
    /// ```
    #[must_use]
    pub fn spans(self, on: bool) -> Self {
        self.with(|c| c.spans = on)
    }

    /// Whether to take or generate correlation ids (default `true`), as the HTTP layer
    /// does: the call's id (metadata `x-correlation-id`, or the header `install()`
    /// configured) or a new UUID, on the span as `correlation_id`, echoed in the
    /// response metadata, readable with [`correlation_id`](super::correlation_id).
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let layer = ServerLayer::new().correlation(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn correlation(self, on: bool) -> Self {
        self.with(|c| c.correlation = on)
    }

    /// The correlation metadata key. Default: the header `install()` configured
    /// (`LOG_CORRELATION_ID_HEADER`, default `x-correlation-id`).
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let layer = ServerLayer::new().correlation_header(http::HeaderName::from_static("x-request-id"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn correlation_header(self, name: HeaderName) -> Self {
        self.with(|c| c.correlation_header = OnceLock::from(name))
    }

    /// The server's own timeout, if it has one (tonic's `Server::builder().timeout(..)`):
    /// a call dropped once it or the caller's `grpc-timeout` ran out is recorded as
    /// `DEADLINE_EXCEEDED` (see the module docs), not `CANCELLED`.
    ///
    /// ```
    /// # use flext_observability::grpc::ServerLayer;
    /// let layer = ServerLayer::new().timeout(std::time::Duration::from_secs(10));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.with(|c| c.timeout_ns = Some(ns))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ClientConfig {
    /// The destination given to the layer, else the one in each request's URI.
    pub(crate) destination: u8,
    pub(crate) spans: bool,
    pub(crate) timeout_ns: Option<u64>,
    pub(crate) dup: bool,
}

/// Measures and traces the calls of a gRPC client, and passes the trace context and
/// the correlation id on: a [`tower::Layer`](tower_layer::Layer) around tonic's
/// `Channel` (or any service of `http` requests that carries gRPC).
///
/// ```
/// use flext_observability::grpc::ClientLayer;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let target = "http://127.0.0.1:50051";
/// let channel = tonic::transport::Channel::from_static(target).connect().await?;
/// let channel = tower::ServiceBuilder::new()
///     .layer(ClientLayer::new().server(target))
///     .service(channel);
/// // let mut orders = OrdersClient::new(channel);
/// # let _ = channel;
/// # Ok(()) }
/// ```
///
/// tonic's `Channel` adds the server's address to each request itself, after this
/// layer: give it with [`server`](Self::server) for `server.address` and
/// `server.port`. The layer's error type is a boxed error (tonic's clients take any
/// error that converts into one).
#[derive(Clone, Debug)]
pub struct ClientLayer {
    pub(crate) config: Arc<ClientConfig>,
}

impl Default for ClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientLayer {
    /// Metrics and a client span per call, child of the current span. Reads
    /// `OTEL_SEMCONV_STABILITY_OPT_IN`.
    pub fn new() -> Self {
        ClientLayer {
            config: Arc::new(ClientConfig {
                destination: NO_DESTINATION,
                spans: true,
                timeout_ns: None,
                dup: read_dup(),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut ClientConfig)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The server the channel calls, as given to tonic (`http://orders.internal:50051`,
    /// or `orders.internal:50051`): `server.address` and `server.port` of every call.
    ///
    /// ```
    /// # use flext_observability::grpc::ClientLayer;
    /// let layer = ClientLayer::new().server("http://orders.internal:50051");
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn server(self, target: &str) -> Self {
        let authority = target
            .split_once("://")
            .map_or(target, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let id = methods::destination(authority);
        self.with(|c| c.destination = id)
    }

    /// Whether to open a client span per call (default `true`). Off, calls are still
    /// measured, and the current span's context is still passed on.
    ///
    /// ```
    /// # use flext_observability::grpc::ClientLayer;
    /// let layer = ClientLayer::new().spans(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn spans(self, on: bool) -> Self {
        self.with(|c| c.spans = on)
    }

    /// The channel's own timeout, if it has one (tonic's `Endpoint::timeout`): a call
    /// that ends once it or the request's deadline ran out is recorded as
    /// `DEADLINE_EXCEEDED`.
    ///
    /// ```
    /// # use flext_observability::grpc::ClientLayer;
    /// let layer = ClientLayer::new().timeout(std::time::Duration::from_secs(5));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.with(|c| c.timeout_ns = Some(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_match_services_and_methods() {
        let layer = ServerLayer::new().exclude("/orders.v1.Admin/");
        let c = &layer.config;
        for name in [
            "grpc.health.v1.Health/Check",
            "grpc.health.v1.Health/Watch",
            "orders.v1.Admin/Reset",
            "orders.v1.Admin",
        ] {
            assert!(c.excluded(name), "{name}");
        }
        for name in ["orders.v1.Orders/GetOrder", "orders.v1.AdminX/Reset", ""] {
            assert!(!c.excluded(name), "{name}");
        }
        let all = ServerLayer::new().include_default_services();
        assert!(!all.config.excluded("grpc.health.v1.Health/Check"));
    }

    #[test]
    fn client_targets_are_destinations() {
        let layer = ClientLayer::new().server("http://user@orders.test:50051/");
        assert_eq!(
            methods::destination_labels(layer.config.destination),
            ("orders.test", Some(50051))
        );
        let bare = ClientLayer::new().server("orders.test:50051");
        assert_eq!(bare.config.destination, layer.config.destination);
    }

    #[test]
    #[should_panic(expected = "not a gRPC method")]
    fn known_methods_must_be_methods() {
        let _ = ServerLayer::new().known_methods(&["GetOrder"]);
    }
}
