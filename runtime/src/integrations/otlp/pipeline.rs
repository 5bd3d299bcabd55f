use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;

use super::config::OtlpConfig;
use super::stats::{STATS, StatsSource, add};
use super::traces::{QueueControl, SpanQueue};
use super::{metrics, traces, transport};
use crate::clock::unix_nanos;
use crate::collect::{self, Source};
use crate::error::Error;

/// How long dropping the guard waits, in total, for the final flush of both signals.
const FLUSH_WAIT: Duration = Duration::from_secs(5);
/// Longest final metrics export after the previous one failed: the collector is likely
/// still down, and shutting down must not wait out a full timeout for it.
const RETRY_ON_STOP: Duration = Duration::from_secs(1);

/// Asks the metrics loop for its final export, by a deadline; it acknowledges on `ack`.
struct StopMetrics {
    ack: std_mpsc::SyncSender<()>,
    deadline: tokio::time::Instant,
}

/// The running pipeline; stopping it flushes both signals (bounded waits).
pub(crate) struct Pipeline {
    runtime: Option<tokio::runtime::Runtime>,
    traces: Option<QueueControl>,
    metrics_stop: Option<tokio::sync::oneshot::Sender<StopMetrics>>,
    stats: Option<Arc<dyn Source>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("traces", &self.traces.is_some())
            .field("metrics", &self.metrics_stop.is_some())
            .finish_non_exhaustive()
    }
}

/// Starts the exporters that are configured. Returns the pipeline and, when traces are
/// exported, the queue the exporting layer puts finished spans in.
pub(crate) fn start(config: &OtlpConfig) -> Result<(Pipeline, Option<SpanQueue>), Error> {
    super::propagation::configure(&config.propagators);
    let mut pipeline = Pipeline {
        runtime: None,
        traces: None,
        metrics_stop: None,
        stats: None,
    };
    let mut queue = None;
    if config.disabled {
        return Ok((pipeline, None));
    }
    let resource: Vec<_> = config
        .resource
        .iter()
        .map(|(k, v)| metrics::string_kv(k, v))
        .collect();
    if config.traces.is_some() || config.metrics.is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flext-obs-otlp")
            // Worker and blocking threads alike: no subscriber, so the clients' own spans
            // are never exported (the guard is kept for the thread's whole life).
            .on_thread_start(|| {
                std::mem::forget(tracing::dispatcher::set_default(&tracing::Dispatch::none()));
            })
            .enable_all()
            .build()
            .map_err(Error::Spawn)?;
        let _entered = runtime.enter();
        if let Some(traces) = &config.traces {
            let transport = transport::Transport::new(traces);
            let (spans, control, worker) = traces::queue(
                transport,
                resource.clone(),
                config.queue_size,
                config.batch_size,
                config.schedule_delay,
                FLUSH_WAIT,
            );
            runtime.spawn(worker.run());
            pipeline.traces = Some(control);
            queue = Some(spans);
        }
        if let Some(metrics) = &config.metrics {
            let transport = transport::Transport::new(metrics);
            let (tx, rx) = tokio::sync::oneshot::channel();
            runtime.spawn(metrics_loop(
                transport,
                resource,
                config.metric_interval,
                rx,
            ));
            pipeline.metrics_stop = Some(tx);
        }
        let stats: Arc<dyn Source> = Arc::new(StatsSource);
        collect::register_source(stats.clone());
        pipeline.stats = Some(stats);
        pipeline.runtime = Some(runtime);
    }
    Ok((pipeline, queue))
}

async fn metrics_loop(
    transport: transport::Transport,
    resource: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
    every: Duration,
    mut stop: tokio::sync::oneshot::Receiver<StopMetrics>,
) {
    // Counters count from the start of the process (the storage is static, and a series
    // made later was zero until then): the start time of every cumulative point, and the
    // `_created` of OpenMetrics.
    let start = crate::identity::process_start_unix_nanos();
    let resource = Arc::new(resource);
    // `every` is at most a day (clamped in `config`): the addition cannot overflow.
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_ok = true;
    loop {
        tokio::select! {
            _ = ticker.tick() => last_ok = export_metrics(&transport, &resource, start, None).await,
            stop = &mut stop => {
                // The final export, so the last interval is not lost; shorter when the
                // collector just failed.
                let Ok(StopMetrics { ack, mut deadline }) = stop else { break };
                if !last_ok {
                    deadline = deadline.min(tokio::time::Instant::now() + RETRY_ON_STOP);
                }
                export_metrics(&transport, &resource, start, Some(deadline)).await;
                let _ = ack.send(());
                break;
            }
        }
    }
}

/// One export of every family; whether it was delivered.
async fn export_metrics(
    transport: &transport::Transport,
    resource: &Arc<Vec<opentelemetry_proto::tonic::common::v1::KeyValue>>,
    start: u64,
    until: Option<tokio::time::Instant>,
) -> bool {
    let resource = resource.clone();
    // Reading the storage is CPU work: keep it off the runtime's only worker.
    let collected = tokio::task::spawn_blocking(move || {
        let mut encoder = metrics::OtlpEncoder::new(start, unix_nanos());
        collect::collect_registered(&|_| true, &mut encoder);
        let points = encoder.points;
        (encoder.finish(&resource), points)
    })
    .await;
    let Ok((resource_metrics, points)) = collected else {
        return false;
    };
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![resource_metrics],
    };
    match transport
        .send(transport::Payload::Metrics(request), until)
        .await
    {
        Ok(()) => {
            add(&STATS.points_exported, points);
            true
        }
        Err(reason) => {
            add(&STATS.points_failed, points);
            crate::diag::warn_once(
                "otlp-metrics-failed",
                &format!(
                    "OTLP metric export to {} failed ({}); counted in flext_otlp_dropped_total{{reason=\"export_failed\"}}",
                    transport.endpoint(),
                    crate::percent::redact_urls(&reason)
                ),
            );
            false
        }
    }
}

impl Pipeline {
    /// Flushes and stops both signals, concurrently, within [`FLUSH_WAIT`] in total.
    pub(crate) fn stop(&mut self) {
        if STATS
            .collector_down
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            crate::diag::notice(&format!(
                "shutting down: the OTLP collector failed its last export; flushing waits \
                 at most {FLUSH_WAIT:?} for it before giving up (what is not sent is \
                 counted in flext_otlp_dropped_total)"
            ));
        }
        let deadline = Instant::now() + FLUSH_WAIT;
        let left = || deadline.saturating_duration_since(Instant::now());
        // The final metrics export starts first and runs on the pipeline's runtime while
        // the spans are flushed.
        let metrics_done = self.metrics_stop.take().and_then(|stop| {
            let (ack, done) = std_mpsc::sync_channel(1);
            let deadline = tokio::time::Instant::from_std(deadline);
            stop.send(StopMetrics { ack, deadline }).ok().map(|()| done)
        });
        if let Some(traces) = self.traces.take() {
            let _ = traces.shutdown(left());
        }
        if let Some(done) = metrics_done {
            let _ = done.recv_timeout(left());
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
