//! Everything generated code touches. Not public API: it changes with the macros,
//! which the facade pins to the exact same version.

pub use inventory;
pub use metrics;
pub use tracing;

pub use crate::trace::guard::{
    Describe, DescribeAny, DescribeDebug, DescribeDisplay, ErrorText, HoldsSpan, InSpan, SpanGuard,
};

pub use crate::business::{
    BusinessEntry, CallGuard, Count, CounterSeries, CounterShards, FacadeEntry, Family,
    GaugeSeries, GaugeStore, HistogramSeries, HistogramShards, InfoStore, Labels, Measure, Metric,
    MetricKind, MetricMeta, NoLabels, OkAny, OkResult, Series, Site, SiteDyn, SiteEntry, SiteStore,
    StoreRef, apply,
};
pub use crate::facade::store::describe_facade;

pub use crate::health::Kind as HealthKind;
pub use crate::health::registry::{
    BoundCheck, CheckFuture, HealthCheckEntry, HealthCheckMeta, Missing, Resource, Resources,
    check_future, cloned, into_health,
};
pub use crate::objectives::{
    AlertCondition, AlertEntry, AlertSubject, DeclaredAlert, Objective, Severity,
    check_attached as check_objective, merged_bounds, merged_bounds_len, merged_bounds_ns,
};

pub use crate::monitor::site::{
    Guard, MonitorEntry, MonitorMeta, MonitorSite, Outcome, SiteCounters, ViaAny, ViaResult,
    outcome_from,
};

/// Default duration bucket bounds in seconds.
pub const DEFAULT_BOUNDS: &[f64] = crate::model::DEFAULT_BUCKETS;
/// [`DEFAULT_BOUNDS`] in nanoseconds.
pub const DEFAULT_BOUNDS_NS: &[u64] = &to_nanos::<{ crate::model::DEFAULT_BUCKETS.len() }>();
/// Storage width of the default buckets (bounds plus the overflow bucket).
pub const DEFAULT_NB: usize = crate::model::DEFAULT_BUCKETS.len() + 1;

const fn to_nanos<const N: usize>() -> [u64; N] {
    let mut out = [0u64; N];
    let mut i = 0;
    while i < N {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // bounds are positive seconds
        {
            out[i] = (crate::model::DEFAULT_BUCKETS[i] * 1e9 + 0.5) as u64;
        }
        i += 1;
    }
    out
}

/// Calls a sync body inside a closure whose return type is fixed by the caller, so `?`
/// and `return` in the body behave as in the original function.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn call<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}

/// Fixes the output type of an async body, for the same reason as [`call`].
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn future<R, F: Future<Output = R>>(body: F) -> F {
    body
}

/// A span field recorded with `Debug`. The value's type is erased so that a missing
/// `Debug` is one error, on the user's token.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn debug_field<T: core::fmt::Debug>(
    value: &T,
) -> tracing::field::DebugValue<&dyn core::fmt::Debug> {
    tracing::field::debug(value)
}

/// A span field recorded with `Display` (see [`debug_field`]).
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn display_field<T: core::fmt::Display>(
    value: &T,
) -> tracing::field::DisplayValue<&dyn core::fmt::Display> {
    tracing::field::display(value)
}

/// The fields of every `#[monitor]` span without `args` or `fields(..)`, in order: the
/// OpenTelemetry code attributes, then the error attributes recorded on failure.
pub const SPAN_FIELDS: &[&str] = &[
    "code.function",
    "code.namespace",
    "code.filepath",
    "code.lineno",
    "otel.status_code",
    "otel.status_description",
    "error.type",
];

/// The span of a monitored call whose fields are [`SPAN_FIELDS`]: what
/// `tracing::span!` does, with the values taken from `meta`, so that each monitored
/// function carries only its statics and this call (compile time). While no subscriber
/// wants it, it costs the level comparison (a constant and one atomic load) and, past
/// it, the callsite's cached interest.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn monitor_span(
    callsite: &'static tracing::callsite::DefaultCallsite,
    level: tracing::Level,
    meta: &'static MonitorMeta,
) -> tracing::Span {
    if level <= tracing::level_filters::STATIC_MAX_LEVEL
        && level <= tracing::level_filters::LevelFilter::current()
    {
        let interest = callsite.interest();
        if !interest.is_never() {
            return new_monitor_span(callsite, &interest, meta);
        }
    }
    tracing::Span::none()
}

#[inline(never)]
fn new_monitor_span(
    callsite: &'static tracing::callsite::DefaultCallsite,
    interest: &tracing::subscriber::Interest,
    meta: &'static MonitorMeta,
) -> tracing::Span {
    use tracing::callsite::Callsite as _;
    let metadata = callsite.metadata();
    if !(interest.is_always() || tracing::dispatcher::get_default(|d| d.enabled(metadata))) {
        return tracing::Span::none();
    }
    let fields = metadata.fields();
    let mut field = fields.iter();
    let mut next = || field.next().expect("the callsite has SPAN_FIELDS");
    let (function, namespace, filepath, lineno) = (next(), next(), next(), next());
    tracing::Span::new(
        metadata,
        &fields.value_set(&[
            (&function, Some(&meta.function as &dyn tracing::Value)),
            (&namespace, Some(&meta.module as &dyn tracing::Value)),
            (&filepath, Some(&meta.file as &dyn tracing::Value)),
            (&lineno, Some(&meta.line as &dyn tracing::Value)),
        ]),
    )
}
