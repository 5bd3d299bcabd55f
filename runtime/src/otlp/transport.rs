//! Sends OTLP requests over gRPC (tonic) or HTTP/protobuf (hyper), on the pipeline's
//! own Tokio runtime. No HTTP client is chosen behind our back: the transport is ours,
//! so the exporter threads and the runtime that drives them are known.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};

use super::config::{OtlpProtocol, SignalConfig};
use crate::Error;

// One transport per signal, built once: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transport {
    Grpc {
        channel: Channel,
        metadata: MetadataMap,
        timeout: Duration,
    },
    Http {
        client: Client<HttpConnector, Full<Bytes>>,
        uri: http::Uri,
        headers: http::HeaderMap,
        timeout: Duration,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers may carry credentials: never printed.
        match self {
            Transport::Grpc { .. } => f.write_str("Transport::Grpc"),
            Transport::Http { uri, .. } => write!(f, "Transport::Http({uri})"),
        }
    }
}

impl Transport {
    /// Builds the transport; must run inside the pipeline's runtime context (tonic
    /// spawns its connection task there).
    pub(crate) fn new(config: &SignalConfig, source: &str) -> Result<Transport, Error> {
        match config.protocol {
            OtlpProtocol::Grpc => {
                let endpoint = Endpoint::from_shared(config.endpoint.clone())
                    .map_err(|e| Error::config(source, format!("invalid gRPC endpoint: {e}")))?
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout);
                let mut metadata = MetadataMap::new();
                for (k, v) in &config.headers {
                    let key = AsciiMetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                        .map_err(|_| {
                            Error::config(
                                source,
                                format!("header `{k}` is not a valid gRPC metadata key"),
                            )
                        })?;
                    let value = AsciiMetadataValue::try_from(v.as_str()).map_err(|_| {
                        Error::config(
                            source,
                            format!("header `{k}` has a value gRPC cannot carry"),
                        )
                    })?;
                    metadata.insert(key, value);
                }
                Ok(Transport::Grpc {
                    channel: endpoint.connect_lazy(),
                    metadata,
                    timeout: config.timeout,
                })
            }
            OtlpProtocol::HttpProtobuf => {
                let uri: http::Uri = config
                    .endpoint
                    .parse()
                    .map_err(|_| Error::config(source, "invalid HTTP endpoint"))?;
                let mut headers = http::HeaderMap::new();
                for (k, v) in &config.headers {
                    let name = http::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                        Error::config(source, format!("header `{k}` has an invalid name"))
                    })?;
                    let value = http::HeaderValue::from_str(v).map_err(|_| {
                        Error::config(source, format!("header `{k}` has an invalid value"))
                    })?;
                    headers.insert(name, value);
                }
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(config.timeout));
                connector.set_nodelay(true);
                let client = Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(30))
                    .build(connector);
                Ok(Transport::Http {
                    client,
                    uri,
                    headers,
                    timeout: config.timeout,
                })
            }
        }
    }

    pub(crate) async fn send_traces(
        &self,
        request: ExportTraceServiceRequest,
    ) -> Result<(), String> {
        match self {
            Transport::Grpc {
                channel,
                metadata,
                timeout,
            } => {
                let mut client = TraceServiceClient::new(channel.clone());
                let mut request = tonic::Request::new(request);
                *request.metadata_mut() = metadata.clone();
                request.set_timeout(*timeout);
                client
                    .export(request)
                    .await
                    .map(drop)
                    .map_err(|status| format!("gRPC status {:?}", status.code()))
            }
            Transport::Http { .. } => self.post(request.encode_to_vec()).await,
        }
    }

    pub(crate) async fn send_metrics(
        &self,
        request: ExportMetricsServiceRequest,
    ) -> Result<(), String> {
        match self {
            Transport::Grpc {
                channel,
                metadata,
                timeout,
            } => {
                let mut client = MetricsServiceClient::new(channel.clone());
                let mut request = tonic::Request::new(request);
                *request.metadata_mut() = metadata.clone();
                request.set_timeout(*timeout);
                client
                    .export(request)
                    .await
                    .map(drop)
                    .map_err(|status| format!("gRPC status {:?}", status.code()))
            }
            Transport::Http { .. } => self.post(request.encode_to_vec()).await,
        }
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), String> {
        let Transport::Http {
            client,
            uri,
            headers,
            timeout,
        } = self
        else {
            return Err("not an HTTP transport".into());
        };
        let mut request = http::Request::post(uri.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        for (k, v) in headers {
            request.headers_mut().insert(k, v.clone());
        }
        let exchange = async {
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            // Read the (small) answer so the connection can be reused.
            let _ = response.into_body().collect().await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("HTTP status {status}"))
            }
        };
        tokio::time::timeout(*timeout, exchange)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
    }
}
