//! HTTP services and clients, measured, traced and correlated without a line in the
//! handlers (feature `http`; `axum` for route templates from axum, `reqwest` for the
//! reqwest middleware).
//!
//! ```
//! use flext_observability::http::{Route, ServerLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Any tower service of `http` requests; a router would say which route matched.
//! let service = ServiceBuilder::new()
//!     .layer(ServerLayer::new())
//!     .service(service_fn(|_request: http::Request<String>| async {
//!         let mut response = http::Response::new(String::from("hello"));
//!         response.extensions_mut().insert(Route::new("/greetings/{name}"));
//!         Ok::<_, std::convert::Infallible>(response)
//!     }));
//!
//! let request = http::Request::get("/greetings/ada").body(String::new()).unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! assert!(response.headers().contains_key("x-correlation-id"));
//!
//! let text = flext_observability::prometheus::render();
//! assert!(text.contains(
//!     r#"http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/greetings/{name}",network_protocol_version="1.1",url_scheme="http"} 1"#
//! ));
//! # }
//! ```
//!
//! # What the server layer records
//!
//! [`ServerLayer`] follows the OpenTelemetry semantic conventions for HTTP, **v1.44.0**
//! (stable since v1.23.0), exported through the same read path as every other metric
//! (`/metrics` in both formats, the Pushgateway, OTLP):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `http_server_request_duration_seconds` | histogram, buckets `0.005 … 10` s (the conventions' 14) | `http_request_method`, `http_route`, `http_response_status_code`, `url_scheme`, `network_protocol_version`, `error_type` |
//! | `http_server_active_requests` | gauge | `http_request_method`, `url_scheme` |
//! | `http_server_request_body_size_bytes`, `http_server_response_body_size_bytes` | histogram, opt-in ([`ServerLayer::body_sizes`]) | as the duration |
//!
//! - **Routes, never paths.** `http_route` is the route template: axum's `MatchedPath`
//!   (`/orders/{id}`, feature `axum`; add the layer with `Router::layer` so it sees it),
//!   or a [`Route`] your router puts in the request or response extensions. A request
//!   without a route (axum's fallback, a 404) has no `http_route`, as the conventions ask
//!   ("MUST NOT be populated when not available"): all of them share one series per
//!   method and status. At most [`MAX_ROUTES`] templates are kept.
//! - **Methods.** The conventions' known methods (`GET`, `HEAD`, `POST`, `PUT`,
//!   `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`, `PATCH`, `QUERY`) keep their name; any
//!   other is `_OTHER` (the span keeps it in `http.request.method_original`). The list
//!   can be replaced with `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` or
//!   [`ServerLayer::known_methods`].
//! - **Bounded.** Every label comes from a bounded set (methods, statuses 100–599,
//!   two schemes, five versions, the error types below, the route templates), and a
//!   process keeps at most [`SERVER_SERIES_LIMIT`] series; past it, requests go to one
//!   `otel_metric_overflow="true"` series. Whatever clients send, the number of series
//!   does not grow with it.
//! - **`error_type`**: the status code on 5xx responses (`"500"`); `panic` for a
//!   handler that panicked, recorded with status `500` whether or not tower-http's
//!   `CatchPanicLayer` turned it into a response (with it outside this layer, or
//!   without it); `cancelled`, without a status, for a request whose future was dropped
//!   before the response (the client went away, a timeout gave up); the service's error
//!   type name when it returned `Err`. Successes carry none.
//! - **Excluded paths**: `/metrics`, `/livez`, `/readyz`, `/startupz`, `/health`,
//!   `/healthz` and what is below them are neither measured nor traced
//!   ([`DEFAULT_EXCLUDED_PATHS`]; [`ServerLayer::exclude`],
//!   [`ServerLayer::include_default_paths`]).
//! - `http.server.active_requests` and the body sizes have Development status in the
//!   conventions (opt-in there); the active gauge is on by default here, as
//!   flext-observability's issue asks ([`ServerLayer::active_requests`]).
//!
//! The duration runs from the request's arrival at the layer to the response head
//! (what tower-http and the OpenTelemetry instrumentations measure); the body streams
//! afterwards.
//!
//! # Spans and correlation
//!
//! Each measured request runs inside a server span (target [`SPAN_TARGET`], level
//! `INFO`) named `{method} {route}` (`{method}` without a route, `HTTP` for `_OTHER`),
//! with `http.request.method`, `http.route`, `url.path`, `url.query` (signature
//! parameters redacted), `url.scheme`, `network.protocol.version`, `server.address`,
//! `server.port`, `user_agent.original`, then `http.response.status_code`, and
//! `error.type` with the error status on 5xx. With the `otlp` feature its parent is the
//! caller's context, extracted from the request headers with the configured propagators
//! (W3C trace context, B3; see `propagation`), and its trace id is offered as an
//! exemplar of the duration histogram.
//!
//! The correlation id (header `LOG_CORRELATION_ID_HEADER`, default `X-Correlation-ID`)
//! is taken from the request when it is 1 to 128 visible ASCII characters (sent once),
//! else a new UUID is made. It is recorded on the span as `correlation_id`, so every
//! JSON log line inside the request carries it; it is echoed on the response; handlers
//! read it with [`correlation_id`]; the client layers forward it on the calls a handler
//! makes.
//!
//! # Clients
//!
//! [`ClientLayer`] (a tower layer, for hyper-util's `client::legacy::Client` or any
//! service of `http::Request`s) and `ClientMiddleware` (feature `reqwest`, for
//! `reqwest-middleware`) record `http_client_request_duration_seconds` with
//! `http_request_method`, `server_address`, `server_port`, `http_response_status_code`,
//! `network_protocol_version` and `error_type` (the status on 4xx and 5xx, or the
//! transport's failure: `timeout`, `connection_refused`, `connect_error`, …), open a
//! client span as the child of the current span, and (feature `otlp`) inject its
//! context into the outgoing headers, correlation id included.
//!
//! # Cost
//!
//! After a route's first request, the metrics of a request cost no lock, no allocation
//! and no hash of a label set (a test counts the allocations: none, with spans off or
//! unrecorded); see `benches/http` and `BENCHMARKS.md` for the numbers against
//! axum-prometheus and tower-http's `TraceLayer` with the `metrics` crate. A correlation
//! id the layer makes costs one allocation, and echoing it one header insertion.
//! Routes of axum routers nested with `Router::nest` get a new template text per
//! request from axum; they are found by hashing the template (no lock).
//!
//! With axum, each `Router::layer` call costs axum itself some work per request (about
//! as much as this layer's own): stack your layers in one `tower::ServiceBuilder` and
//! give it to one `Router::layer`, outermost first:
//! `.layer(ServiceBuilder::new().layer(CatchPanicLayer::new()).layer(ServerLayer::new()))`.
#![cfg_attr(
    feature = "axum",
    doc = r##"
