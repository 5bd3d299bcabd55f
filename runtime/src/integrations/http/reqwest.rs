//! The `reqwest-middleware` middleware (feature `reqwest`).

use std::sync::Arc;

use super::client::{ClientCall, destination, error_type};
use super::options::methods_from_env;
use super::semconv::KnownMethods;
use super::span;

/// Measures and traces the requests of a [`reqwest`] client through
/// [`reqwest-middleware`](reqwest_middleware): `http.client.request.duration`, a client
/// span as the child of the current span, its context injected into the request headers
/// (feature `otlp`).
///
/// ```no_run
/// use flext_observability::http::ClientMiddleware;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ClientMiddleware::new())
///     .build();
/// let response = client.get("http://127.0.0.1:3000/orders/7").send().await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
///
/// `error.type` of a request without a response: `timeout`, `connect_error`,
/// `redirect`, `body`, `decode`, `request`, or what its source says (see
/// [`ClientLayer`](super::ClientLayer)), else `_OTHER`.
#[derive(Clone, Debug)]
pub struct ClientMiddleware {
    methods: Arc<KnownMethods>,
}

impl Default for ClientMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientMiddleware {
    /// The middleware; reads `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`.
    pub fn new() -> Self {
        ClientMiddleware {
            methods: Arc::new(methods_from_env(&crate::settings::process_env)),
        }
    }
}

fn reqwest_error_type(e: &reqwest_middleware::Error) -> &'static str {
    match e {
        reqwest_middleware::Error::Reqwest(e) => {
            if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connect_error"
            } else if e.is_redirect() {
                "redirect"
            } else if e.is_decode() {
                "decode"
            } else if e.is_body() {
                "body"
            } else {
                match error_type(e) {
                    "_OTHER" if e.is_request() => "request",
                    other => other,
                }
            }
        }
        reqwest_middleware::Error::Middleware(e) => error_type(e.as_ref()),
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for ClientMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut ::http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let url = req.url();
        let destination = destination(
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0),
        );
        let full = || {
            let host_port = match url.port() {
                Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
                None => url.host_str().unwrap_or("").to_owned(),
            };
            let userinfo = !url.username().is_empty() || url.password().is_some();
            span::redact_url(url.scheme(), userinfo, &host_port, url.path(), url.query())
        };
        let call = ClientCall::start(&self.methods, req.method(), destination, &full);
        call.inject(req.headers_mut());
        let result = {
            let future = next.run(req, extensions);
            InSpan {
                span: call.span(),
                future,
            }
            .await
        };
        match &result {
            Ok(response) => call.response(response.status().as_u16(), response.version()),
            Err(e) => call.failed(reqwest_error_type(e)),
        }
        result
    }
}

/// A future polled with a span entered (without cloning the span).
struct InSpan<'a, F> {
    span: &'a tracing::Span,
    future: F,
}

impl<F: std::future::Future + Unpin> std::future::Future for InSpan<'_, F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = &mut *self;
        let _entered = this.span.enter();
        std::pin::Pin::new(&mut this.future).poll(cx)
    }
}
