//! A real OTLP receiver on loopback, built from `opentelemetry-proto`: the gRPC
//! `TraceService`/`MetricsService` served by tonic, and OTLP/HTTP (`POST /v1/traces`,
//! `POST /v1/metrics`, protobuf bodies) served by a small HTTP/1.1 loop. Everything it
//! receives is kept for the test to inspect, and every request stored wakes the tests
//! waiting on it ([`Receiver::wait`]). [`Receiver::fail_next`] makes it refuse requests
//! the way an overloaded collector does (HTTP 503, gRPC `UNAVAILABLE`).
//!
//! Its threads have no `tracing` subscriber: the server's own HTTP/2 spans would
//! otherwise reach the exporter of the process under test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

pub use opentelemetry_proto::tonic::metrics::v1::metric::Data as MetricData;
pub use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

/// What the receiver got, request by request.
#[derive(Default)]
pub struct Received {
    pub traces: Vec<ExportTraceServiceRequest>,
    pub metrics: Vec<ExportMetricsServiceRequest>,
    /// Headers (gRPC metadata) of every request, lowercase names.
    pub headers: Vec<Vec<(String, String)>>,
}

#[derive(Clone, Default)]
struct Store(Arc<Shared>);

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled on every change of `state`.
    changed: Condvar,
    failing: Failing,
}

#[derive(Default)]
struct State {
    received: Received,
    /// OTLP/HTTP connections accepted and not yet closed.
    open_http: usize,
}

/// Requests still to refuse, and requests refused so far.
#[derive(Default)]
struct Failing {
    next: AtomicUsize,
    refused: AtomicUsize,
}

impl Store {
    /// Whether to refuse this request (and count it).
    fn refuse(&self) -> bool {
        let failing = &self.0.failing;
        let refuse = failing
            .next
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if refuse {
            failing.refused.fetch_add(1, Ordering::AcqRel);
        }
        refuse
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap()
    }

    /// Changes the state and wakes every waiter.
    fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.lock());
        self.0.changed.notify_all();
        out
    }

    /// Waits until `f` finds something in the state, rechecking on every change.
    fn wait<T>(&self, timeout: Duration, mut f: impl FnMut(&State) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(found) = f(&state) {
                return Some(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            state = self.0.changed.wait_timeout(state, left).unwrap().0;
        }
    }
}

/// Counts one OTLP/HTTP connection from its acceptance until its handler ends.
struct OpenConnection(Store);

impl OpenConnection {
    fn accept(store: &Store) -> OpenConnection {
        store.update(|s| s.open_http += 1);
        OpenConnection(store.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.update(|s| s.open_http -= 1);
    }
}

/// The path of the request [`Receiver::settle`] sends; answered, never stored.
const SETTLE_PATH: &str = "/settle";

/// Attributes as (key, value) strings.
pub type Attributes = Vec<(String, String)>;

/// A received span with its resource attributes.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    pub span: Span,
    pub resource: Vec<(String, String)>,
}

impl ReceivedSpan {
    pub fn attr(&self, key: &str) -> Option<String> {
        attr(&self.span.attributes, key)
    }
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The value of an attribute as a string.
pub fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        kv.value.as_ref()?.value.as_ref().map(|v| match v {
            any_value::Value::StringValue(s) => s.clone(),
            any_value::Value::IntValue(i) => i.to_string(),
            any_value::Value::BoolValue(b) => b.to_string(),
            any_value::Value::DoubleValue(d) => d.to_string(),
            other => format!("{other:?}"),
        })
    })
}

fn pairs(attrs: &[KeyValue]) -> Vec<(String, String)> {
    attrs
        .iter()
        .map(|kv| (kv.key.clone(), attr(attrs, &kv.key).unwrap_or_default()))
        .collect()
}

#[tonic::async_trait]
impl TraceService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if self.refuse() {
            return Err(tonic::Status::unavailable("refused by the test"));
        }
        let headers = metadata(request.metadata());
        self.update(|s| {
            s.received.headers.push(headers);
            s.received.traces.push(request.into_inner());
        });
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        if self.refuse() {
            return Err(tonic::Status::unavailable("refused by the test"));
        }
        let headers = metadata(request.metadata());
        self.update(|s| {
            s.received.headers.push(headers);
            s.received.metrics.push(request.into_inner());
        });
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn metadata(m: &tonic::metadata::MetadataMap) -> Vec<(String, String)> {
    m.iter()
        .filter_map(|kv| match kv {
            tonic::metadata::KeyAndValueRef::Ascii(k, v) => Some((
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )),
            tonic::metadata::KeyAndValueRef::Binary(..) => None,
        })
        .collect()
}

