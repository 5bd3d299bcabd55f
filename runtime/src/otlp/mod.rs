//! OpenTelemetry: the tracer provider behind `tracing-opentelemetry`, OTLP export of
//! traces and metrics, trace ids for logs and exemplars (feature `otlp`).
//!
//! The pipeline owns a small Tokio runtime (one worker thread) that drives both
//! exporters, so it works the same from a plain `main` and inside any Tokio runtime, and
//! shutting it down never waits on the caller's runtime. Monitored calls never wait for
//! the collector: spans go through a bounded queue, metrics are read from the same
//! storage as `/metrics` on a timer.

pub(crate) mod config;
mod metrics;
mod stats;
mod traces;
mod transport;

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::KeyValue;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler as SdkSampler, SdkTracerProvider};
use tracing_subscriber::registry::Registry;

use config::{OtlpConfig, SignalConfig};
pub use config::{OtlpProtocol, Propagation, Sampler};
use stats::{STATS, StatsSource, add};

use crate::Error;
use crate::collect::{self, Source};

/// The OpenTelemetry layer of the subscriber.
pub(crate) type OtelLayer =
    tracing_opentelemetry::OpenTelemetryLayer<Registry, opentelemetry_sdk::trace::Tracer>;

/// How long the guard waits for a final flush of each signal.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// The running pipeline; stopping it flushes both signals (bounded waits).
pub(crate) struct Pipeline {
    runtime: Option<tokio::runtime::Runtime>,
    provider: Option<SdkTracerProvider>,
    metrics_stop: Option<tokio::sync::oneshot::Sender<std_mpsc::SyncSender<()>>>,
    metrics_wait: Duration,
    stats: Option<Arc<dyn Source>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("traces", &self.provider.is_some())
            .field("metrics", &self.metrics_stop.is_some())
            .finish_non_exhaustive()
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn sdk_sampler(s: Sampler) -> SdkSampler {
    match s {
        Sampler::AlwaysOn => SdkSampler::AlwaysOn,
        Sampler::AlwaysOff => SdkSampler::AlwaysOff,
        Sampler::TraceIdRatio(r) => SdkSampler::TraceIdRatioBased(r),
        Sampler::ParentBasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(r) => {
            SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(r)))
        }
    }
}

/// Trace id, span id and sampled flag of a `tracing` span, through its OpenTelemetry
/// context.
pub(crate) fn span_ids(span: &tracing::Span) -> Option<([u8; 16], [u8; 8], bool)> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| {
        (
            sc.trace_id().to_bytes(),
            sc.span_id().to_bytes(),
            sc.is_sampled(),
        )
    })
}

/// The OpenTelemetry context of the span `id` in `dispatch` (for log lines).
pub(crate) fn context_of(
    id: &tracing::span::Id,
    dispatch: &tracing::Dispatch,
) -> Option<opentelemetry::Context> {
    tracing_opentelemetry::get_otel_context(id, dispatch)
}

/// Starts the provider (and the exporters that are configured). Returns the pipeline and
/// the layer to put in the subscriber, or no layer when `OTEL_SDK_DISABLED` is set.
pub(crate) fn start(config: &OtlpConfig) -> Result<(Pipeline, Option<OtelLayer>), Error> {
    crate::propagation::configure(&config.propagators);
    let mut pipeline = Pipeline {
        runtime: None,
        provider: None,
        metrics_stop: None,
        metrics_wait: FLUSH_WAIT,
        stats: None,
    };
    if config.disabled {
        return Ok((pipeline, None));
    }
    let resource = Resource::builder_empty()
        .with_attributes(
            config
                .resource
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build();
    let mut builder = SdkTracerProvider::builder()
        .with_sampler(sdk_sampler(config.sampler))
        .with_resource(resource.clone());

    if config.traces.is_some() || config.metrics.is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flext-obs-otlp")
            .enable_all()
            .build()
            .map_err(Error::Spawn)?;
        let _entered = runtime.enter();
        if let Some(traces) = &config.traces {
            let transport = transport::Transport::new(traces, source_of(traces, "TRACES"))?;
            let (processor, worker) = traces::QueueProcessor::new(
                transport,
                &resource,
                config.queue_size,
                config.batch_size,
                config.schedule_delay,
                traces.timeout + FLUSH_WAIT,
            );
            runtime.spawn(worker.run());
            builder = builder.with_span_processor(processor);
        }
        if let Some(metrics) = &config.metrics {
            let transport = transport::Transport::new(metrics, source_of(metrics, "METRICS"))?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            let attrs: Vec<_> = config
                .resource
                .iter()
                .map(|(k, v)| metrics::string_kv(k, v))
                .collect();
            runtime.spawn(metrics_loop(transport, attrs, config.metric_interval, rx));
            pipeline.metrics_stop = Some(tx);
            pipeline.metrics_wait = metrics.timeout + FLUSH_WAIT;
        }
        let stats: Arc<dyn Source> = Arc::new(StatsSource);
        collect::register_source(stats.clone());
        pipeline.stats = Some(stats);
        pipeline.runtime = Some(runtime);
    }
    let provider = builder.build();
    let tracer = provider.tracer("flext-observability");
    opentelemetry::global::set_tracer_provider(provider.clone());
    crate::trace::set_trace_ids(span_ids);
    pipeline.provider = Some(provider);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // `#[monitor]` records the code attributes itself.
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false);
    Ok((pipeline, Some(layer)))
}

