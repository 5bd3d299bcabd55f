//! The client side: `http.client.request.duration` by destination, a client span as the
//! child of the current one, its context injected into the outgoing headers.
//!
//! [`ClientLayer`] wraps any tower service of `http::Request`s, such as hyper-util's
//! `client::legacy::Client`; `ClientMiddleware` (feature
//! `reqwest`) does the same for `reqwest-middleware`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use ::http::{HeaderMap, Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use super::options::methods_from_env;
use super::semconv::{
    self, CANCELLED, KnownMethods, NO_ERROR, PANIC, STATUS_ERROR, error_type_id, version_id,
};
use super::series::{Budget, Key, SeriesList};
use super::span::{self, ClientRequest};
use crate::clock;

/// Most series of `http.client.request.duration`; beyond, one overflow series.
pub const CLIENT_SERIES_LIMIT: usize = 1000;
/// Most distinct destinations (`server.address`, `server.port`); requests to further
/// ones are recorded with `server.address="_OTHER"`.
pub const MAX_DESTINATIONS: usize = 256;

pub(crate) static BUDGET: Budget = Budget::new(CLIENT_SERIES_LIMIT);

/// One destination and its series.
#[derive(Debug)]
pub(crate) struct Destination {
    pub(crate) address: &'static str,
    pub(crate) port: u16,
    pub(crate) series: SeriesList,
}

static DESTINATIONS: [OnceLock<&'static Destination>; MAX_DESTINATIONS] =
    [const { OnceLock::new() }; MAX_DESTINATIONS];
static DESTINATION_COUNT: AtomicUsize = AtomicUsize::new(0);
static ADDING: Mutex<()> = Mutex::new(());
static OTHER_DESTINATION: Destination = Destination {
    address: "_OTHER",
    port: 0,
    series: SeriesList::new(),
};

/// The destination of `address:port`: a scan of the few known ones, no lock.
pub(crate) fn destination(address: &str, port: u16) -> &'static Destination {
    let known = DESTINATION_COUNT.load(Ordering::Acquire);
    for cell in &DESTINATIONS[..known] {
        if let Some(d) = cell.get()
            && d.port == port
            && d.address == address
        {
            return d;
        }
    }
    add_destination(address, port)
}

#[cold]
fn add_destination(address: &str, port: u16) -> &'static Destination {
    let _adding = ADDING.lock().unwrap_or_else(PoisonError::into_inner);
    let known = DESTINATION_COUNT.load(Ordering::Acquire);
    for cell in &DESTINATIONS[..known] {
        if let Some(d) = cell.get()
            && d.port == port
            && d.address == address
        {
            return d;
        }
    }
    if known >= MAX_DESTINATIONS {
        return &OTHER_DESTINATION;
    }
    let d: &'static Destination = Box::leak(Box::new(Destination {
        address: Box::leak(address.to_owned().into_boxed_str()),
        port,
        series: SeriesList::new(),
    }));
    let _ = DESTINATIONS[known].set(d);
    DESTINATION_COUNT.store(known + 1, Ordering::Release);
    d
}

