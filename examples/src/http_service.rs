//! The axum service of `cargo run --example http_service`, shared with its tests and
//! benchmarks.
//!
//! | route | answer |
//! |---|---|
//! | `GET /orders/{id}` | 200 JSON for `id < 1000`, 404 for `id >= 1000` |
//! | `POST /orders` | 201 JSON |
//! | `GET /fail` | 500 |
//! | `GET /panic` | the handler panics; tower-http's catch-panic answers 500 |
//! | `GET /proxy/{id}` | calls this service's own `GET /orders/{id}` through the instrumented client, answers its status |
//! | anything else | 404 from the fallback |
//!
//! Not one line of the handlers is about observability: [`ServerLayer`] measures, traces
//! and correlates every request, [`ClientLayer`] the outgoing one of `/proxy`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use flext_observability::http::{ClientLayer, ClientService, ServerLayer};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;

/// The instrumented client `/proxy` calls through.
pub type InstrumentedClient = ClientService<Client<HttpConnector, Empty<Bytes>>>;

#[derive(Clone)]
struct AppState {
    /// Where this service listens (its own `/orders/{id}`).
    own: SocketAddr,
    client: InstrumentedClient,
    next_order: Arc<AtomicU64>,
}

/// The instrumented client.
pub fn client() -> InstrumentedClient {
    let client = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build_http();
    tower::ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(client)
}

/// The service, listening at `own`, with the observability layer.
pub fn app(own: SocketAddr) -> Router {
    app_with(own, ServerLayer::new())
}

/// The service with a layer configured otherwise (the benchmarks compare settings).
pub fn app_with(own: SocketAddr, layer: ServerLayer) -> Router {
    // One `Router::layer` for both (each call costs axum some work per request).
    // Catch-panic outside: the layer sees the panic unwind and counts it as a 500 with
    // `error_type="panic"`; catch-panic answers the 500.
    routes(own).layer(
        tower::ServiceBuilder::new()
            .layer(CatchPanicLayer::new())
            .layer(layer),
    )
}

/// The same service without the observability layer (the benchmarks' baseline).
pub fn app_without_layer(own: SocketAddr) -> Router {
    routes(own).layer(CatchPanicLayer::new())
}

fn routes(own: SocketAddr) -> Router {
    let state = AppState {
        own,
        client: client(),
        next_order: Arc::new(AtomicU64::new(1000)),
    };
    Router::new()
        .route("/orders/{id}", get(get_order))
        .route("/orders", post(create_order))
        .route("/fail", get(fail))
        .route("/panic", get(panic))
        .route("/proxy/{id}", get(proxy))
        .fallback(not_found)
        .with_state(state)
}

async fn get_order(Path(id): Path<u64>) -> Response {
    if id >= 1000 {
        tracing::info!(order = id, "order not found");
        return (StatusCode::NOT_FOUND, "no such order\n").into_response();
    }
    tracing::info!(order = id, "order fetched");
    json(
        StatusCode::OK,
        &format!(r#"{{"id":{id},"status":"shipped"}}"#),
    )
}

async fn create_order(State(state): State<AppState>) -> Response {
    let id = state.next_order.fetch_add(1, Ordering::Relaxed);
    tracing::info!(order = id, "order created");
    json(
        StatusCode::CREATED,
        &format!(r#"{{"id":{id},"status":"new"}}"#),
    )
}

async fn fail() -> Response {
    tracing::warn!("failing on purpose");
    (StatusCode::INTERNAL_SERVER_ERROR, "failed on purpose\n").into_response()
}

async fn panic() -> Response {
    panic!("the /panic handler panics on purpose");
}

async fn proxy(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    let uri = format!("http://{}/orders/{id}", state.own);
    let request = match http::Request::get(uri).body(Empty::new()) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let mut client = state.client.clone();
    let answer = match client.ready().await {
        Ok(ready) => ready.call(request).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(response) => {
            let status = response.status();
            // Read the body whole so the connection goes back to the pool.
            let _ = response.into_body().collect().await;
            tracing::info!(order = id, status = status.as_u16(), "proxied");
            (status, format!("upstream answered {status}\n")).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "proxy call failed");
            (StatusCode::BAD_GATEWAY, format!("upstream failed: {e}\n")).into_response()
        }
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn json(status: StatusCode, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap_or_else(|_| status.into_response())
}

/// Serves `app` on `listener` until `shutdown` completes.
///
/// # Errors
/// When the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// What one round of the workload sends: (method, path, expected status).
pub const ROUND: &[(&str, &str, u16)] = &[
    ("GET", "/orders/7", 200),
    ("GET", "/orders/42", 200),
    ("GET", "/orders/1234", 404),
    ("POST", "/orders", 201),
    ("GET", "/fail", 500),
    ("GET", "/panic", 500),
    ("GET", "/proxy/7", 200),
    ("GET", "/proxy/5000", 404),
    ("GET", "/no/such/page", 404),
];

/// Sends `rounds` rounds of [`ROUND`] to `addr` with a plain (not instrumented) client;
/// returns the first unexpected answer, if any.
///
/// # Errors
/// When a request fails or answers an unexpected status.
pub async fn drive(addr: SocketAddr, rounds: usize) -> Result<(), String> {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    for _ in 0..rounds {
        for (method, path, expected) in ROUND {
            let request = http::Request::builder()
                .method(*method)
                .uri(format!("http://{addr}{path}"))
                .body(Empty::new())
                .map_err(|e| e.to_string())?;
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("{method} {path}: {e}"))?;
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await;
            if status != *expected {
                return Err(format!(
                    "{method} {path}: expected {expected}, got {status}"
                ));
            }
        }
    }
    Ok(())
}
