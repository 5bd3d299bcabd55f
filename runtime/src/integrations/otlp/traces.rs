//! The span queue: a bounded queue in front of the OTLP transport.
//!
//! Ending a span never waits: it is put in a queue of `OTEL_BSP_MAX_QUEUE_SIZE` spans,
//! or dropped and counted when the queue is full. One task on the pipeline's runtime
//! turns batches into OTLP messages and sends them, so the encoding is off the calling
//! threads; while the collector is slow or down the queue fills and further spans are
//! dropped, so memory stays bounded.

use std::sync::atomic::Ordering;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use tokio::sync::mpsc;

use super::context::Ids;
use super::record::{Fields, Recording, Val, kind, status};

use super::stats::{STATS, add};
use super::transport::{Payload, Transport};

/// A span that has ended, waiting for export.
#[derive(Debug)]
pub(crate) struct FinishedSpan {
    pub(crate) ids: Ids,
    pub(crate) end: u64,
    pub(crate) recording: Box<Recording>,
}

/// Where finished spans go: the queue in front of the exporting task.
#[derive(Clone, Debug)]
pub(crate) struct SpanQueue(mpsc::Sender<FinishedSpan>);

impl SpanQueue {
    /// Queues a span, or drops and counts it when the queue is full: as `export_failed`
    /// while the collector is failing (the queue is full because nothing leaves it), as
    /// `queue_full` otherwise. After the pipeline stopped (a second `install()` in the
    /// process) spans are dropped silently.
    pub(crate) fn push(&self, span: FinishedSpan) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.0.try_send(span) {
            if STATS.collector_down.load(Ordering::Relaxed) {
                add(&STATS.spans_failed, 1);
            } else {
                add(&STATS.spans_queue_full, 1);
            }
        }
    }
}

/// A request to the worker: the acknowledgement channel and the time by which the caller
/// stops waiting (exports started for the request give up then too).
enum Control {
    Flush(std_mpsc::SyncSender<()>, tokio::time::Instant),
    Shutdown(std_mpsc::SyncSender<()>, tokio::time::Instant),
}

/// Flushes and stops the exporting task.
#[derive(Debug)]
pub(crate) struct QueueControl {
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
    spans: mpsc::Receiver<FinishedSpan>,
    control: mpsc::UnboundedReceiver<Control>,
    transport: Transport,
    resource: Resource,
    batch_size: usize,
    delay: Duration,
}

/// The queue, its control and the task that empties it.
pub(crate) fn queue(
    transport: Transport,
    resource: Vec<KeyValue>,
    queue_size: usize,
    batch_size: usize,
    delay: Duration,
    wait: Duration,
) -> (SpanQueue, QueueControl, Worker) {
    let (tx, rx) = mpsc::channel(queue_size);
    let (ctx, crx) = mpsc::unbounded_channel();
    (
        SpanQueue(tx),
        QueueControl { control: ctx, wait },
        Worker {
            spans: rx,
            control: crx,
            transport,
            resource: Resource {
                attributes: resource,
                ..Resource::default()
            },
            batch_size,
            delay,
        },
    )
}

/// Why a flush or shutdown did not complete.
#[derive(Debug)]
pub(crate) enum Incomplete {
    Stopped,
    Timeout,
}

impl QueueControl {
    fn request(
        &self,
        make: fn(std_mpsc::SyncSender<()>, tokio::time::Instant) -> Control,
        wait: Duration,
    ) -> Result<(), Incomplete> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let deadline = tokio::time::Instant::now() + wait;
        self.control
            .send(make(tx, deadline))
            .map_err(|_| Incomplete::Stopped)?;
        // The worker runs on the pipeline's own runtime, so waiting here cannot deadlock
        // whatever runtime the caller is on.
        rx.recv_timeout(wait).map_err(|_| Incomplete::Timeout)
    }

    /// Exports everything queued so far.
    #[allow(dead_code)] // kept for tests and a future `flush()` on the guard
    pub(crate) fn flush(&self) -> Result<(), Incomplete> {
        self.request(Control::Flush, self.wait)
    }

    /// Exports everything queued, then stops the task.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), Incomplete> {
        self.request(Control::Shutdown, timeout.min(self.wait))
    }
}

