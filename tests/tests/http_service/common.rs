//! One process-wide setup for the tests of this binary: `install()` with JSON logs into a
//! buffer and OTLP export to a real receiver, the `http_service` example's app on a free
//! port, and a second app (no catch-panic, body sizes, a slow route) for what the
//! example does not do. Tests take the lock in turn, so the counts they compare before
//! and after their requests are exact.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use flext_observability::http::ServerLayer;
use flext_observability::logs::LogFormat;
use flext_observability::{Observability, OtlpProtocol};
use flext_observability_tests::otlp::Receiver;
use serde_json::Value;

/// Log lines, shared with the subscriber.
#[derive(Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// Every JSON line written so far.
    pub(crate) fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

pub(crate) struct Env {
    /// The example's app.
    pub(crate) app: SocketAddr,
    /// The second app.
    pub(crate) bare: SocketAddr,
    /// The embedded server (`/metrics`).
    pub(crate) obs: SocketAddr,
    pub(crate) logs: Buffer,
    pub(crate) receiver: Receiver,
    pub(crate) runtime: tokio::runtime::Runtime,
}

static ENV: OnceLock<Env> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());

/// The setup, and this test's turn.
pub(crate) fn env() -> (MutexGuard<'static, ()>, &'static Env) {
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    (turn, ENV.get_or_init(start))
}

fn start() -> Env {
    let logs = Buffer::default();
    let receiver = Receiver::start();
    let guard = Observability::builder()
        .service_name("http-service-test")
        .listen("127.0.0.1:0")
        // Their runs are spans: they would crowd the receiver.
        .system_checks(false)
        .log_format(LogFormat::Json)
        .log_writer(logs.clone())
        .otlp_endpoint(receiver.grpc_endpoint())
        .otlp_protocol(OtlpProtocol::Grpc)
        .install()
        .expect("install");
    let obs = guard.local_addr().expect("embedded server");
    // Lives as long as the process: the tests share it.
    std::mem::forget(guard);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, bare) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = listener.local_addr().unwrap();
        let router = flext_observability_examples::http_service::app(app);
        tokio::spawn(flext_observability_examples::http_service::serve(
            listener,
            router,
            std::future::pending(),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bare = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, bare_app()).await });
        (app, bare)
    });
    Env {
        app,
        bare,
        obs,
        logs,
        receiver,
        runtime,
    }
}

/// What the example does not have: a handler that panics with nothing to catch it, body
/// sizes, a slow route, a timeout outside the layer.
fn bare_app() -> Router {
    let measured = Router::new()
        .route("/bare/boom", get(boom))
        .route(
            "/bare/sized",
            post(|body: bytes::Bytes| async move { vec![b'x'; body.len() * 2] }),
        )
        .route(
            "/bare/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .layer(ServerLayer::new().body_sizes(true));
    let timed = Router::new()
        .route(
            "/bare/timeout",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .layer(ServerLayer::new())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            http::StatusCode::GATEWAY_TIMEOUT,
            Duration::from_millis(100),
        ));
    measured.merge(timed)
}

async fn boom() -> &'static str {
    panic!("bare handler panics on purpose, nothing catches it");
}

/// `/metrics` of the embedded server, over HTTP.
pub(crate) fn scrape(env: &Env) -> String {
    let r = flext_observability_tests::http::get(&format!("http://{}/metrics", env.obs))
        .expect("scrape /metrics");
    assert_eq!(r.status, 200);
    r.body
}

/// The value of one series (0 when absent).
pub(crate) fn value(text: &str, series: &str) -> f64 {
    flext_observability_tests::sample(text, series).unwrap_or(0.0)
}

/// The count of the server duration series with these labels.
pub(crate) fn server_count(text: &str, labels: &str) -> f64 {
    value(
        text,
        &format!("http_server_request_duration_seconds_count{{{labels}}}"),
    )
}

/// Labels of a server series, in exposition order.
pub(crate) fn labels(
    method: &str,
    status: &str,
    route: Option<&str>,
    error: Option<&str>,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if let Some(e) = error {
        let _ = write!(out, r#"error_type="{e}","#);
    }
    let _ = write!(out, r#"http_request_method="{method}","#);
    if !status.is_empty() {
        let _ = write!(out, r#"http_response_status_code="{status}","#);
    }
    if let Some(r) = route {
        let _ = write!(out, r#"http_route="{r}","#);
    }
    out.push_str(r#"network_protocol_version="1.1",url_scheme="http""#);
    out
}

/// Number of series (lines of `_count`) of a histogram family.
pub(crate) fn series_count(text: &str, family: &str) -> usize {
    let prefix = format!("{family}_count{{");
    text.lines().filter(|l| l.starts_with(&prefix)).count()
}

/// A raw HTTP/1.1 request over a socket: (status, head). Anything may go in the request
/// line, which is the point.
pub(crate) fn raw(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// Waits until `f` holds on a fresh scrape.
pub(crate) fn wait_metrics(env: &Env, what: &str, mut f: impl FnMut(&str) -> bool) -> String {
    let mut last = String::new();
    let found = flext_observability_tests::eventually(Duration::from_secs(20), || {
        last = scrape(env);
        f(&last).then_some(())
    });
    assert!(found.is_some(), "{what}; last scrape:\n{}", relevant(&last));
    last
}

/// The HTTP lines of an exposition, for failure messages.
pub(crate) fn relevant(text: &str) -> String {
    text.lines()
        .filter(|l| l.starts_with("http_") && !l.contains("_bucket"))
        .collect::<Vec<_>>()
        .join("\n")
}
