//! The span side of a monitored call: error status, exception events, panics.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Span;
use tracing::span::EnteredSpan;

use crate::monitor::site::{Guard, MonitorSite, Outcome};
use crate::recent;

impl<const NB: usize> MonitorSite<NB> {
    /// [`start`](Self::start) with `span` entered until the call finishes (sync calls).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn start_span(
        &'static self,
        span: tracing::Span,
    ) -> SpanGuard<NB, tracing::span::EnteredSpan> {
        let span = span.entered();
        SpanGuard::new(self.start(), span)
    }

    /// [`start`](Self::start) with `span` entered at each poll of the body (async calls).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn start_span_async(&'static self, span: tracing::Span) -> SpanGuard<NB, tracing::Span> {
        SpanGuard::new(self.start(), span)
    }
}

/// A span held for the whole call: entered for a sync call, entered at each poll for an
/// async one.
pub trait HoldsSpan {
    #[doc(hidden)]
    fn span(&self) -> &Span;
}

impl HoldsSpan for Span {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn span(&self) -> &Span {
        self
    }
}

impl HoldsSpan for EnteredSpan {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
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
                Some(("panic", ErrorText::Static("the function panicked"))),
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
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new(guard: Guard<NB>, span: S) -> Self {
        SpanGuard {
            guard,
            span: Watched { span, armed: true },
        }
    }

    /// Runs an async body with the span entered at each poll.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn run<F: Future>(&self, future: F) -> InSpan<'_, F> {
        InSpan {
            span: self.span.span.span(),
            future,
        }
    }

    /// Records the call; on an error, marks the span and emits an `exception` event
    /// described by `describe` (only called then).
    ///
    /// `describe` is a trait object so that the enabled path is compiled once per
    /// storage width rather than once per monitored function (compile time).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn finish_traced<'e>(
        self,
        outcome: Outcome,
        describe: &dyn Fn() -> Option<(&'static str, ErrorText<'e>)>,
    ) {
        let SpanGuard { guard, mut span } = self;
        span.armed = false;
        // The outcome is tested first, where the `Result`'s variant is known: the
        // successful path then records a constant outcome.
        if outcome != Outcome::Ok {
            finish_failed(guard, span.span.span(), outcome, describe);
        } else if span.span.span().is_disabled() {
            guard.finish(Outcome::Ok);
        } else {
            finish_in_enabled_span(guard, span.span.span());
        }
    }
}

/// The end of a successful call whose span a subscriber records: out of line, it costs
/// far more than a call anyway.
#[inline(never)]
fn finish_in_enabled_span<const NB: usize>(guard: Guard<NB>, span: &Span) {
    guard.finish_in_span(Outcome::Ok, span);
}

