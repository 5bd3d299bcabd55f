//! The span side of a monitored call: error status, exception events, panics.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Span;
use tracing::span::EnteredSpan;

use crate::monitor::{Guard, Outcome};

/// A span held for the whole call: entered for a sync call, entered at each poll for an
/// async one.
pub trait HoldsSpan {
    #[doc(hidden)]
    fn span(&self) -> &Span;
}

impl HoldsSpan for Span {
    #[inline(always)]
    fn span(&self) -> &Span {
        self
    }
}

impl HoldsSpan for EnteredSpan {
    #[inline(always)]
    fn span(&self) -> &Span {
        self
    }
}

/// Records a panic on the span when the call unwinds.
#[derive(Debug)]
struct Watched<S: HoldsSpan> {
    span: S,
    armed: bool,
}

impl<S: HoldsSpan> Drop for Watched<S> {
    fn drop(&mut self) {
        if self.armed && std::thread::panicking() && !self.span.span().is_disabled() {
            mark_error(
                self.span.span(),
                Some(("panic", "the function panicked".to_owned())),
            );
        }
    }
}

/// A monitored call with its span; [`finish_traced`](Self::finish_traced) ends both.
#[must_use]
#[derive(Debug)]
pub struct SpanGuard<const NB: usize, S: HoldsSpan> {
    // Field order matters: on unwinding the call is recorded, then the span closed.
    guard: Guard<NB>,
    span: Watched<S>,
}

impl<const NB: usize, S: HoldsSpan> SpanGuard<NB, S> {
    #[inline(always)]
    pub(crate) fn new(guard: Guard<NB>, span: S) -> Self {
        SpanGuard {
            guard,
            span: Watched { span, armed: true },
        }
    }

    /// Runs an async body with the span entered at each poll.
    #[inline(always)]
    pub fn run<F: Future>(&self, future: F) -> InSpan<'_, F> {
        InSpan {
            span: self.span.span.span(),
            future,
        }
    }

    /// Records the call; on an error, marks the span and emits an `exception` event
    /// described by `describe` (only called then).
    #[inline(always)]
    pub fn finish_traced(
        self,
        outcome: Outcome,
        describe: impl FnOnce() -> Option<(&'static str, String)>,
    ) {
        let SpanGuard { guard, mut span } = self;
        span.armed = false;
        let s = span.span.span();
        if s.is_disabled() {
            guard.finish(outcome);
        } else {
            if outcome == Outcome::Error {
                mark_error(s, describe());
            }
            guard.finish_in_span(outcome, s);
        }
    }
}

/// A future polled inside a span (like `tracing::Instrument`, without cloning the span).
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct InSpan<'a, F> {
    span: &'a Span,
    future: F,
}

impl<F: Future> Future for InSpan<'_, F> {
    type Output = F::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `InSpan` has no `Drop` impl and is not `Unpin` unless `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = this.span.enter();
        // SAFETY: see above; `this.future` stays where it was pinned.
        unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx)
    }
}

/// Error status on the span and an `exception` event. The event is at `DEBUG`: the
/// trace always gets it (the OpenTelemetry layer takes every level by default), while
/// log lines at the usual `info` are not flooded by expected errors.
#[cold]
#[inline(never)]
fn mark_error(span: &Span, details: Option<(&'static str, String)>) {
    span.record("otel.status_code", "ERROR");
    let (ty, message) = details.unwrap_or(("error", String::new()));
    span.record("error.type", ty);
    if !message.is_empty() {
        span.record("otel.status_description", message.as_str());
    }
    tracing::event!(
        name: "exception",
        target: "flext_observability",
        parent: span,
        tracing::Level::DEBUG,
        exception.r#type = ty,
        exception.message = message.as_str(),
        "exception"
    );
}

/// Wraps a return value for [`DescribeDisplay`] / [`DescribeDebug`] / [`DescribeAny`]
/// (autoref specialisation: the first that applies wins).
#[derive(Debug)]
pub struct Describe<'a, T>(pub &'a T);

/// `Err(e)` with `e: Display`: the error's type and message.
pub trait DescribeDisplay {
    #[doc(hidden)]
    fn __flext_describe(&self) -> Option<(&'static str, String)>;
}

impl<T, E: Display> DescribeDisplay for &&Describe<'_, Result<T, E>> {
    fn __flext_describe(&self) -> Option<(&'static str, String)> {
        match self.0 {
            Ok(_) => None,
            Err(e) => Some((std::any::type_name::<E>(), e.to_string())),
        }
    }
}

/// `Err(e)` with `e: Debug` only: the error's type and `Debug` form.
pub trait DescribeDebug {
    #[doc(hidden)]
    fn __flext_describe(&self) -> Option<(&'static str, String)>;
}

impl<T, E: Debug> DescribeDebug for &Describe<'_, Result<T, E>> {
    fn __flext_describe(&self) -> Option<(&'static str, String)> {
        match self.0 {
            Ok(_) => None,
            Err(e) => Some((std::any::type_name::<E>(), format!("{e:?}"))),
        }
    }
}

/// Anything else: no details.
pub trait DescribeAny {
    #[doc(hidden)]
    fn __flext_describe(&self) -> Option<(&'static str, String)> {
        None
    }
}

impl<T> DescribeAny for Describe<'_, T> {}
