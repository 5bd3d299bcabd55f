//! The embedded HTTP server: it answers the routes registered in [`crate::routes`]
//! (`/metrics`, the health probes, an integration's pages) and names none of them.
//!
//! It runs on its own thread with its own single-threaded Tokio runtime, so it works from
//! a plain `main`, inside any Tokio runtime, and keeps answering when the application's
//! runtime is saturated. Rendering runs on the blocking pool so a large scrape never
//! delays another request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::routes::{self, Reply, RouteRequest};

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; beyond, new ones are closed at once (probes and scrapers
/// retry), so a flood of clients cannot exhaust memory or descriptors.
const MAX_CONNECTIONS: usize = 512;
/// Heavy routes (a `/metrics` render, a page) answered at once, each on the blocking
/// pool: each builds its whole body in memory.
static HEAVY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

type Body = Full<Bytes>;

pub(crate) struct Server {
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A bound socket, not yet served: binding is what fails in practice (a busy port), so
/// `install()` binds before it starts anything else.
pub(crate) struct Bound {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
}

impl Server {
    pub(crate) fn bind(addr: SocketAddr) -> Result<Bound, Error> {
        let listener =
            std::net::TcpListener::bind(addr).map_err(|error| Error::Bind { addr, error })?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| Error::Bind { addr, error })?;
        listener
            .set_nonblocking(true)
            .map_err(|error| Error::Bind { addr, error })?;
        Ok(Bound {
            listener,
            local_addr,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub(crate) fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Bound {
    /// Starts serving on the server's own thread.
    pub(crate) fn serve(self) -> Result<Server, Error> {
        let Bound {
            listener,
            local_addr,
        } = self;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("flext-obs-server")
            .build()
            .map_err(Error::Spawn)?;
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("flext-obs-server".into())
            .spawn(move || runtime.block_on(serve(listener, rx)))
            .map_err(Error::Spawn)?;
        Ok(Server {
            local_addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(listener: std::net::TcpListener, mut shutdown: oneshot::Receiver<()>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            crate::diag::warn(&format!("embedded server cannot start: {e}"));
            return;
        }
    };
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |req| handle(req, Some(peer))),
                    );
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

async fn handle(
    req: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, Infallible> {
    let Some(route) = routes::find(req.uri().path()) else {
        return Ok(into_response(Reply::text(
            StatusCode::NOT_FOUND,
            "not found\n",
        )));
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(into_response(
            Reply::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
                .header(header::ALLOW, HeaderValue::from_static("GET, HEAD")),
        ));
    }
    let (parts, _body) = req.into_parts();
    let request = RouteRequest {
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        peer,
    };
    if !route.heavy {
        return Ok(into_response((route.respond)(&request)));
    }
    // A scrape flood queues here instead of rendering many multi-megabyte copies at once.
    let Ok(_permit) = HEAVY.acquire().await else {
        return Ok(into_response(Reply::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n",
        )));
    };
    let respond = route.respond;
    let reply = match tokio::task::spawn_blocking(move || respond(&request)).await {
        Ok(reply) => reply,
        Err(_) => Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
    };
    Ok(into_response(reply))
}

/// The one place a reply becomes HTTP.
fn into_response(reply: Reply) -> Response<Body> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        headers.insert(name, value);
    }
    response
}