impl Worker {
    pub(crate) async fn run(mut self) {
        // Grows with use: a huge batch size must not allocate up front.
        let mut batch: Vec<FinishedSpan> = Vec::new();
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

    async fn export(&self, batch: &mut Vec<FinishedSpan>, until: Option<tokio::time::Instant>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        let spans = batch.drain(..).map(to_proto).collect();
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "flext-observability".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        match self.transport.send(Payload::Traces(request), until).await {
            Ok(()) => {
                STATS.collector_down.store(false, Ordering::Relaxed);
                add(&STATS.spans_exported, n);
            }
            Err(reason) => {
                STATS.collector_down.store(true, Ordering::Relaxed);
                add(&STATS.spans_failed, n);
                crate::diag::warn_once(
                    "otlp-traces-failed",
                    &format!(
                        "OTLP trace export to {} failed ({}); spans are dropped while the collector fails, counted in flext_otlp_dropped_total{{reason=\"export_failed\"}}",
                        self.transport.endpoint(),
                        crate::percent::redact_urls(&reason)
                    ),
                );
            }
        }
    }
}

/// W3C trace flag `sampled`, and the OTLP flags that say whether the parent is remote.
const FLAG_SAMPLED: u32 = 0x01;
const FLAG_HAS_IS_REMOTE: u32 = 0x100;
const FLAG_IS_REMOTE: u32 = 0x200;

fn value(fields: &Fields, v: Val) -> AnyValue {
    AnyValue {
        value: Some(match v {
            Val::Text(..) | Val::Static(_) => {
                any_value::Value::StringValue(fields.text(v).to_owned())
            }
            Val::I64(i) => any_value::Value::IntValue(i),
            Val::F64(f) => any_value::Value::DoubleValue(f),
            Val::Bool(b) => any_value::Value::BoolValue(b),
        }),
    }
}

fn attributes(fields: &Fields) -> Vec<KeyValue> {
    fields
        .attrs
        .iter()
        .map(|&(key, v)| KeyValue {
            key: key.to_owned(),
            value: Some(value(fields, v)),
            ..KeyValue::default()
        })
        .collect()
}

/// The OTLP message of a finished span.
fn to_proto(span: FinishedSpan) -> Span {
    let FinishedSpan {
        ids,
        end,
        recording,
    } = span;
    let r = *recording;
    let f = &r.fields;
    let name = match f.name {
        Some(v) => f.text(v).to_owned(),
        None => r.name.to_owned(),
    };
    let remote = r.parent.is_some_and(|(_, remote)| remote);
    let status = (f.status != status::UNSET).then(|| Status {
        message: f
            .status_message
            .filter(|_| f.status == status::ERROR)
            .map(|v| f.text(v).to_owned())
            .unwrap_or_default(),
        code: f.status,
    });
    Span {
        trace_id: ids.trace_id.to_vec(),
        span_id: ids.span_id.to_vec(),
        trace_state: r.trace_state.as_deref().unwrap_or_default().to_owned(),
        parent_span_id: r.parent.map(|(id, _)| id.to_vec()).unwrap_or_default(),
        flags: FLAG_SAMPLED | FLAG_HAS_IS_REMOTE | if remote { FLAG_IS_REMOTE } else { 0 },
        name,
        kind: if f.kind == 0 { kind::INTERNAL } else { f.kind },
        start_time_unix_nano: r.start,
        end_time_unix_nano: end.max(r.start),
        attributes: attributes(f),
        events: r
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time,
                name: match e.fields.name {
                    Some(v) => e.fields.text(v).to_owned(),
                    None => e.default_name.to_owned(),
                },
                attributes: attributes(&e.fields),
                dropped_attributes_count: 0,
            })
            .collect(),
        links: r
            .links
            .iter()
            .map(|(trace, span)| span::Link {
                trace_id: trace.to_vec(),
                span_id: span.to_vec(),
                ..span::Link::default()
            })
            .collect(),
        status,
        ..Span::default()
    }
}