/// The end of a call that returned an error: the span marked (when recorded), the call
/// kept among recent failures (when the status page keeps them) with the error's type,
/// message and trace.
#[cold]
#[inline(never)]
fn finish_failed<'e, const NB: usize>(
    guard: Guard<NB>,
    span: &Span,
    outcome: Outcome,
    describe: &dyn Fn() -> Option<(&'static str, ErrorText<'e>)>,
) {
    let site = guard.site();
    let keep = recent::enabled();
    let details = if keep || !span.is_disabled() {
        describe()
    } else {
        None
    };
    let nanos = if span.is_disabled() {
        guard.finish_plain(outcome)
    } else {
        mark_error(span, details);
        guard.finish_in_span(outcome, span)
    };
    if keep {
        let mut call = site.call(recent::Kind::Error, nanos);
        if let Some((ty, text)) = details {
            call.error_type = Some(ty.into());
            call.message = Some(text.to_string()).filter(|m| !m.is_empty());
        }
        if let Some((trace, span, _)) = crate::span_ids::ids_of(span) {
            call.trace_id = Some(trace);
            call.span_id = Some(span);
        }
        recent::failed(call);
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

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `InSpan` has no `Drop` impl and is not `Unpin` unless `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = this.span.enter();
        // SAFETY: see above; `this.future` stays where it was pinned.
        unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx)
    }
}

/// The message of an error, formatted only if a layer records it, and cut at 256
/// characters.
#[derive(Clone, Copy)]
pub enum ErrorText<'a> {
    /// An error with `Display`.
    Display(&'a dyn Display),
    /// A fixed message.
    Static(&'static str),
}

/// Longest error message recorded on a span; longer ones are cut and end with `…`.
pub(crate) const MAX_MESSAGE_CHARS: usize = 256;

/// Passes at most `left` characters on, then drops the rest (never failing: a
/// `Display` that returns an error makes `to_string` panic).
struct Capped<'a, 'b> {
    out: &'a mut std::fmt::Formatter<'b>,
    left: usize,
    cut: bool,
}

impl std::fmt::Write for Capped<'_, '_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.cut {
            return Ok(());
        }
        match s.char_indices().nth(self.left) {
            None => {
                self.left -= s.chars().count();
                self.out.write_str(s)
            }
            Some((end, _)) => {
                self.cut = true;
                self.left = 0;
                self.out.write_str(&s[..end])
            }
        }
    }
}

impl Display for ErrorText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut capped = Capped {
            out: f,
            left: MAX_MESSAGE_CHARS,
            cut: false,
        };
        match self {
            ErrorText::Display(e) => {
                let _ = std::fmt::Write::write_fmt(&mut capped, format_args!("{e}"));
            }
            ErrorText::Static(s) => std::fmt::Write::write_str(&mut capped, s)?,
        }
        if capped.cut {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl Debug for ErrorText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(self, f)
    }
}

/// Error status on the span and an `exception` event. The event is at `DEBUG`: the
/// trace always gets it (the OpenTelemetry layer's filter lets it through whatever the
/// trace level), while log lines at the usual `info` are not flooded by expected errors. The message is
/// recorded as a `Display` value, so it is formatted only by a layer that keeps it.
#[cold]
#[inline(never)]
fn mark_error(span: &Span, details: Option<(&'static str, ErrorText<'_>)>) {
    span.record("otel.status_code", "ERROR");
    let (ty, message) = details.unwrap_or(("error", ErrorText::Static("")));
    span.record("error.type", ty);
    let message = match message {
        ErrorText::Static("") => None,
        text => Some(tracing::field::display(text)),
    };
    if let Some(message) = &message {
        span.record("otel.status_description", message);
    }
    tracing::event!(
        name: "exception",
        target: "flext_observability",
        parent: span,
        tracing::Level::DEBUG,
        exception.r#type = ty,
        exception.message = message,
        "exception"
    );
}

/// Wraps a return value for [`DescribeDisplay`] / [`DescribeDebug`] / [`DescribeAny`]
/// (autoref specialisation: the first that applies wins).
#[derive(Debug)]
pub struct Describe<'a, T>(pub &'a T);

/// `Err(e)` with `e: Display`: the error's type and message.
pub trait DescribeDisplay<'a> {
    #[doc(hidden)]
    fn __flext_describe(&self) -> Option<(&'static str, ErrorText<'a>)>;
}

impl<'a, T, E: Display> DescribeDisplay<'a> for &&Describe<'a, Result<T, E>> {
    fn __flext_describe(&self) -> Option<(&'static str, ErrorText<'a>)> {
        match self.0 {
            Ok(_) => None,
            Err(e) => Some((std::any::type_name::<E>(), ErrorText::Display(e))),
        }
    }
}

/// `Err(e)` with `e: Debug` only: the error's type, no message (a `Debug` form often
/// holds request data, and nothing secret may reach a trace by accident).
pub trait DescribeDebug<'a> {
    #[doc(hidden)]
    fn __flext_describe(&self) -> Option<(&'static str, ErrorText<'a>)>;
}

impl<'a, T, E: Debug> DescribeDebug<'a> for &Describe<'a, Result<T, E>> {
    fn __flext_describe(&self) -> Option<(&'static str, ErrorText<'a>)> {
        match self.0 {
            Ok(_) => None,
            Err(_) => Some((std::any::type_name::<E>(), ErrorText::Static(""))),
        }
    }
}

/// Anything else: no details.
pub trait DescribeAny {
    #[doc(hidden)]
    fn __flext_describe(&self) -> Option<(&'static str, ErrorText<'static>)> {
        None
    }
}

impl<T> DescribeAny for Describe<'_, T> {}
