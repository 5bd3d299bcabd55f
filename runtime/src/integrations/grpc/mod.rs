//! gRPC services and clients on tonic 0.14, measured and traced without a line in the
//! handlers, and the standard health service answered from the health checks (feature
//! `grpc`).
//!
//! ```
//! use flext_observability::grpc::ServerLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // In a server: `tonic::transport::Server::builder().layer(ServerLayer::new())`.
//! // Here a service that answers as tonic does for a handler's `Err(Status::not_found(..))`.
//! let service = ServiceBuilder::new()
//!     .layer(ServerLayer::new().known_methods(&["orders.v1.Orders/GetOrder"]))
//!     .service(service_fn(|_request: http::Request<String>| async {
//!         let response = http::Response::builder()
//!             .header("content-type", "application/grpc")
//!             .header("grpc-status", "5")
//!             .body(String::new())
//!             .unwrap();
//!         Ok::<_, std::convert::Infallible>(response)
//!     }));
//!
//! let request = http::Request::post("/orders.v1.Orders/GetOrder")
//!     .header("content-type", "application/grpc")
//!     .body(String::new())
//!     .unwrap();
//! service.oneshot(request).await.unwrap();
//!
//! let text = flext_observability::prometheus::render();
//! assert!(text.contains(
//!     r#"rpc_server_call_duration_seconds_count{rpc_method="orders.v1.Orders/GetOrder",rpc_status_code="NOT_FOUND",rpc_system_name="grpc"} 1"#
//! ));
//! # }
//! ```
//!
//! # What the layers record
//!
//! [`ServerLayer`] (for `Server::builder().layer(..)`) and [`ClientLayer`] (around a
//! `Channel`) follow the OpenTelemetry semantic conventions for RPC, **v1.44.0**
//! (release candidate since v1.40.0; the names changed in v1.39.0), exported through the
//! same read path as every other metric (`/metrics` in both formats, the Pushgateway,
//! OTLP):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `rpc_server_call_duration_seconds` | histogram, buckets `0.005 … 10` s (the conventions' 14) | `rpc_system_name="grpc"`, `rpc_method`, `rpc_status_code`, `error_type` |
//! | `rpc_client_call_duration_seconds` | histogram, the same buckets | the same, and `server_address`, `server_port` |
//!
//! - **`rpc_method`** is fully qualified, `orders.v1.Orders/GetOrder`. A server names
//!   only the methods it recognises, as the conventions require: the ones given to
//!   [`ServerLayer::known_methods`], else the ones its handlers answer (anything tonic
//!   answers `UNIMPLEMENTED` for at once is not one); every other call is `_OTHER` (its
//!   span keeps the name in `rpc.method_original`). At most [`MAX_METHODS`] names.
//! - **`rpc_status_code`** is the code's name (`OK`, `NOT_FOUND`, …): `rpc.status_code`,
//!   as the conventions name it since `rpc.response.status_code` (v1.39.0 to v1.44.0,
//!   itself the successor of `rpc.grpc.status_code`) was renamed on their main branch
//!   (semantic-conventions#3921, the name this crate's issue asked for). It comes from `grpc-status` in the response headers (errors
//!   raised by handlers, which tonic sends as "trailers-only" responses) **or in the
//!   trailers** (successes, and errors in the middle of a stream): the layers wrap the
//!   response body to read them, where other Rust instrumentation reads headers only
//!   and records those errors as successes.
//! - **`error_type`**: the status code's name when the call failed: on a server only
//!   `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and
//!   `DATA_LOSS` (the others are the caller's doing), on a client every code but `OK`;
//!   `panic` (with `UNKNOWN`) for a handler that panicked. Successes carry none.
//! - **Deadlines.** When the caller's `grpc-timeout` (or the server's own timeout, see
//!   [`ServerLayer::timeout`]) runs out, tonic drops the call and answers `CANCELLED`.
//!   The layer records **`DEADLINE_EXCEEDED`**: it is what happened, what the
//!   conventions classify as a server error (a slow server must show in its error
//!   rate) and what gRPC's other servers report; a client's deadline is recorded the
//!   same way. A call dropped before its deadline is **`CANCELLED`** (the caller went
//!   away), not an error of the server.
//! - **Duration**: from the call's arrival at the layer to its status, so a stream
//!   counts for its whole life (the conventions' definition).
//! - **Bounded.** Every label comes from a bounded set, and a process keeps at most
//!   [`SERVER_SERIES_LIMIT`] and [`CLIENT_SERIES_LIMIT`] series; past them, calls go to
//!   one `otel_metric_overflow="true"` series.
//! - **Excluded services**: `grpc.health.v1.Health` and server reflection are neither
//!   measured nor traced ([`DEFAULT_EXCLUDED_SERVICES`]; [`ServerLayer::exclude`]).
//! - **Before v1.39.** With `OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup` (the conventions'
//!   migration switch) the layers also write `rpc_server_duration_milliseconds` and
//!   `rpc_client_duration_milliseconds` (milliseconds; `rpc_system`, `rpc_service`,
//!   `rpc_method` as the bare method name, `rpc_grpc_status_code` as a number), and
//!   spans carry `rpc.system`, `rpc.service`, `rpc.grpc.status_code` besides.
//! - **Messages per call** (`rpc.server.requests_per_rpc` and the like) are not
//!   recorded: the conventions removed them in v1.39.0 ("obsoleted, no replacement");
//!   a stream's life is in its duration, its messages in its span's events if you log
//!   them.
//!
//! # Spans, context, correlation
//!
//! Each call runs inside a span (target [`SPAN_TARGET`], level `INFO`) named by its
//! method (`grpc` for `_OTHER`), with `rpc.system.name`, `rpc.method`, then
//! `rpc.status_code` and, when it failed, `error.type` and an error status.
//! A server span's parent comes from the call's metadata (W3C trace context, B3: the
//! configured propagators, feature `otlp`); a client span is the child of the current
//! span and its context goes into the outgoing metadata. The server takes the
//! correlation id as the HTTP layer does (metadata `x-correlation-id`, or a new UUID),
//! records it on the span, echoes it in the response metadata, and handlers read it
//! with [`correlation_id`]; the client passes on the one of the call being served.
//!
//! # Health
//!
//! [`HealthService`] is `grpc.health.v1.Health` (`Check`, `Watch`, `List`), answered
//! from the same snapshot as `/readyz`: add it to the same server.
//!
//! # Cost
//!
//! After a method's first call, the metrics of a call cost no lock, no allocation and no
//! hash of a label set: one hash of the path to find the method, two clock reads, a few
//! relaxed atomic additions. See `benches/grpc` and `BENCHMARKS.md` for the numbers
//! against tower-http's `TraceLayer` with the `metrics` crate.

