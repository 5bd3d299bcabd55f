//! The server service: what a request costs on its way through the layer.
//!
//! Per request: the method's id (a few tag comparisons), the route (one extension
//! lookup and one address comparison after the first request of a route), the clock
//! twice, the series (a scan of the route's few series comparing one integer each) and
//! a handful of relaxed atomic additions. No lock, no hash of labels, no allocation for
//! the metrics; the span (when something records it) and the correlation id (a new one
//! is one small allocation, echoing it one header insertion) cost what they say.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::task::{Context, Poll};

use ::http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use super::correlation;
use super::options::{Config, ServerLayer};
use super::routes::{self, Route, RouteData, UNMATCHED};
use super::semconv::{
    self, CANCELLED, MAX_METHODS, NO_ERROR, PANIC, STATUS_ERROR, error_type_id, version_id,
};
use super::series::{Budget, Key};
use super::span::{self, ServerRequest};
use crate::clock;

/// Most series of `http.server.request.duration` (each also holds its size histograms);
/// requests beyond go to one `otel_metric_overflow="true"` series.
pub const SERVER_SERIES_LIMIT: usize = 2000;

pub(crate) static BUDGET: Budget = Budget::new(SERVER_SERIES_LIMIT);

/// `http.server.active_requests` by method id and scheme id, and whether each was used.
pub(crate) static ACTIVE: [[AtomicI64; 2]; MAX_METHODS] =
    [const { [const { AtomicI64::new(0) }; 2] }; MAX_METHODS];
pub(crate) static ACTIVE_USED: [[AtomicBool; 2]; MAX_METHODS] =
    [const { [const { AtomicBool::new(false) }; 2] }; MAX_METHODS];

