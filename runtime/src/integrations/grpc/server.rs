//! The server service: what a call costs on its way through the layer.
//!
//! Per call: the content type (one lookup of a standard header), the method (one hash
//! of the path and one comparison, no lock), `grpc-timeout` (one lookup), the clock
//! twice, the series (a scan of the method's few series comparing one integer each)
//! and a few relaxed atomic additions; the status from the response head or, wrapping
//! the body, from its trailers. No lock and no allocation for the metrics; the span
//! and the correlation id cost what they do in the HTTP layer.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use ::http::{HeaderMap, Request, Response, Uri, header};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use super::call::{Call, ResponseBody, Side, UnwindFlag, deadline, error_status};
use super::methods::{self, MethodData, NO_DESTINATION, OTHER};
use super::options::{ServerConfig, ServerLayer};
use super::semconv::UNKNOWN;
use super::span::{self, ServerCall};
use crate::clock;
use crate::integrations::http::correlation;

/// What tower and tonic box errors as.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    config: Arc<ServerConfig>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ServerService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: 'static,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let Some(call) = start(&self.config, &req) else {
            return ResponseFuture {
                inner: self.inner.call(req),
                call: None,
            };
        };
        let inner = {
            let _entered = call.span.enter();
            let _correlation = call.correlation.as_ref().map(correlation::enter);
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            call: Some(call),
        }
    }
}

/// Whether a request carries gRPC: `application/grpc`, alone or with a `+format` or
/// parameters (not gRPC-Web, whose trailers travel in the body).
#[inline]
fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .strip_prefix(b"application/grpc")
            .is_some_and(|rest| matches!(rest.first(), None | Some(b'+' | b';')))
    })
}

/// The method of a call, and the path to learn it from when it is not recognised yet.
#[inline]
fn recognise(
    config: &ServerConfig,
    name: &str,
    uri: &Uri,
) -> (&'static MethodData, Option<::http::uri::PathAndQuery>) {
    let found = methods::find(name);
    match &config.known {
        Some(known) => match found {
            Some(m) if known.iter().any(|k| std::ptr::eq(*k, m)) => (m, None),
            _ => (&OTHER, None),
        },
        None => match found {
            Some(m) if m.served.load(Ordering::Relaxed) => (m, None),
            _ => (&OTHER, uri.path_and_query().cloned()),
        },
    }
}

/// Starts measuring a gRPC call; `None` for other requests and excluded services.
#[inline]
fn start<B>(config: &ServerConfig, req: &Request<B>) -> Option<Call> {
    if !is_grpc(req.headers()) {
        return None;
    }
    let path = req.uri().path();
    let name = path.strip_prefix('/').unwrap_or(path);
    if config.excluded(name) {
        return None;
    }
    let start = clock::raw();
    let (method, unknown_path) = recognise(config, name, req.uri());
    let deadline = deadline(req.headers(), config.timeout_ns);
    let correlation = config.correlation.then(|| {
        let header = config.correlation_header();
        let value = correlation::take_or_make(req.headers(), header);
        (header.clone(), value)
    });
    let span = if config.spans {
        span::server(&ServerCall {
            method,
            original: name,
            authority: req.uri().authority().map(::http::uri::Authority::as_str),
            headers: req.headers(),
            correlation: correlation.as_ref().map(|(_, v)| v),
            dup: config.dup,
        })
    } else {
        Span::none()
    };
    Some(Call::new(
        Side::Server,
        start,
        deadline,
        method,
        unknown_path,
        NO_DESTINATION,
        span,
        correlation,
        config.dup,
    ))
}

/// The status an error of the service stands for: a `tonic::Status`, or what a boxed
/// error wraps; else `UNKNOWN`.
fn service_error_status<E: 'static>(error: &E) -> u8 {
    let any: &dyn Any = error;
    if let Some(status) = any.downcast_ref::<tonic::Status>() {
        return error_status(status);
    }
    if let Some(boxed) = any.downcast_ref::<BoxError>() {
        return error_status(&**boxed);
    }
    UNKNOWN
}

pin_project_lite::pin_project! {
    /// The future of [`ServerService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("measured", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    E: 'static,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(call) = this.call.as_mut() else {
            return this
                .inner
                .poll(cx)
                .map_ok(|r| r.map(|b| ResponseBody::new(b, None)));
        };
        let polled = {
            let Call {
                span,
                correlation,
                panicked,
                ..
            } = call;
            let _entered = span.enter();
            let _correlation = correlation.as_ref().map(correlation::enter);
            let flag = UnwindFlag(panicked);
            let polled = this.inner.poll(cx);
            std::mem::forget(flag);
            polled
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let Some(mut call) = this.call.take() else {
            unreachable!("measured above");
        };
        Poll::Ready(match result {
            Ok(mut response) => {
                if let Some((name, value)) = call.correlation.take() {
                    response.headers_mut().entry(name).or_insert(value);
                }
                let rest = call.head(&response);
                Ok(response.map(|b| ResponseBody::new(b, rest)))
            }
            Err(e) => {
                call.finish(service_error_status(&e));
                Err(e)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_grpc_is_measured() {
        let with = |ct: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ::http::HeaderValue::from_static(ct));
            is_grpc(&h)
        };
        assert!(with("application/grpc"));
        assert!(with("application/grpc+proto"));
        assert!(with("application/grpc;charset=utf-8"));
        assert!(!with("application/grpc-web"));
        assert!(!with("application/json"));
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[test]
    fn errors_of_the_service_give_their_status() {
        assert_eq!(service_error_status(&tonic::Status::not_found("x")), 5);
        let boxed: BoxError = Box::new(tonic::Status::unavailable("x"));
        assert_eq!(service_error_status(&boxed), 14);
        assert_eq!(service_error_status(&std::fmt::Error), UNKNOWN);
    }
}