# With axum (feature `axum`)

Add the layer with `Router::layer`: the router has matched the route when the layer
sees the request, and the template (`/orders/{id}`) is the `http_route`.

```
use axum::{Router, routing::get};
use flext_observability::http::ServerLayer;
use tower::ServiceExt;

# #[tokio::main(flavor = "current_thread")]
# async fn main() {
let app = Router::new()
    .route("/orders/{id}", get(|| async { "order" }))
    .layer(ServerLayer::new());

for id in 1..=3 {
    let request = http::Request::get(format!("/orders/{id}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.clone().oneshot(request).await.unwrap().status(), 200);
}
let text = flext_observability::prometheus::render();
assert!(text.contains(
    r#"http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/orders/{id}",network_protocol_version="1.1",url_scheme="http"} 3"#
));
# }
```
"##
)]

mod client;
// Shared with the gRPC integration (feature `grpc`): correlation ids, the interning of
// names, the duration buckets, the lock-free series storage, trace-context helpers.
pub(crate) mod correlation;
pub(crate) mod intern;
mod options;
#[cfg(feature = "reqwest")]
mod reqwest;
mod routes;
pub(crate) mod semconv;
pub(crate) mod series;
mod server;
mod source;
pub(crate) mod span;

pub use client::{CLIENT_SERIES_LIMIT, ClientFuture, ClientLayer, ClientService, MAX_DESTINATIONS};
pub use options::{DEFAULT_EXCLUDED_PATHS, KNOWN_METHODS_ENV, ServerLayer};
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use reqwest::ClientMiddleware;
pub use routes::{MAX_ROUTES, Route};
pub use server::{ResponseFuture, SERVER_SERIES_LIMIT, ServerService};
pub use span::SPAN_TARGET;

/// The correlation id of the request whose handler is running on this thread: the one
/// the request carried, or the one [`ServerLayer`] made for it (and echoes on the
/// response). `None` outside a request measured by the layer, or in a task the handler
/// spawned (it runs outside the layer's polls).
///
/// ```
/// use flext_observability::http::{ServerLayer, correlation_id};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let service = ServiceBuilder::new()
///     .layer(ServerLayer::new())
///     .service(service_fn(|_request: http::Request<String>| async {
///         // In an error body, for support requests.
///         let id = correlation_id().unwrap_or_default();
///         Ok::<_, std::convert::Infallible>(http::Response::new(format!("ticket {id}")))
///     }));
/// let request = http::Request::get("/").header("x-correlation-id", "c-42").body(String::new()).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.body(), "ticket c-42");
/// assert_eq!(correlation_id(), None);
/// # }
/// ```
pub fn correlation_id() -> Option<String> {
    correlation::current()
}
