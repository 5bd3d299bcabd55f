//! The `http_service` example's app as a plain server for the throughput benchmark:
//! installed as the example installs it (JSON logs on standard output, embedded server
//! on a free port), serving `APP_LISTEN` until killed. `--without-layer` serves the same
//! routes without `ServerLayer` (the baseline). `HTTP_APP_WORKERS` sets the runtime's
//! worker threads (default 1).

use flext_observability::Observability;
use flext_observability::http::ServerLayer;
use flext_observability::logs::LogFormat;
use flext_observability_examples::http_service::{app, app_with, app_without_layer, serve};

fn main() {
    let without_layer = std::env::args().any(|a| a == "--without-layer");
    let listen = std::env::var("APP_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let workers = std::env::var("HTTP_APP_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let _guard = Observability::builder()
        .service_name("http-service")
        .log_format(LogFormat::Json)
        .listen("127.0.0.1:0")
        .install()
        .expect("install");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        // `HTTP_APP_LAYER=metrics|spans` (profiling aid): the layer without correlation ids,
        // or without spans either.
        let router = match (without_layer, std::env::var("HTTP_APP_LAYER").as_deref()) {
            (true, _) => app_without_layer(addr),
            (false, Ok("metrics")) => {
                app_with(addr, ServerLayer::new().spans(false).correlation(false))
            }
            (false, Ok("spans")) => app_with(addr, ServerLayer::new().correlation(false)),
            (false, _) => app(addr),
        };
        eprintln!("http_app listening on {addr} (layer: {})", !without_layer);
        serve(listener, router, std::future::pending())
            .await
            .expect("serve");
    });
}
