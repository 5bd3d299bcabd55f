//! A real OTLP receiver on loopback, built from `opentelemetry-proto`: the gRPC
//! `TraceService`/`MetricsService` served by tonic, and OTLP/HTTP (`POST /v1/traces`,
//! `POST /v1/metrics`, protobuf bodies) served by a small HTTP/1.1 loop. Everything it
//! receives is kept for the test to inspect. [`Receiver::fail_next`] makes it refuse
//! requests the way an overloaded collector does (HTTP 503, gRPC `UNAVAILABLE`).
//!
//! Its threads have no `tracing` subscriber: the server's own HTTP/2 spans would
//! otherwise reach the exporter of the process under test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
struct Store(Arc<Mutex<Received>>, Arc<Failing>);

/// Requests still to refuse, and requests refused so far.
#[derive(Default)]
struct Failing {
    next: AtomicUsize,
    refused: AtomicUsize,
}

impl Store {
    /// Whether to refuse this request (and count it).
    fn refuse(&self) -> bool {
        let refuse = self
            .1
            .next
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok();
        if refuse {
            self.1.refused.fetch_add(1, Ordering::AcqRel);
        }
        refuse
    }
}

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
        let mut r = self.0.lock().unwrap();
        r.headers.push(headers);
        r.traces.push(request.into_inner());
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
        let mut r = self.0.lock().unwrap();
        r.headers.push(headers);
        r.metrics.push(request.into_inner());
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
                let s = s.clone();
                std::thread::spawn(move || serve_http(stream, &s));
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
        self.store.1.next.store(n, Ordering::Release);
    }

    /// Requests refused so far.
    pub fn refused(&self) -> usize {
        self.store.1.refused.load(Ordering::Acquire)
    }

    /// Names of every span received so far.
    pub fn span_names(&self) -> Vec<String> {
        self.spans().into_iter().map(|s| s.span.name).collect()
    }

    pub fn with<T>(&self, f: impl FnOnce(&Received) -> T) -> T {
        f(&self.store.0.lock().unwrap())
    }

    /// Every span received so far, with its resource.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.with(|r| {
            r.traces
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
        })
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

    /// Waits until `f` finds something in the spans received.
    pub fn wait_spans<T>(
        &self,
        timeout: Duration,
        mut f: impl FnMut(&[ReceivedSpan]) -> Option<T>,
    ) -> Option<T> {
        crate::eventually(timeout, || f(&self.spans()))
    }
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
        if store.refuse() {
            let response = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let ok = {
            let mut r = store.0.lock().unwrap();
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
        };
        let status = if ok { "200 OK" } else { "400 Bad Request" };
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A collector that accepts connections and never answers: the worst case for an
/// exporter (every export runs into its timeout).
pub struct Blackhole {
    pub addr: SocketAddr,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        Blackhole { addr }
    }
}
