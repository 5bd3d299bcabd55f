//! The `grpc.health.v1.Health` service, answered from the health checks.

mod proto;
mod status;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::{Request, Response, Status};
use tower_service::Service;

use proto::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse, ServingStatus,
};
pub use status::MAX_LIST_SERVICES;

/// Most `Watch` calls open at once by default ([`HealthService::max_watches`]).
pub const DEFAULT_MAX_WATCHES: usize = 1000;

/// How often an open `Watch` reads the snapshot again without being told of a change:
/// a result turns stale by the clock alone (a stuck check), with nothing published.
const RECHECK: Duration = Duration::from_secs(1);

/// The standard gRPC health service (`grpc.health.v1.Health`: `Check`, `Watch`,
/// `List`), answered from the health checks' snapshot: add it to your tonic server and
/// load balancers, Kubernetes' gRPC probes and `grpc_health_probe` see what `/readyz`
/// and `/health/<name>` say, on the service's own port.
///
/// ```
/// use flext_observability::grpc::HealthService;
///
/// let health = HealthService::new();
/// // tonic::transport::Server::builder().add_service(health).add_service(orders)…
/// # let _ = health;
/// ```
///
/// **Services.** `""` is the server as a whole: readiness, `SERVING` exactly when
/// `/readyz` answers 200. Every health check and every group is a service by its name,
/// `SERVING` exactly when `/health/<name>` answers 200. While the shutdown drain runs
/// (the guard is being dropped) every service is `NOT_SERVING`; before `install()` and
/// after the guard is gone, too.
///
/// **Calls.** `Check` answers at once from the snapshot (`NOT_FOUND` for a name that is
/// no check or group). `Watch` sends the status at once, then each change as the checks
/// publish it (a check flipping shows within its own interval), and `SERVICE_UNKNOWN`
/// for an unknown name, keeping the call open should the name appear; it ends when the
/// guard is dropped, after the drain, so that a server stopping afterwards is not held
/// open by watchers. `List` answers every service, or `RESOURCE_EXHAUSTED` past
/// [`MAX_LIST_SERVICES`].
///
/// Nothing runs a check on a call, and the service holds no state of its own: it reads
/// the one snapshot `/readyz` reads. It runs on your server's runtime and listener, so
/// your server's limits apply to it (tonic's `concurrency_limit_per_connection`,
/// `max_concurrent_streams`, `http2_keepalive_interval`); the one thing it keeps open is
/// a `Watch`, each a small task, at most [`DEFAULT_MAX_WATCHES`] at once
/// (`RESOURCE_EXHAUSTED` beyond).
#[derive(Clone, Debug)]
pub struct HealthService {
    watches: Arc<Watches>,
}

#[derive(Debug)]
struct Watches {
    open: AtomicUsize,
    max: usize,
    /// [`HealthService::close_watches`] was called.
    closed: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Default for HealthService {
    fn default() -> Self {
        Self::new()
    }
}

impl HealthService {
    /// The service.
    pub fn new() -> Self {
        Self::with_max_watches(DEFAULT_MAX_WATCHES)
    }

