//! The embedded HTTP server: `/metrics`, and the health routes of `health::http`.
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

use crate::Error;
use crate::prometheus::Format;

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; beyond, new ones are closed at once (probes and scrapers
/// retry), so a flood of clients cannot exhaust memory or descriptors.
const MAX_CONNECTIONS: usize = 512;
/// Renders of `/metrics` at once: each builds the whole exposition in memory.
static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub(crate) type Body = Full<Bytes>;

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
                let Ok((stream, _)) = accepted else {
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
                    .serve_connection(TokioIo::new(stream), service_fn(handle));
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

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let response = match path {
        "/metrics" => match *req.method() {
            Method::GET | Method::HEAD => metrics(&req).await,
            _ => method_not_allowed(),
        },
        _ => match crate::health::http::route(path) {
            Some(route) => match *req.method() {
                Method::GET | Method::HEAD => crate::health::http::respond(&req, &route),
                _ => method_not_allowed(),
            },
            None => text(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    Ok(response)
}

async fn metrics(req: &Request<Incoming>) -> Response<Body> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    // A scrape flood queues here instead of rendering many multi-megabyte copies at once.
    let Ok(_permit) = RENDERS.acquire().await else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    };
    let Ok(body) = tokio::task::spawn_blocking(move || format.render()).await else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n");
    };
    // The whole body also for HEAD: hyper sends no body then, but the `Content-Length`
    // GET would have.
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn method_not_allowed() -> Response<Body> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}