/// Every destination, for the exporters.
pub(crate) fn each_destination(mut f: impl FnMut(&'static Destination)) {
    let known = DESTINATION_COUNT.load(Ordering::Acquire);
    for cell in &DESTINATIONS[..known] {
        if let Some(d) = cell.get() {
            f(d);
        }
    }
    f(&OTHER_DESTINATION);
}

/// One outgoing request on its way: recorded once, when it ends or is dropped.
pub(crate) struct ClientCall {
    start: u64,
    destination: &'static Destination,
    key: Key,
    span: Span,
    done: bool,
}

impl ClientCall {
    /// Starts measuring a request and opens its span.
    pub(crate) fn start(
        methods: &KnownMethods,
        method: &::http::Method,
        destination: &'static Destination,
        url: &dyn Fn() -> String,
    ) -> ClientCall {
        let start = clock::raw();
        let method_id = methods.classify(method);
        let span = span::client(&ClientRequest {
            method: method_id,
            original_method: method.as_str(),
            address: destination.address,
            port: destination.port,
            url,
        });
        ClientCall {
            start,
            destination,
            key: Key {
                method: method_id,
                status: 0,
                scheme: 0,
                version: 0,
                error: NO_ERROR,
            },
            span,
            done: false,
        }
    }

    /// Writes the span's context, and the correlation id of the request being served,
    /// into the outgoing headers.
    pub(crate) fn inject(&self, headers: &mut HeaderMap) {
        let _entered = self.span.enter();
        span::inject(headers);
        super::correlation::forward(headers);
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// A response came back: 4xx and 5xx are errors for a client.
    pub(crate) fn response(mut self, status: u16, version: ::http::Version) {
        self.key.status = status;
        self.key.version = version_id(version);
        let error = status >= 400;
        if error {
            self.key.error = STATUS_ERROR;
        }
        span::finish(
            &self.span,
            Some(status),
            error.then(|| semconv::status_text(status)),
        );
        if !self.span.is_disabled() {
            self.span.record(
                "network.protocol.version",
                semconv::VERSIONS[usize::from(self.key.version)],
            );
        }
        self.record();
    }

    /// The request failed without a response.
    pub(crate) fn failed(mut self, error_type: &'static str) {
        self.key.error = error_type_id(error_type);
        span::finish(&self.span, None, Some(error_type));
        self.record();
    }

    fn record(&mut self) {
        self.done = true;
        let end = clock::raw();
        let nanos = clock::nanos_between(self.start, end);
        self.destination
            .series
            .find(self.key, &BUDGET)
            .record(nanos, end, &self.span);
    }
}

impl Drop for ClientCall {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let error = if std::thread::panicking() {
            PANIC
        } else {
            CANCELLED
        };
        self.key.error = error_type_id(error);
        if !self.span.is_disabled() {
            // A cancelled call is not an error of the call (the conventions); a panic is.
            self.span.record("error.type", error);
            if error == PANIC {
                self.span.record("otel.status_code", "ERROR");
            }
        }
        self.record();
    }
}

/// `error.type` of a failed request, from the error and its sources: `timeout`,
/// `connection_refused`, `connection_reset`, `connection_closed`, `dns_error`,
/// `incomplete_message`, `connect_error`, else `_OTHER`.
pub(crate) fn error_type(error: &(dyn std::error::Error + 'static)) -> &'static str {
    let mut current = Some(error);
    let mut connect = false;
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            return match io.kind() {
                ErrorKind::TimedOut => "timeout",
                ErrorKind::ConnectionRefused => "connection_refused",
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => "connection_reset",
                ErrorKind::UnexpectedEof | ErrorKind::BrokenPipe => "connection_closed",
                _ if io.to_string().contains("lookup") => "dns_error",
                _ if connect => "connect_error",
                _ => "_OTHER",
            };
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_timeout() {
                return "timeout";
            }
            if h.is_incomplete_message() {
                return "incomplete_message";
            }
            if h.is_closed() || h.is_canceled() {
                return "connection_closed";
            }
        }
        // hyper-util's connect errors say so in their text, and have no public type
        // this crate depends on.
        if e.to_string().contains("Connect") || e.to_string().contains("connect") {
            connect = true;
        }
        current = e.source();
    }
    if connect { "connect_error" } else { "_OTHER" }
}

/// Measures and traces the requests of an HTTP client: a
/// [`tower::Layer`](tower_layer::Layer) for any service of `http::Request`s, such as
/// hyper-util's `client::legacy::Client`.
///
/// ```no_run
/// use flext_observability::http::ClientLayer;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
/// let mut client = ServiceBuilder::new().layer(ClientLayer::new()).service(client);
/// let request = http::Request::get("http://127.0.0.1:3000/orders/7").body(Empty::new())?;
/// let response = client.ready().await?.call(request).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
///
/// The URI must be absolute (`http://host:port/…`): `server.address` and `server.port`
/// come from it, or from the `Host` header.
#[derive(Clone, Debug)]
pub struct ClientLayer {
    methods: std::sync::Arc<KnownMethods>,
}

impl Default for ClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientLayer {
    /// The layer; reads `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` like
    /// [`ServerLayer::new`](super::ServerLayer::new).
    pub fn new() -> Self {
        ClientLayer {
            methods: std::sync::Arc::new(methods_from_env(&crate::settings::process_env)),
        }
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The service [`ClientLayer`] wraps around a client.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
    methods: std::sync::Arc<KnownMethods>,
}

/// The destination of a request: the URI's host and port, else the `Host` header's; the
/// port defaults by scheme.
fn target(uri: &::http::Uri, headers: &HeaderMap) -> &'static Destination {
    let default_port = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    if let Some(host) = uri.host() {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        return destination(host, uri.port_u16().unwrap_or(default_port));
    }
    let header = headers
        .get(::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (host, port) = span::split_host(header);
    destination(host, port.unwrap_or(default_port))
}

impl<S, B, RB> Service<Request<B>> for ClientService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Error: std::error::Error + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        let destination = target(&parts.uri, &parts.headers);
        let uri = &parts.uri;
        let url = || {
            let scheme = uri.scheme_str().unwrap_or("http");
            let authority = uri.authority().map_or("", |a| a.as_str());
            let (userinfo, host_port) = match authority.rsplit_once('@') {
                Some((_, hp)) => (true, hp),
                None => (false, authority),
            };
            span::redact_url(scheme, userinfo, host_port, uri.path(), uri.query())
        };
        let call = ClientCall::start(&self.methods, &parts.method, destination, &url);
        call.inject(&mut parts.headers);
        let req = Request::from_parts(parts, body);
        let inner = {
            let _entered = call.span().enter();
            self.inner.call(req)
        };
        ClientFuture {
            inner,
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ClientService`].
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        call: Option<ClientCall>,
    }
}

impl<F> std::fmt::Debug for ClientFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFuture").finish_non_exhaustive()
    }
}

impl<F, RB, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    E: std::error::Error + 'static,
{
    type Output = Result<Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = match this.call.as_ref() {
            Some(call) => {
                let _entered = call.span().enter();
                this.inner.poll(cx)
            }
            None => this.inner.poll(cx),
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        if let Some(call) = this.call.take() {
            match &result {
                Ok(response) => call.response(response.status().as_u16(), response.version()),
                Err(e) => call.failed(error_type(e)),
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_interned() {
        let a = destination("t.example", 80);
        assert!(std::ptr::eq(a, destination("t.example", 80)));
        assert!(!std::ptr::eq(a, destination("t.example", 81)));
    }

    #[test]
    fn transport_errors_get_a_type() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(error_type(&refused), "connection_refused");
        let timeout = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(error_type(&timeout), "timeout");
        assert_eq!(error_type(&std::fmt::Error), "_OTHER");
    }
}
