//! Sends OTLP requests over gRPC (tonic) or HTTP/protobuf (hyper), on the pipeline's
//! own Tokio runtime. No HTTP client is chosen behind our back: the transport is ours,
//! so the exporter threads and the runtime that drives them are known.
//!
//! Transient failures (HTTP 429, 502, 503, 504; gRPC `UNAVAILABLE`,
//! `RESOURCE_EXHAUSTED` and the other codes the OTLP specification calls retryable) are
//! retried with exponential backoff and jitter, honouring `Retry-After`, until the
//! export's timeout: one export never takes longer than its timeout in total.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tokio::time::Instant;
use tonic::Code;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};

use super::config::{OtlpProtocol, SignalConfig};

/// Largest response body read (a collector answers with a few bytes; anything more is
/// not read into memory).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// First wait before a retry; doubled after each failed attempt, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// One export request.
pub(crate) enum Payload {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
}

// One transport per signal, built once: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Grpc {
        channel: Channel,
        metadata: MetadataMap,
    },
    Http {
        client: Client<HttpConnector, Full<Bytes>>,
        uri: http::Uri,
        headers: http::HeaderMap,
    },
}

pub(crate) struct Transport {
    kind: Kind,
    timeout: Duration,
    /// Where it sends, for messages: credentials and query values redacted.
    endpoint: String,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers may carry credentials: never printed.
        match &self.kind {
            Kind::Grpc { .. } => f.write_str("Transport::Grpc"),
            Kind::Http { .. } => write!(f, "Transport::Http({})", self.endpoint),
        }
    }
}

/// Why an attempt failed, and whether trying again may help.
struct Failure {
    reason: String,
    retry: bool,
    /// The server's `Retry-After`, when it gave one.
    after: Option<Duration>,
}

impl Failure {
    fn fatal(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            retry: false,
            after: None,
        }
    }
}

impl Transport {
    /// Builds the transport from settings `config::resolve` validated; must run inside
    /// the pipeline's runtime context (tonic spawns its connection task there).
    pub(crate) fn new(config: &SignalConfig) -> Transport {
        let kind = match config.protocol {
            OtlpProtocol::Grpc => {
                let endpoint =
                    Endpoint::from(config.endpoint.clone()).connect_timeout(config.timeout);
                Kind::Grpc {
                    channel: endpoint.connect_lazy(),
                    metadata: MetadataMap::from_headers(config.headers.0.clone()),
                }
            }
            OtlpProtocol::HttpProtobuf => {
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(config.timeout));
                connector.set_nodelay(true);
                let client = Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build(connector);
                Kind::Http {
                    client,
                    uri: config.endpoint.clone(),
                    headers: config.headers.0.clone(),
                }
            }
        };
        Transport {
            kind,
            timeout: config.timeout,
            endpoint: crate::percent::redact_urls(&config.endpoint.to_string()),
        }
    }

    /// Where it sends, credentials and query values redacted.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends `payload`, retrying transient failures, until the export timeout or
    /// `until`, whichever comes first.
    pub(crate) async fn send(
        &self,
        payload: Payload,
        until: Option<Instant>,
    ) -> Result<(), String> {
        let mut deadline = Instant::now() + self.timeout;
        if let Some(until) = until {
            deadline = deadline.min(until);
        }
        // HTTP bodies are encoded once for every attempt.
        let body = match (&self.kind, &payload) {
            (Kind::Http { .. }, Payload::Traces(r)) => Bytes::from(r.encode_to_vec()),
            (Kind::Http { .. }, Payload::Metrics(r)) => Bytes::from(r.encode_to_vec()),
            (Kind::Grpc { .. }, _) => Bytes::new(),
        };
        let mut backoff = FIRST_BACKOFF;
        loop {
            let attempt = match &self.kind {
                Kind::Grpc { channel, metadata } => {
                    grpc(channel, metadata, &payload, deadline).await
                }
                Kind::Http {
                    client,
                    uri,
                    headers,
                } => http(client, uri, headers, body.clone(), deadline).await,
            };
            let failure = match attempt {
                Ok(()) => return Ok(()),
                Err(failure) if !failure.retry => return Err(failure.reason),
                Err(failure) => failure,
            };
            let wait = failure.after.unwrap_or_else(|| jittered(backoff));
            if Instant::now() + wait >= deadline {
                return Err(failure.reason);
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// Between half and all of `backoff`, so exporters that failed together do not retry
/// together.
fn jittered(backoff: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let half = backoff / 2;
    half + half.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

async fn grpc(
    channel: &Channel,
    metadata: &MetadataMap,
    payload: &Payload,
    deadline: Instant,
) -> Result<(), Failure> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let exchange = async {
        match payload {
            Payload::Traces(r) => TraceServiceClient::new(channel.clone())
                .export(request(r.clone(), metadata, remaining))
                .await
                .map(drop),
            Payload::Metrics(r) => MetricsServiceClient::new(channel.clone())
                .export(request(r.clone(), metadata, remaining))
                .await
                .map(drop),
        }
    };
    let status = match tokio::time::timeout_at(deadline, exchange).await {
        Err(_) => return Err(Failure::fatal("timed out")),
        Ok(Ok(())) => return Ok(()),
        Ok(Err(status)) => status,
    };
    // The codes the OTLP specification lists as retryable.
    let retry = matches!(
        status.code(),
        Code::Cancelled
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::OutOfRange
            | Code::Unavailable
            | Code::DataLoss
    );
    Err(Failure {
        reason: format!("gRPC status {:?}", status.code()),
        retry,
        after: None,
    })
}

fn request<T>(message: T, metadata: &MetadataMap, timeout: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    *request.metadata_mut() = metadata.clone();
    request.set_timeout(timeout);
    request
}

async fn http(
    client: &Client<HttpConnector, Full<Bytes>>,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: Bytes,
    deadline: Instant,
) -> Result<(), Failure> {
    let mut request = http::Request::post(uri.clone())
        .body(Full::new(body))
        .map_err(|e| Failure::fatal(e.to_string()))?;
    *request.headers_mut() = headers.clone();
    request.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-protobuf"),
    );
    let exchange = async {
        let response = client.request(request).await.map_err(|e| Failure {
            // Connection errors are transient: the collector may be restarting.
            reason: e.to_string(),
            retry: true,
            after: None,
        })?;
        let status = response.status();
        let after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read the (small) answer so the connection can be reused; a larger one is cut
        // off rather than buffered.
        let _ = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure {
                reason: format!("HTTP status {status}"),
                retry: matches!(status.as_u16(), 429 | 502 | 503 | 504),
                after,
            })
        }
    };
    tokio::time::timeout_at(deadline, exchange)
        .await
        .unwrap_or_else(|_| Err(Failure::fatal("timed out")))
}
