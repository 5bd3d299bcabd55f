//! The peer: tower-http's gRPC `TraceLayer` and a metrics middleware written the way
//! gRPC services commonly write one (labels from the path, the status from the
//! response headers), recording into `metrics-exporter-prometheus`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};

pub(crate) fn install_recorder() {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the metrics recorder");
}

/// `TraceLayer::new_for_grpc()` around the metrics middleware around `inner`.
pub(crate) fn stack<S>(
    inner: S,
) -> tower_http::trace::Trace<
    Metrics<S>,
    tower_http::classify::SharedClassifier<tower_http::classify::GrpcErrorsAsFailures>,
> {
    tower::ServiceBuilder::new()
        .layer(tower_http::trace::TraceLayer::new_for_grpc())
        .layer(MetricsLayer)
        .service(inner)
}

#[derive(Clone, Copy)]
pub(crate) struct MetricsLayer;

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Metrics<S> {
        Metrics { inner }
    }
}

#[derive(Clone)]
pub(crate) struct Metrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, RB> Service<http::Request<B>> for Metrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    RB: 'static,
{
    type Response = http::Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<RB>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let start = Instant::now();
        let path = req.uri().path().trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or((path, ""));
        let (service, method) = (service.to_owned(), method.to_owned());
        let future = self.inner.call(req);
        Box::pin(async move {
            let response = future.await?;
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_owned();
            let labels = [
                ("grpc_service", service),
                ("grpc_method", method),
                ("grpc_code", code),
            ];
            metrics::counter!("grpc_server_handled_total", &labels).increment(1);
            metrics::histogram!("grpc_server_handling_seconds", &labels)
                .record(start.elapsed());
            Ok(response)
        })
    }
}