fn source_of(config: &SignalConfig, _upper: &str) -> &'static str {
    // Errors here are about values already validated by `config::resolve`.
    match config.protocol {
        OtlpProtocol::Grpc => "OTEL_EXPORTER_OTLP_ENDPOINT (gRPC)",
        OtlpProtocol::HttpProtobuf => "OTEL_EXPORTER_OTLP_ENDPOINT (HTTP)",
    }
}

async fn metrics_loop(
    transport: transport::Transport,
    resource: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
    every: Duration,
    mut stop: tokio::sync::oneshot::Receiver<std_mpsc::SyncSender<()>>,
) {
    let start = unix_nanos();
    let resource = Arc::new(resource);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => export_metrics(&transport, &resource, start).await,
            ack = &mut stop => {
                // The final export, so the last interval is not lost.
                export_metrics(&transport, &resource, start).await;
                if let Ok(ack) = ack {
                    let _ = ack.send(());
                }
                break;
            }
        }
    }
}

async fn export_metrics(
    transport: &transport::Transport,
    resource: &Arc<Vec<opentelemetry_proto::tonic::common::v1::KeyValue>>,
    start: u64,
) {
    let resource = resource.clone();
    // Reading the storage is CPU work: keep it off the runtime's only worker.
    let collected = tokio::task::spawn_blocking(move || {
        let mut encoder = metrics::OtlpEncoder::new(start, unix_nanos());
        collect::collect(&mut encoder);
        let points = encoder.points;
        (encoder.finish(&resource), points)
    })
    .await;
    let Ok((resource_metrics, points)) = collected else {
        return;
    };
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![resource_metrics],
    };
    match transport.send_metrics(request).await {
        Ok(()) => add(&STATS.points_exported, points),
        Err(reason) => {
            add(&STATS.points_failed, points);
            crate::diag::warn_once(
                "otlp-metrics-failed",
                &format!(
                    "OTLP metric export failed ({reason}); counted in flext_otlp_dropped_total"
                ),
            );
        }
    }
}

impl Pipeline {
    /// Flushes and stops both signals; every wait is bounded.
    pub(crate) fn stop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown_with_timeout(FLUSH_WAIT);
        }
        if let Some(stop) = self.metrics_stop.take() {
            let (tx, rx) = std_mpsc::sync_channel(1);
            if stop.send(tx).is_ok() {
                let _ = rx.recv_timeout(self.metrics_wait);
            }
        }
        if let Some(stats) = self.stats.take() {
            collect::unregister_source(&stats);
        }
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so dropping the guard inside an async context is fine.
            runtime.shutdown_background();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Keeps a context's baggage readable by the log layer.
pub(crate) fn baggage_value(cx: &opentelemetry::Context, key: &str) -> Option<String> {
    use opentelemetry::baggage::BaggageExt;
    cx.baggage().get(key).map(|v| v.as_str().to_owned())
}

/// Trace and span ids of a context, if valid.
pub(crate) fn ids_of_context(cx: &opentelemetry::Context) -> Option<([u8; 16], [u8; 8])> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_bytes(), sc.span_id().to_bytes()))
}
