//! The embedded HTTP server: it answers the routes registered in [`crate::routes`]
//! (`/metrics`, the health probes, an integration's pages) and names none of them.
//!
//! It runs on its own thread with its own single-threaded Tokio runtime, so it works from
//! a plain `main`, inside any Tokio runtime, and keeps answering when the application's
//! runtime is saturated. Rendering runs on the blocking pool so a large scrape never
//! delays another request.
//!
//! Probes keep being answered during a flood of idle, slow or abandoned connections: the
//! connections held are capped, and at the cap a new one takes the place of the oldest
//! that is not serving a request ([`connections`]); what was closed that way is counted
//! in `flext_observability_server_connections_closed_total`.

mod connections;
mod stats;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
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
use connections::{Busy, Connections, MAX_CONNECTIONS};

/// How long a client may take to send its request headers once it started one.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections the kernel queues before the server accepts them (capped by
/// `net.core.somaxconn`): a burst of clients must not fill the queue and make a probe's
/// connection wait a SYN retry (one second) while the server is about to accept it.
const BACKLOG: u32 = 4096;
/// How long shutdown waits for requests in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Heavy routes (a `/metrics` render, a page) answered at once, each on the blocking
/// pool: each builds its whole body in memory.
static HEAVY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

type Body = Tracked;

pub(crate) struct Server {
    local_addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A bound socket, not yet served: binding is what fails in practice (a busy port), so
/// `install()` binds before it starts anything else.
pub(crate) struct Bound {
    /// `Some` until served.
    runtime: Option<tokio::runtime::Runtime>,
    listener: Option<tokio::net::TcpListener>,
    local_addr: SocketAddr,
}

impl Drop for Bound {
    /// Dropped unserved (a later step of `install()` failed), perhaps inside the caller's
    /// own Tokio runtime, where dropping a runtime would panic: shut down in the
    /// background instead.
    fn drop(&mut self) {
        drop(self.listener.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Server {
    pub(crate) fn bind(addr: SocketAddr) -> Result<Bound, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("flext-obs-server")
            .build()
            .map_err(Error::Spawn)?;
        let bind = || {
            let socket = if addr.is_ipv4() {
                tokio::net::TcpSocket::new_v4()
            } else {
                tokio::net::TcpSocket::new_v6()
            }?;
            #[cfg(unix)]
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            // Registering the listener needs the runtime that will serve it.
            let _entered = runtime.enter();
            let listener = socket.listen(BACKLOG)?;
            let local_addr = listener.local_addr()?;
            Ok((listener, local_addr))
        };
        match bind() {
            Ok((listener, local_addr)) => Ok(Bound {
                runtime: Some(runtime),
                listener: Some(listener),
                local_addr,
            }),
            Err(error) => {
                // `install()` may be called inside the caller's runtime, where dropping
                // one would panic.
                runtime.shutdown_background();
                Err(Error::Bind { addr, error })
            }
        }
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
    /// The address bound (the port chosen, with port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts serving on the server's own thread.
    pub(crate) fn serve(mut self) -> Result<Server, Error> {
        let local_addr = self.local_addr;
        let (Some(runtime), Some(listener)) = (self.runtime.take(), self.listener.take()) else {
            unreachable!("a bound socket is served once");
        };
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

async fn serve(listener: tokio::net::TcpListener, mut shutdown: oneshot::Receiver<()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(Connections::default());
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let Some(admitted) = connections.admit(MAX_CONNECTIONS) else {
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let busy = Arc::clone(&admitted.busy);
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |req| handle(req, Some(peer), Arc::clone(&busy))),
                    );
                let conn = graceful.watch(conn);
                let connections = Arc::clone(&connections);
                tokio::spawn(async move {
                    // Evicted: dropping the connection closes its socket.
                    tokio::select! {
                        _ = conn => {}
                        _ = admitted.closed => {}
                    }
                    connections.leave(admitted.id);
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
    busy: Arc<Busy>,
) -> Result<Response<Body>, Infallible> {
    busy.start();
    let mut response = respond(req, peer).await;
    // Busy until the response is written: the body says when hyper is done with it.
    response.body_mut().busy = Some(busy);
    Ok(response)
}

async fn respond(req: Request<Incoming>, peer: Option<SocketAddr>) -> Response<Body> {
    let Some(route) = routes::find(req.uri().path()) else {
        return into_response(Reply::text(StatusCode::NOT_FOUND, "not found\n"));
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return into_response(
            Reply::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
                .header(header::ALLOW, HeaderValue::from_static("GET, HEAD")),
        );
    }
    let (parts, _body) = req.into_parts();
    let request = RouteRequest {
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers,
        peer,
    };
    if !route.heavy {
        return into_response((route.respond)(&request));
    }
    // A scrape flood queues here instead of rendering many multi-megabyte copies at once.
    let Ok(_permit) = HEAVY.acquire().await else {
        return into_response(Reply::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n",
        ));
    };
    let respond = route.respond;
    let reply = match tokio::task::spawn_blocking(move || respond(&request)).await {
        Ok(reply) => reply,
        Err(_) => Reply::text(StatusCode::INTERNAL_SERVER_ERROR, "rendering failed\n"),
    };
    into_response(reply)
}

/// The one place a reply becomes HTTP.
fn into_response(reply: Reply) -> Response<Body> {
    let mut response = Response::new(Tracked {
        inner: Full::new(reply.body),
        busy: None,
    });
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

/// A response body that marks its connection idle once hyper has written (dropped) it.
struct Tracked {
    inner: Full<Bytes>,
    busy: Option<Arc<Busy>>,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(busy) = &self.busy {
            busy.end();
        }
    }
}
