//! The span processor: a bounded queue in front of the OTLP transport.
//!
//! Ending a span never waits: it is put in a queue of `OTEL_BSP_MAX_QUEUE_SIZE` spans,
//! or dropped and counted when the queue is full. One task on the pipeline's runtime
//! sends batches; while the collector is slow or down the queue fills and further spans
//! are dropped, so memory stays bounded.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use tokio::sync::mpsc;

use super::stats::{STATS, add};
use super::transport::{Payload, Transport};

/// A request to the worker: the acknowledgement channel and the time by which the caller
/// stops waiting (exports started for the request give up then too).
enum Control {
    Flush(std_mpsc::SyncSender<()>, tokio::time::Instant),
    Shutdown(std_mpsc::SyncSender<()>, tokio::time::Instant),
}

#[derive(Debug)]
pub(crate) struct QueueProcessor {
    spans: mpsc::Sender<SpanData>,
    control: mpsc::UnboundedSender<Control>,
    /// Longest wait for a flush or shutdown.
    wait: Duration,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::Flush(..) => "Flush",
            Control::Shutdown(..) => "Shutdown",
        })
    }
}

pub(crate) struct Worker {
    spans: mpsc::Receiver<SpanData>,
    control: mpsc::UnboundedReceiver<Control>,
    transport: Transport,
    resource: ResourceAttributesWithSchema,
    batch_size: usize,
    delay: Duration,
}

impl QueueProcessor {
    pub(crate) fn new(
        transport: Transport,
        resource: &Resource,
        queue_size: usize,
        batch_size: usize,
        delay: Duration,
        wait: Duration,
    ) -> (QueueProcessor, Worker) {
        let (tx, rx) = mpsc::channel(queue_size);
        let (ctx, crx) = mpsc::unbounded_channel();
        (
            QueueProcessor {
                spans: tx,
                control: ctx,
                wait,
            },
            Worker {
                spans: rx,
                control: crx,
                transport,
                resource: ResourceAttributesWithSchema::from(resource),
                batch_size,
                delay,
            },
        )
    }

    fn request(
        &self,
        make: fn(std_mpsc::SyncSender<()>, tokio::time::Instant) -> Control,
        wait: Duration,
    ) -> OTelSdkResult {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let deadline = tokio::time::Instant::now() + wait;
        self.control
            .send(make(tx, deadline))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        // The worker runs on the pipeline's own runtime, so waiting here cannot deadlock
        // whatever runtime the caller is on.
        rx.recv_timeout(wait)
            .map_err(|_| OTelSdkError::Timeout(wait))
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.spans.try_send(span).is_err() {
            add(&STATS.spans_queue_full, 1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.request(Control::Flush, self.wait)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.request(Control::Shutdown, timeout.min(self.wait))
    }
}

impl Worker {
    pub(crate) async fn run(mut self) {
        // Grows with use: a huge batch size must not allocate up front.
        let mut batch: Vec<SpanData> = Vec::new();
        let mut ticker = tokio::time::interval(self.delay);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                span = self.spans.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= self.batch_size {
                            self.export(&mut batch, None).await;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => self.export(&mut batch, None).await,
                control = self.control.recv() => {
                    let Some(control) = control else { break };
                    let (Control::Flush(_, deadline) | Control::Shutdown(_, deadline)) = &control;
                    let deadline = *deadline;
                    // Everything queued before the request goes out first.
                    while let Ok(span) = self.spans.try_recv() {
                        batch.push(span);
                        if batch.len() >= self.batch_size {
                            self.export(&mut batch, Some(deadline)).await;
                        }
                    }
                    self.export(&mut batch, Some(deadline)).await;
                    match control {
                        Control::Flush(ack, _) => {
                            let _ = ack.send(());
                        }
                        Control::Shutdown(ack, _) => {
                            let _ = ack.send(());
                            break;
                        }
                    }
                }
            }
        }
    }

    async fn export(&self, batch: &mut Vec<SpanData>, until: Option<tokio::time::Instant>) {
        if batch.is_empty() {
            return;
        }
        let spans = std::mem::take(batch);
        let n = spans.len() as u64;
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &self.resource),
        };
        match self.transport.send(Payload::Traces(request), until).await {
            Ok(()) => add(&STATS.spans_exported, n),
            Err(reason) => {
                add(&STATS.spans_failed, n);
                crate::diag::warn_once(
                    "otlp-traces-failed",
                    &format!(
                        "OTLP trace export failed ({reason}); failed spans are dropped and counted in flext_otlp_dropped_total"
                    ),
                );
            }
        }
    }
}
