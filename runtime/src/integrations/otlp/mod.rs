//! OpenTelemetry: OTLP export of traces and metrics, trace ids for logs and exemplars,
//! W3C and B3 propagation (feature `otlp`).
//!
//! What goes into the subscriber depends on what is exported, so that a span nobody
//! consumes costs nothing:
//!
//! - traces exported: the exporting layer (`layer`), for spans from `trace_level` up;
//!   sampling is decided as a span opens, and a sampled-out span keeps nothing;
//! - traces not exported (no endpoint, `OTEL_TRACES_EXPORTER=none`): no layer. Spans
//!   that declare a `correlation_id` field (request scopes) are kept recorded whatever
//!   `LOG_LEVEL`, so a server forwards its caller's context; `trace_level`, when set,
//!   keeps the spans of that level recorded too. Spans recorded (also by the log layer,
//!   from `LOG_LEVEL` up) get trace ids on demand (`context`): for log lines, exemplars,
//!   `trace::current_trace_id` and propagation;
//! - `OTEL_SDK_DISABLED=true`: nothing, no ids.
//!
//! The pipeline owns a small Tokio runtime (one worker thread) that drives both
//! exporters, so it works the same from a plain `main` and inside any Tokio runtime, and
//! shutting it down never waits on the caller's runtime. Monitored calls never wait for
//! the collector: spans go through a bounded queue, metrics are read from the same
//! storage as `/metrics` on a timer.
//!
//! The runtime's threads have no `tracing` subscriber: the HTTP/2 and HTTP clients
//! create spans of their own, which would otherwise be exported, each export creating
//! spans for the next batch.

mod builder;
pub(crate) mod config;
mod context;
mod layer;
mod metrics;
mod pipeline;
pub mod propagation;
mod record;
mod stats;
mod traces;
mod transport;

pub use config::{OtlpProtocol, Propagation, Sampler};

use config::{OtlpConfig, OtlpSettings};
use pipeline::Pipeline;
use tracing_subscriber::filter::Targets;

use crate::error::Error;
use crate::integration::{ContributedLayer, IntegrationEntry, Prepared, Running, Setup, Start};

inventory::submit!(IntegrationEntry { order: 10, prepare });

struct Ready {
    config: OtlpConfig,
    /// Spans of the trace (`trace_level`), and whether it was set explicitly.
    traced: Targets,
    trace_level_set: bool,
}

fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let settings = setup.extensions.take::<OtlpSettings>();
    let config = config::resolve(&settings, setup.env, setup.service.resource)?;
    let traced = crate::logs::parse_targets(
        "trace_level",
        settings.trace_level.as_deref().unwrap_or("info"),
    )?;
    Ok(Some(Box::new(Ready {
        config,
        traced,
        trace_level_set: settings.trace_level.is_some(),
    })))
}

impl Prepared for Ready {
    fn start(self: Box<Self>, start: &mut Start) -> Result<Box<dyn Running>, Error> {
        let Ready {
            config,
            traced,
            trace_level_set,
        } = *self;
        let (pipeline, queue) = pipeline::start(&config)?;
        if config.disabled {
            return Ok(Box::new(pipeline));
        }
        let exporting = queue.is_some();
        let member = match queue {
            Some(queue) => {
                Some(layer::TraceLayer::new(config.sampler, traced.clone(), queue).member())
            }
            None => Some(layer::context(trace_level_set.then(|| traced.clone()))),
        };
        let setup = context::Setup {
            sampler: config.sampler,
            exported: exporting.then_some(traced),
        };
        start.add_layer(ContributedLayer {
            member,
            installed: Box::new(move || context::install(setup)),
            not_installed: Box::new(move || {
                if exporting {
                    // The exporter runs, but no span reaches it: say so rather than
                    // export nothing.
                    crate::diag::warn_once(
                        "otel-layer-missing",
                        "OTLP trace export is configured but flext-observability's OpenTelemetry layer is not in the global `tracing` subscriber (`.tracing_subscriber(false)`, another subscriber set first, or a second `install()` in this process): no span will be exported",
                    );
                }
            }),
        });
        Ok(Box::new(pipeline))
    }
}

impl Running for Pipeline {}
