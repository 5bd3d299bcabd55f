//! The tonic service of `cargo run --example grpc_service`, shared with its tests.
//!
//! `orders.v1.Orders/GetOrder` (`proto/orders/v1/orders.proto`, compiled by
//! `build.rs` in pure Rust) and the standard health service on the same port:
//!
//! | `GetOrder` id | answer |
//! |---|---|
//! | below 1000 | `OK`, the order |
//! | 1000 and above | `NOT_FOUND` |
//! | 13 | `INTERNAL` |
//!
//! Not one line of the handler is about observability: [`ServerLayer`] measures and
//! traces every call, [`ClientLayer`] the client's, [`HealthService`] answers
//! `grpc.health.v1.Health` from the health checks (here `orders-db`, see [`orders_db`]).

use std::future::Future;
use std::path::Path;

use flext_observability::grpc::{ClientLayer, ClientService, HealthService, ServerLayer};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

/// The messages, server and client generated from `orders.proto`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::pedantic,
    clippy::all
)]
pub mod proto {
    tonic::include_proto!("orders.v1");
}

use proto::orders_client::OrdersClient;
use proto::orders_server::{Orders, OrdersServer};
use proto::{GetOrderRequest, Order};

/// The environment variable naming the file whose presence means the orders database
/// is down.
pub const DOWN_FILE_ENV: &str = "ORDERS_DB_DOWN_FILE";

/// The `orders-db` readiness check's body: fails while the file named by
/// `ORDERS_DB_DOWN_FILE` exists (a stand-in for `SELECT 1` on a pool). The example
/// registers it with `#[health_check(name = "orders-db", critical, interval = "1s")]`.
///
/// # Errors
/// While the file exists.
pub fn orders_db() -> Result<(), String> {
    let file = std::env::var_os(DOWN_FILE_ENV).filter(|p| !p.is_empty());
    orders_db_at(file.as_deref().map(Path::new))
}

/// [`orders_db`] with the file given.
///
/// # Errors
/// While `down_file` exists.
pub fn orders_db_at(down_file: Option<&Path>) -> Result<(), String> {
    match down_file {
        Some(path) if path.exists() => Err(format!(
            "{} exists: the orders database is down",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The service's implementation.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrdersService;

#[tonic::async_trait]
impl Orders for OrdersService {
    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let id = request.into_inner().id;
        if id == 13 {
            tracing::error!(order = id, "order 13 is cursed");
            return Err(Status::internal("order 13 cannot be read"));
        }
        if id >= 1000 {
            return Err(Status::not_found(format!("no order {id}")));
        }
        tracing::info!(order = id, "order fetched");
        Ok(Response::new(Order {
            id,
            status: "shipped".into(),
        }))
    }
}

/// Serves `Orders` and the health service on `listener`, measured by [`ServerLayer`],
/// until `shutdown` completes (then waits for the calls in progress).
///
/// # Errors
/// When the server fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .layer(ServerLayer::new())
        .add_service(HealthService::new())
        .add_service(OrdersServer::new(OrdersService))
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), shutdown)
        .await
}

/// The measured client.
pub type Client = OrdersClient<ClientService<Channel>>;

/// A client of the service at `target` (`http://127.0.0.1:50051`), measured by
/// [`ClientLayer`].
///
/// # Errors
/// When `target` is no URI, or nothing answers there.
pub async fn client(target: &str) -> Result<Client, Box<dyn std::error::Error + Send + Sync>> {
    let channel = Channel::from_shared(target.to_owned())?.connect().await?;
    let channel = tower::ServiceBuilder::new()
        .layer(ClientLayer::new().server(target))
        .service(channel);
    Ok(OrdersClient::new(channel))
}

/// One round of calls: ids 7 and 42 (`OK`), 1000 (`NOT_FOUND`), 13 (`INTERNAL`).
pub const ROUND: [(u64, tonic::Code); 4] = [
    (7, tonic::Code::Ok),
    (42, tonic::Code::Ok),
    (1000, tonic::Code::NotFound),
    (13, tonic::Code::Internal),
];

/// Sends `rounds` rounds through `client`.
///
/// # Errors
/// A call that did not end as [`ROUND`] says.
pub async fn drive(client: &mut Client, rounds: usize) -> Result<(), String> {
    for _ in 0..rounds {
        for (id, want) in ROUND {
            let got = match client.get_order(GetOrderRequest { id }).await {
                Ok(response) if response.get_ref().id == id => tonic::Code::Ok,
                Ok(_) => return Err(format!("GetOrder({id}) answered another order")),
                Err(status) => status.code(),
            };
            if got != want {
                return Err(format!("GetOrder({id}): expected {want:?}, got {got:?}"));
            }
        }
    }
    Ok(())
}
