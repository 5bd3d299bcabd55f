//! The client side: `rpc.client.call.duration` by method, status and destination, a
//! client span as the child of the current one, its context and the correlation id of
//! the request being served passed on in the call's metadata.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use super::call::{Call, ResponseBody, Side, UnwindFlag, deadline, error_status};
use super::methods::{self, NO_DESTINATION};
use super::options::{ClientConfig, ClientLayer};
use super::server::BoxError;
use super::span;
use crate::clock;
use crate::integrations::http::correlation;
use crate::integrations::http::span::inject;

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`ClientLayer`] wraps around a channel.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
    config: Arc<ClientConfig>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = BoxError;
    type Future = ClientFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &*self.config;
        let (mut parts, body) = req.into_parts();
        let path = parts.uri.path();
        // A client calls what its own code names: every method is recognised (bounded).
        let name = path.strip_prefix('/').unwrap_or(path);
        let method = methods::find(name).unwrap_or_else(|| methods::intern(name));
        let destination = if config.destination == NO_DESTINATION {
            parts
                .uri
                .authority()
                .map_or(NO_DESTINATION, |a| methods::destination(a.as_str()))
        } else {
            config.destination
        };
        let start = clock::raw();
        let deadline = deadline(&parts.headers, config.timeout_ns);
        let span = if config.spans {
            span::client(method, methods::destination_labels(destination), config.dup)
        } else {
            Span::none()
        };
        {
            let _entered = span.enter();
            inject(&mut parts.headers);
            correlation::forward(&mut parts.headers);
        }
        let call = Call::new(
            Side::Client,
            start,
            deadline,
            method,
            None,
            destination,
            span,
            None,
            config.dup,
        );
        let inner = {
            let _entered = call.span.enter();
            self.inner.call(Request::from_parts(parts, body))
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
        call: Option<Call>,
    }
}

impl<F> std::fmt::Debug for ClientFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
    E: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<B>>, BoxError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(call) = this.call.as_mut() else {
            return this.inner.poll(cx).map(|r| {
                r.map(|r| r.map(|b| ResponseBody::new(b, None)))
                    .map_err(Into::into)
            });
        };
        let polled = {
            let Call { span, panicked, .. } = call;
            let _entered = span.enter();
            let flag = UnwindFlag(panicked);
            let polled = this.inner.poll(cx);
            std::mem::forget(flag);
            polled
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let Some(call) = this.call.take() else {
            unreachable!("measured above");
        };
        Poll::Ready(match result {
            Ok(response) => {
                let rest = call.head(&response);
                Ok(response.map(|b| ResponseBody::new(b, rest)))
            }
            Err(e) => {
                let e: BoxError = e.into();
                call.finish(error_status(&*e));
                Err(e)
            }
        })
    }
}
