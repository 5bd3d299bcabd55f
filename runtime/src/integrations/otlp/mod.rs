//! OpenTelemetry: the tracer provider behind `tracing-opentelemetry`, OTLP export of
//! traces and metrics, trace ids for logs and exemplars, W3C and B3 propagation
//! (feature `otlp`).
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
mod stats;
mod traces;
mod transport;

pub use config::{OtlpProtocol, Propagation, Sampler};

use config::{OtlpConfig, OtlpSettings};
use layer::TraceFilter;
use pipeline::Pipeline;

use crate::error::Error;
use crate::integration::{ContributedLayer, IntegrationEntry, Prepared, Running, Setup, Start};

inventory::submit!(IntegrationEntry { order: 10, prepare });

struct Ready {
    config: OtlpConfig,
    trace_filter: TraceFilter,
}

fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let settings = setup.extensions.take::<OtlpSettings>();
    let config = config::resolve(
        &settings,
        setup.env,
        setup.service.name,
        setup.service.version,
    )?;
    let trace_filter = TraceFilter(crate::logs::parse_targets(
        "trace_level",
        settings.trace_level.as_deref().unwrap_or("info"),
    )?);
    Ok(Some(Box::new(Ready {
        config,
        trace_filter,
    })))
}

impl Prepared for Ready {
    fn start(self: Box<Self>, start: &mut Start) -> Result<Box<dyn Running>, Error> {
        let Ready {
            config,
            trace_filter,
        } = *self;
        let (pipeline, otel) = pipeline::start(&config)?;
        if let Some(otel) = otel {
            let exporting = config.traces.is_some();
            start.add_layer(ContributedLayer {
                layer: layer::filtered(otel, trace_filter),
                installed: Box::new(context::install_lookups),
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
        }
        Ok(Box::new(pipeline))
    }
}

impl Running for Pipeline {}