mod call;
mod client;
mod health;
mod methods;
mod options;
mod semconv;
mod server;
mod source;
mod span;

pub use call::{CLIENT_SERIES_LIMIT, ResponseBody, SERVER_SERIES_LIMIT};
pub use client::{ClientFuture, ClientService};
pub use health::{DEFAULT_MAX_WATCHES, HealthFuture, HealthService, MAX_LIST_SERVICES};
pub use methods::{MAX_DESTINATIONS, MAX_METHODS};
pub use options::{ClientLayer, DEFAULT_EXCLUDED_SERVICES, ServerLayer};
pub use semconv::STABILITY_OPT_IN_ENV;
pub use server::{ResponseFuture, ServerService};
pub use span::SPAN_TARGET;

/// The correlation id of the call whose handler is running on this thread: the one the
/// call's metadata carried, or the one [`ServerLayer`] made for it (and echoes in the
/// response metadata). `None` outside a call measured by a layer. The same as
/// [`http::correlation_id`](crate::http::correlation_id).
///
/// ```
/// // Inside a tonic handler:
/// let id = flext_observability::grpc::correlation_id().unwrap_or_default();
/// # assert!(id.is_empty());
/// ```
pub fn correlation_id() -> Option<String> {
    crate::integrations::http::correlation_id()
}