    fn with_max_watches(max: usize) -> Self {
        HealthService {
            watches: Arc::new(Watches {
                open: AtomicUsize::new(0),
                max,
                closed: AtomicBool::new(false),
                wake: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Most `Watch` calls open at once (default [`DEFAULT_MAX_WATCHES`]); further ones
    /// fail with `RESOURCE_EXHAUSTED`.
    ///
    /// ```
    /// # use flext_observability::grpc::HealthService;
    /// let health = HealthService::new().max_watches(100);
    /// # let _ = health;
    /// ```
    #[must_use]
    pub fn max_watches(self, max: usize) -> Self {
        Self::with_max_watches(max)
    }

    /// Ends every `Watch` of this service (and of its clones) with a last `NOT_SERVING`,
    /// at once or within a second, and answers later ones the same way: call it before
    /// a graceful shutdown of your server while the guard still lives, which would
    /// otherwise wait for the watchers (dropping the guard ends them too).
    ///
    /// ```
    /// # use flext_observability::grpc::HealthService;
    /// let health = HealthService::new();
    /// // Server::builder().add_service(health.clone())…serve_with_shutdown(addr, async {
    /// //     signal.await;
    /// health.close_watches();
    /// // })
    /// ```
    pub fn close_watches(&self) {
        self.watches.closed.store(true, Ordering::Release);
        self.watches.wake.notify_waiters();
    }
}

impl NamedService for HealthService {
    const NAME: &'static str = "grpc.health.v1.Health";
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of [`HealthService`].
pub type HealthFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

impl<B> Service<http::Request<B>> for HealthService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = HealthFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> HealthFuture {
        match req.uri().path() {
            "/grpc.health.v1.Health/Check" => Box::pin(async move {
                Ok(Grpc::new(tonic_prost::ProstCodec::default())
                    .unary(Check, req)
                    .await)
            }),
            "/grpc.health.v1.Health/List" => Box::pin(async move {
                Ok(Grpc::new(tonic_prost::ProstCodec::default())
                    .unary(List, req)
                    .await)
            }),
            "/grpc.health.v1.Health/Watch" => {
                let watch = Watch(Arc::clone(&self.watches));
                Box::pin(async move {
                    Ok(Grpc::new(tonic_prost::ProstCodec::default())
                        .server_streaming(watch, req)
                        .await)
                })
            }
            _ => Box::pin(ready(Ok(Status::unimplemented("").into_http()))),
        }
    }
}

struct Check;

impl UnaryService<HealthCheckRequest> for Check {
    type Response = HealthCheckResponse;
    type Future = Ready<Result<Response<HealthCheckResponse>, Status>>;

    fn call(&mut self, request: Request<HealthCheckRequest>) -> Self::Future {
        let service = &request.get_ref().service;
        ready(match status::status_of(service) {
            Some(status) => Ok(Response::new(HealthCheckResponse::of(status))),
            None => Err(Status::not_found(format!(
                "no health check or group named `{service}`"
            ))),
        })
    }
}

struct List;

impl UnaryService<HealthListRequest> for List {
    type Response = HealthListResponse;
    type Future = Ready<Result<Response<HealthListResponse>, Status>>;

    fn call(&mut self, _request: Request<HealthListRequest>) -> Self::Future {
        ready(list(status::services()).map(Response::new))
    }
}

/// Every service with its status; `RESOURCE_EXHAUSTED` past [`MAX_LIST_SERVICES`].
fn list(services: Vec<String>) -> Result<HealthListResponse, Status> {
    if services.len() > MAX_LIST_SERVICES {
        return Err(Status::resource_exhausted(format!(
            "{} services, more than {MAX_LIST_SERVICES}: ask for each with Check",
            services.len()
        )));
    }
    let statuses: HashMap<String, HealthCheckResponse> = services
        .into_iter()
        .map(|name| {
            // A name seen a moment ago may be gone: `List` is not atomic.
            let status = status::status_of(&name).unwrap_or(ServingStatus::ServiceUnknown);
            (name, HealthCheckResponse::of(status))
        })
        .collect();
    Ok(HealthListResponse { statuses })
}

struct Watch(Arc<Watches>);

/// One open `Watch`, counted until its task ends.
struct Permit(Arc<Watches>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ServerStreamingService<HealthCheckRequest> for Watch {
    type Response = HealthCheckResponse;
    type ResponseStream = WatchStream;
    type Future = Ready<Result<Response<WatchStream>, Status>>;

    fn call(&mut self, request: Request<HealthCheckRequest>) -> Self::Future {
        let watches = &self.0;
        if watches
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < watches.max).then_some(n + 1)
            })
            .is_err()
        {
            return ready(Err(Status::resource_exhausted(format!(
                "more than {} Watch calls open",
                watches.max
            ))));
        }
        let permit = Permit(Arc::clone(watches));
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(watch(request.into_inner().service, tx, permit));
        ready(Ok(Response::new(WatchStream(rx))))
    }
}

/// Sends the status of `service` at once, then each change, until the caller goes
/// away or the health checks stop.
async fn watch(
    service: String,
    tx: mpsc::Sender<Result<HealthCheckResponse, Status>>,
    permit: Permit,
) {
    let mut changes = crate::health::changes();
    let mut last = None;
    let mut seen_running = false;
    loop {
        // Seen before reading, so a change while reading wakes the wait below.
        let _seen = *changes.borrow_and_update();
        let running = status::running();
        let closed = permit.0.closed.load(Ordering::Acquire);
        let status = if closed {
            ServingStatus::NotServing
        } else {
            status::status_of(&service).unwrap_or(ServingStatus::ServiceUnknown)
        };
        if last != Some(status) {
            last = Some(status);
            if tx.send(Ok(HealthCheckResponse::of(status))).await.is_err() {
                return;
            }
        }
        if closed || (seen_running && !running) {
            // Stopped: the last word was NOT_SERVING; ending lets the server stop.
            return;
        }
        seen_running |= running;
        tokio::select! {
            notified = changes.changed() => {
                if notified.is_err() {
                    return;
                }
            }
            () = tokio::time::sleep(RECHECK) => {}
            () = permit.0.wake.notified() => {}
            () = tx.closed() => return,
        }
    }
}

/// The messages of one `Watch`.
struct WatchStream(mpsc::Receiver<Result<HealthCheckResponse, Status>>);

impl futures_core::Stream for WatchStream {
    type Item = Result<HealthCheckResponse, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_answers_up_to_its_limit() {
        let names = |n: usize| (0..n).map(|i| format!("check-{i}")).collect::<Vec<_>>();
        // Nothing installed in this test: every service is NOT_SERVING.
        let listed = list(names(MAX_LIST_SERVICES)).unwrap();
        assert_eq!(listed.statuses.len(), MAX_LIST_SERVICES);
        assert!(
            listed
                .statuses
                .values()
                .all(|s| s.status == ServingStatus::NotServing as i32)
        );
        let refused = list(names(MAX_LIST_SERVICES + 1)).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    }

    #[test]
    fn close_watches_ends_open_and_later_watches() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let health = HealthService::new();
            let mut watch = Watch(Arc::clone(&health.watches));
            let open = |watch: &mut Watch| {
                let request = Request::new(HealthCheckRequest {
                    service: "nope".into(),
                });
                ServerStreamingService::call(watch, request)
            };
            let mut first = open(&mut watch).await.unwrap().into_inner();
            // Nothing installed here: NOT_SERVING, and the call stays open.
            let message = first.0.recv().await.unwrap().unwrap();
            assert_eq!(message.status, ServingStatus::NotServing as i32);
            let still_open =
                tokio::time::timeout(Duration::from_millis(1500), first.0.recv()).await;
            assert!(still_open.is_err(), "open until closed");
            health.close_watches();
            let ended = tokio::time::timeout(Duration::from_secs(5), first.0.recv())
                .await
                .expect("the watch ends within the recheck interval");
            assert!(ended.is_none());
            let mut later = open(&mut watch).await.unwrap().into_inner();
            let only = later.0.recv().await.unwrap().unwrap();
            assert_eq!(only.status, ServingStatus::NotServing as i32);
            assert!(later.0.recv().await.is_none());
        });
    }
}