impl<S> Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        ServerService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`ServerLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct ServerService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &*self.config;
        if config.excluded(req.uri().path()) {
            return ResponseFuture {
                inner: self.inner.call(req),
                pending: None,
            };
        }
        let start = clock::raw();
        let method = config.methods.classify(req.method());
        let scheme = scheme_of(&req, config);
        let version = version_id(req.version());
        let route = route_of(&req);
        let active = config.active_requests;
        if active {
            let m = usize::from(method);
            let s = usize::from(scheme);
            ACTIVE[m][s].fetch_add(1, Ordering::Relaxed);
            if !ACTIVE_USED[m][s].load(Ordering::Relaxed) {
                ACTIVE_USED[m][s].store(true, Ordering::Relaxed);
            }
        }
        let correlation = config.correlation.then(|| {
            let name = config.correlation_header();
            let value = correlation::take_or_make(req.headers(), name);
            (name.clone(), value)
        });
        let span = if config.spans {
            span::server(&ServerRequest {
                route,
                method,
                original_method: req.method().as_str(),
                scheme,
                version,
                uri: req.uri(),
                headers: req.headers(),
                correlation: correlation.as_ref().map(|(_, v)| v),
            })
        } else {
            Span::none()
        };
        let pending = Pending {
            start,
            route,
            key: Key {
                method,
                status: 0,
                scheme,
                version,
                error: NO_ERROR,
            },
            request_size: config
                .body_sizes
                .then(|| content_length(req.headers()))
                .flatten(),
            body_sizes: config.body_sizes,
            active,
            correlation,
            span,
            panicked: Cell::new(false),
            done: false,
        };
        let inner = {
            let _entered = pending.span.enter();
            let _correlation = pending.correlation.as_ref().map(correlation::enter);
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            pending: Some(pending),
        }
    }
}

/// `url.scheme`: the URI's, else `X-Forwarded-Proto` when trusted, else the layer's.
#[inline]
fn scheme_of<B>(req: &Request<B>, config: &Config) -> u8 {
    match req.uri().scheme_str() {
        Some("https") => 1,
        Some("http") => 0,
        _ if config.forwarded_proto => match req
            .headers()
            .get("x-forwarded-proto")
            .map(HeaderValue::as_bytes)
        {
            Some(p) if p.eq_ignore_ascii_case(b"https") => 1,
            Some(p) if p.eq_ignore_ascii_case(b"http") => 0,
            _ => config.default_scheme,
        },
        _ => config.default_scheme,
    }
}

/// The route template: axum's `MatchedPath` (feature `axum`), else a [`Route`].
#[inline]
fn route_of<B>(req: &Request<B>) -> &'static RouteData {
    #[cfg(feature = "axum")]
    if let Some(matched) = req.extensions().get::<axum::extract::MatchedPath>() {
        return routes::by_address(matched.as_str(), || matched.clone());
    }
    match req.extensions().get::<Route>() {
        Some(route) => routes::by_address(route.as_str(), || ()),
        None => &UNMATCHED,
    }
}

fn content_length(headers: &::http::HeaderMap) -> Option<u64> {
    headers
        .get(::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A request on its way: recorded exactly once, when the response comes back or when the
/// future is dropped (a panic, or a cancelled request).
struct Pending {
    start: u64,
    route: &'static RouteData,
    key: Key,
    request_size: Option<u64>,
    body_sizes: bool,
    active: bool,
    correlation: Option<correlation::Pair>,
    span: Span,
    /// Set when a panic unwound through a poll of the service's future: whoever caught
    /// it (tower-http's catch-panic, the runtime) drops the future later, not while
    /// unwinding.
    panicked: Cell<bool>,
    done: bool,
}

impl Pending {
    fn record(&mut self, route: &'static RouteData, response_size: Option<u64>) {
        self.done = true;
        let end = clock::raw();
        let nanos = clock::nanos_between(self.start, end);
        let series = route.series.find(self.key, &BUDGET);
        series.record(nanos, end, &self.span);
        if self.body_sizes {
            if let Some(n) = self.request_size {
                series.request_sizes.record(n);
            }
            if let Some(n) = response_size {
                series.response_sizes.record(n);
            }
        }
        if self.active {
            ACTIVE[usize::from(self.key.method)][usize::from(self.key.scheme)]
                .fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn finish<B: http_body::Body, E>(
        mut self,
        result: Result<Response<B>, E>,
    ) -> Result<Response<B>, E> {
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                self.key.status = status;
                let mut route = self.route;
                if route.is_unmatched()
                    && let Some(late) = response.extensions().get::<Route>()
                {
                    route = routes::by_address(late.as_str(), || ());
                    if !self.span.is_disabled() {
                        self.span.record("http.route", route.template);
                        self.span
                            .record("otel.name", route.span_name(self.key.method));
                    }
                }
                let error = status >= 500;
                if error {
                    self.key.error = STATUS_ERROR;
                }
                span::finish(
                    &self.span,
                    Some(status),
                    error.then(|| semconv::status_text(status)),
                );
                if let Some((name, value)) = self.correlation.take() {
                    response.headers_mut().entry(name).or_insert(value);
                }
                let size = if self.body_sizes {
                    http_body::Body::size_hint(response.body()).exact()
                } else {
                    None
                };
                self.record(route, size);
                Ok(response)
            }
            Err(e) => {
                let name = std::any::type_name::<E>();
                self.key.error = error_type_id(name);
                span::finish(&self.span, None, Some(name));
                self.record(self.route, None);
                Err(e)
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.panicked.get() || std::thread::panicking() {
            // Counted as the 500 a catch-panic layer answers (or that the connection's
            // end stands for when nothing catches it).
            self.key.status = 500;
            self.key.error = error_type_id(PANIC);
            span::finish(&self.span, Some(500), Some(PANIC));
        } else {
            self.key.error = error_type_id(CANCELLED);
            if !self.span.is_disabled() {
                self.span.record("error.type", CANCELLED);
            }
        }
        self.record(self.route, None);
    }
}

/// Marks a request as panicked when a panic unwinds through its poll.
struct UnwindFlag<'a>(&'a Cell<bool>);

impl Drop for UnwindFlag<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.set(true);
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ServerService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("measured", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<B>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(pending) = this.pending.as_ref() else {
            return this.inner.poll(cx);
        };
        let polled = {
            let _entered = pending.span.enter();
            let _correlation = pending.correlation.as_ref().map(correlation::enter);
            let flag = UnwindFlag(&pending.panicked);
            let polled = this.inner.poll(cx);
            std::mem::forget(flag);
            polled
        };
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => match this.pending.take() {
                Some(pending) => Poll::Ready(pending.finish(result)),
                None => Poll::Ready(result),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, forwarded: Option<&str>) -> Request<()> {
        let mut builder = Request::get(uri);
        if let Some(proto) = forwarded {
            builder = builder.header("x-forwarded-proto", proto);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn the_scheme_comes_from_the_uri_then_the_proxy_then_the_layer() {
        let plain = ServerLayer::new();
        let proxied = ServerLayer::new().trust_forwarded_proto(true);
        let tls = ServerLayer::new().scheme("https");
        assert_eq!(scheme_of(&request("https://h/a", None), &plain.config), 1);
        assert_eq!(scheme_of(&request("/a", Some("https")), &plain.config), 0);
        assert_eq!(scheme_of(&request("/a", Some("HTTPS")), &proxied.config), 1);
        assert_eq!(
            scheme_of(&request("/a", Some("gopher")), &proxied.config),
            0
        );
        assert_eq!(scheme_of(&request("/a", None), &tls.config), 1);
        assert_eq!(scheme_of(&request("http://h/a", None), &tls.config), 0);
    }
}