/// The receiver; stops when dropped.
pub struct Receiver {
    store: Store,
    grpc: SocketAddr,
    http: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let store = Store::default();
        let grpc_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind gRPC");
        let grpc = grpc_listener.local_addr().unwrap();
        grpc_listener.set_nonblocking(true).unwrap();
        let http_listener = TcpListener::bind("127.0.0.1:0").expect("bind HTTP");
        let http = http_listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = store.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .on_thread_start(|| {
                    std::mem::forget(tracing::dispatcher::set_default(&tracing::Dispatch::none()));
                })
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(grpc_listener).unwrap();
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(s.clone()))
                    .add_service(MetricsServiceServer::new(s))
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let s = store.clone();
        std::thread::spawn(move || {
            for stream in http_listener.incoming().flatten() {
                // Counted here, in the order of arrival: see `settle`.
                let open = OpenConnection::accept(&s);
                std::thread::spawn(move || {
                    serve_http(stream, &open.0);
                    drop(open);
                });
            }
        });
        Receiver {
            store,
            grpc,
            http,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` of the gRPC server.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// `http://127.0.0.1:PORT` of the HTTP server (base: append `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Refuses the next `n` export requests (HTTP 503, gRPC `UNAVAILABLE`).
    pub fn fail_next(&self, n: usize) {
        self.store.0.failing.next.store(n, Ordering::Release);
    }

    /// Requests refused so far.
    pub fn refused(&self) -> usize {
        self.store.0.failing.refused.load(Ordering::Acquire)
    }

    /// Names of every span received so far.
    pub fn span_names(&self) -> Vec<String> {
        self.spans().into_iter().map(|s| s.span.name).collect()
    }

    pub fn with<T>(&self, f: impl FnOnce(&Received) -> T) -> T {
        f(&self.store.lock().received)
    }

    /// Every span received so far, with its resource.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.with(spans_of)
    }

    /// The metrics of the last metrics request, with its resource attributes.
    pub fn last_metrics(&self) -> Option<(Vec<Metric>, Attributes)> {
        self.with(|r| {
            let req = r.metrics.last()?;
            let rm = req.resource_metrics.first()?;
            let resource = rm
                .resource
                .as_ref()
                .map(|r| pairs(&r.attributes))
                .unwrap_or_default();
            let metrics = rm
                .scope_metrics
                .iter()
                .flat_map(|s| s.metrics.clone())
                .collect();
            Some((metrics, resource))
        })
    }

    /// Waits until `f` finds something in what was received, for at most `timeout`;
    /// `f` runs again on every request stored, so the wait ends with the request that
    /// satisfies it.
    pub fn wait<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&Received) -> Option<T>,
    ) -> Option<T> {
        self.store.wait(timeout, |s| f(&s.received))
    }

    /// Waits until `f` finds something in the spans received.
    pub fn wait_spans<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&[ReceivedSpan]) -> Option<T>,
    ) -> Option<T> {
        self.wait(timeout, |r| f(&spans_of(r)))
    }

    /// Once the processes that exported over OTLP/HTTP have exited: waits until every
    /// request they sent has been stored (or, cut short, dropped), so that what was not
    /// received never will be. Panics after `timeout`.
    ///
    /// The listener accepts connections in their order of arrival, so once a connection
    /// made now is answered, every earlier one has been accepted and counted; the peers
    /// are gone, so each handler ends when it has read what its peer sent.
    pub fn settle(&self, timeout: Duration) {
        let mut marker = TcpStream::connect(self.http).expect("connect to the receiver");
        marker
            .set_read_timeout(Some(timeout))
            .expect("a read timeout");
        write!(
            marker,
            "POST {SETTLE_PATH} HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
        )
        .expect("send to the receiver");
        let mut status = String::new();
        BufReader::new(&marker)
            .read_line(&mut status)
            .expect("the receiver answers");
        assert!(status.starts_with("HTTP/1.1 204"), "{status}");
        drop(marker);
        let settled = self
            .store
            .wait(timeout, |s| (s.open_http == 0).then_some(()));
        let open = self.store.lock().open_http;
        assert!(
            settled.is_some(),
            "{open} OTLP/HTTP connections still open after {timeout:?}: has the exporting process exited?"
        );
    }
}

/// Every span in `received`, with its resource.
fn spans_of(received: &Received) -> Vec<ReceivedSpan> {
    received
        .traces
        .iter()
        .flat_map(|req| &req.resource_spans)
        .flat_map(|rs| {
            let resource = rs
                .resource
                .as_ref()
                .map(|r| pairs(&r.attributes))
                .unwrap_or_default();
            rs.scope_spans
                .iter()
                .flat_map(|ss| &ss.spans)
                .map(move |span| ReceivedSpan {
                    span: span.clone(),
                    resource: resource.clone(),
                })
        })
        .collect()
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_http(stream: TcpStream, store: &Store) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if path == SETTLE_PATH {
            let response = "HTTP/1.1 204 No Content\r\n\r\n";
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        if store.refuse() {
            let response = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let ok = store.update(|s| {
            let r = &mut s.received;
            let decoded = match path.as_str() {
                "/v1/traces" => ExportTraceServiceRequest::decode(body.as_slice())
                    .map(|m| r.traces.push(m))
                    .is_ok(),
                "/v1/metrics" => ExportMetricsServiceRequest::decode(body.as_slice())
                    .map(|m| r.metrics.push(m))
                    .is_ok(),
                _ => false,
            };
            if decoded {
                r.headers.push(headers);
            }
            decoded
        });
        let status = if ok { "200 OK" } else { "400 Bad Request" };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A collector that accepts connections, reads what it is sent and never answers: the
/// worst case for an exporter (every export runs into its timeout).
pub struct Blackhole {
    pub addr: SocketAddr,
    received: Arc<AtomicUsize>,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&received);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let counted = Arc::clone(&counted);
                // Holds the connection open until the peer closes it.
                std::thread::spawn(move || {
                    let mut buf = [0; 16 * 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        counted.fetch_add(n, Ordering::AcqRel);
                    }
                });
            }
        });
        Blackhole { addr, received }
    }

    /// Bytes received so far: above zero once an export is under way (and hanging).
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender that writes whole requests and leaves without reading an answer, as an
    /// exporting process that exits does: `settle` returns only once they are stored.
    #[test]
    fn settle_waits_for_requests_whose_sender_is_gone() {
        let receiver = Receiver::start();
        let body = ExportMetricsServiceRequest::default().encode_to_vec();
        for _ in 0..3 {
            let mut sender = TcpStream::connect(receiver.http).unwrap();
            write!(
                sender,
                "POST /v1/metrics HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .unwrap();
            sender.write_all(&body).unwrap();
        }
        receiver.settle(Duration::from_secs(30));
        assert_eq!(receiver.with(|r| r.metrics.len()), 3);
    }
}
