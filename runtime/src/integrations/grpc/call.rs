//! One call on its way, on either side, and the response body that sees its end.
//!
//! A call ends with a status code, recorded exactly once, from the first of:
//! - `grpc-status` in the response headers (a "trailers-only" response: what tonic
//!   sends for a handler's `Err(Status)`, an unknown method, a deadline);
//! - an HTTP status other than 200 without `grpc-status` (gRPC's mapping);
//! - `grpc-status` in the trailers, after the messages (success, and errors in the
//!   middle of a stream): the response body is wrapped to see them;
//! - the service's error (its `Status`, or what the transport's error stands for);
//! - the call dropped before any of these: `DEADLINE_EXCEEDED` when its deadline had
//!   run out, `CANCELLED` otherwise (the peer went away), `UNKNOWN` with
//!   `error.type="panic"` when a panic unwound through it.
//!
//! `CANCELLED` once the call's deadline has run out is recorded as `DEADLINE_EXCEEDED`:
//! tonic answers `CANCELLED` for an expired `grpc-timeout`, where gRPC means
//! `DEADLINE_EXCEEDED`.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use ::http::header::HeaderName;
use ::http::uri::PathAndQuery;
use ::http::{HeaderMap, Response};
use http_body::{Body, Frame, SizeHint};
use tracing::Span;

use super::methods::{self, MethodData};
use super::semconv::{
    CANCELLED, DEADLINE_EXCEEDED, INTERNAL, UNIMPLEMENTED, UNKNOWN, client_error, code_name,
    from_http_status, parse_status, server_error,
};
use super::span;
use crate::clock;
use crate::integrations::http::correlation;
use crate::integrations::http::series::{Budget, Key};

/// Most series of `rpc.server.call.duration`; calls beyond go to one
/// `otel_metric_overflow="true"` series.
pub const SERVER_SERIES_LIMIT: usize = 2000;
/// Most series of `rpc.client.call.duration`.
pub const CLIENT_SERIES_LIMIT: usize = 1000;

pub(crate) static SERVER_BUDGET: Budget = Budget::new(SERVER_SERIES_LIMIT);
pub(crate) static CLIENT_BUDGET: Budget = Budget::new(CLIENT_SERIES_LIMIT);

/// `error` of a series key: none, the status code's name, a panic.
pub(crate) const NO_ERROR: u8 = 0;
pub(crate) const STATUS_ERROR: u8 = 1;
pub(crate) const PANIC_ERROR: u8 = 2;

/// The `error.type` of a series key.
pub(crate) fn error_type(error: u8, code: u8) -> &'static str {
    match error {
        STATUS_ERROR => code_name(code),
        PANIC_ERROR => "panic",
        _ => "",
    }
}

pub(crate) static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
pub(crate) static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// Tokio's timers fire on millisecond ticks: a call dropped within one of its deadline
/// was dropped by it.
const DEADLINE_SLACK_NS: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// A call being measured.
#[allow(clippy::struct_excessive_bools)] // independent facts about one call
pub(crate) struct Call {
    pub(crate) side: Side,
    pub(crate) start: u64,
    /// Nanoseconds after `start` at which the call's deadline runs out.
    pub(crate) deadline_ns: Option<u64>,
    pub(crate) method: &'static MethodData,
    /// The path of a call to a method the server did not recognise (yet): it learns
    /// the method when the call is answered with anything but `UNIMPLEMENTED`.
    pub(crate) unknown_path: Option<PathAndQuery>,
    pub(crate) destination: u8,
    pub(crate) span: Span,
    pub(crate) correlation: Option<correlation::Pair>,
    pub(crate) dup: bool,
    /// The response head came: the call reached a handler, unless its status is
    /// `UNIMPLEMENTED`.
    pub(crate) answered: bool,
    /// A panic unwound through a poll (whoever caught it drops the call later).
    pub(crate) panicked: bool,
    done: bool,
}

impl Call {
    #[allow(clippy::too_many_arguments)] // one constructor for both sides, fields by name
    pub(crate) fn new(
        side: Side,
        start: u64,
        deadline_ns: Option<u64>,
        method: &'static MethodData,
        unknown_path: Option<PathAndQuery>,
        destination: u8,
        span: Span,
        correlation: Option<correlation::Pair>,
        dup: bool,
    ) -> Call {
        Call {
            side,
            start,
            deadline_ns,
            method,
            unknown_path,
            destination,
            span,
            correlation,
            dup,
            answered: false,
            panicked: false,
            done: false,
        }
    }

    /// Records the call's end with `code`.
    pub(crate) fn finish(mut self, code: u8) {
        self.record(code, false);
    }

    fn record(&mut self, code: u8, panic: bool) {
        // tonic answers `CANCELLED` when a deadline runs out: the deadline it is.
        let code = if code == CANCELLED && self.past_deadline() {
            DEADLINE_EXCEEDED
        } else {
            code
        };
        self.done = true;
        let end = clock::raw();
        let nanos = clock::nanos_between(self.start, end);
        if self.answered
            && code != UNIMPLEMENTED
            && let Some(path) = self.unknown_path.take()
        {
            self.learn(path.path());
        }
        let error = match self.side {
            Side::Server => server_error(code),
            Side::Client => client_error(code),
        };
        let error = if panic {
            PANIC_ERROR
        } else if error {
            STATUS_ERROR
        } else {
            NO_ERROR
        };
        let key = Key {
            method: self.destination,
            status: u16::from(code),
            scheme: 0,
            version: 0,
            error,
        };
        let series = match self.side {
            Side::Server => self.method.server.find(key, &SERVER_BUDGET),
            Side::Client => self.method.client.find(key, &CLIENT_BUDGET),
        };
        series.record(nanos, end, &self.span);
        span::finish(
            &self.span,
            code,
            (error != NO_ERROR).then(|| error_type(error, code)),
            self.dup,
        );
    }

    /// A handler answered a method the server did not know: it is one of its methods.
    #[cold]
    fn learn(&mut self, path: &str) {
        let method = methods::intern(path.strip_prefix('/').unwrap_or(path));
        if !method.is_other() {
            method.served.store(true, Ordering::Relaxed);
            self.method = method;
            span::learned(&self.span, method);
        }
    }

    /// Whether the call's deadline has run out.
    fn past_deadline(&self) -> bool {
        self.deadline_ns.is_some_and(|deadline| {
            clock::nanos_between(self.start, clock::raw()) + DEADLINE_SLACK_NS >= deadline
        })
    }

    /// The response head came: the call ends here when the head carries its status;
    /// otherwise it goes on in the body (returned).
    pub(crate) fn head<B: Body>(mut self, response: &Response<B>) -> Option<Call> {
        // Something past tonic's router answered, unless it says `UNIMPLEMENTED` (all
        // the router says of a path it does not route).
        self.answered = true;
        match head_status(response) {
            Some(code) => {
                self.finish(code);
                None
            }
            // A 200 without a status and without a body to bring trailers.
            None if response.body().is_end_stream() => {
                self.finish(INTERNAL);
                None
            }
            None => Some(self),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.panicked || std::thread::panicking() {
            self.record(UNKNOWN, true);
        } else {
            self.record(CANCELLED, false);
        }
    }
}

/// The status a response head carries: `grpc-status`, else a non-200 HTTP status.
#[inline]
pub(crate) fn head_status<B>(response: &Response<B>) -> Option<u8> {
    match response.headers().get(&GRPC_STATUS) {
        Some(value) => Some(parse_status(value.as_bytes())),
        None => from_http_status(response.status().as_u16()),
    }
}

/// The status of trailers (`INTERNAL` without one: a protocol error).
fn trailer_status(trailers: &HeaderMap) -> u8 {
    trailers
        .get(&GRPC_STATUS)
        .map_or(INTERNAL, |v| parse_status(v.as_bytes()))
}

/// The deadline of a request: its `grpc-timeout`, or the layer's, whichever is shorter.
#[inline]
pub(crate) fn deadline(headers: &HeaderMap, layer: Option<u64>) -> Option<u64> {
    let own = headers
        .get(&GRPC_TIMEOUT)
        .and_then(|v| super::semconv::parse_timeout(v.as_bytes()));
    match (own, layer) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The status code an error stands for: a `tonic::Status` it is or wraps, a deadline
/// (`DEADLINE_EXCEEDED`, where tonic says `CANCELLED`), a failed connection or transport
/// (`UNAVAILABLE`), else `UNKNOWN`.
pub(crate) fn error_status(error: &(dyn std::error::Error + 'static)) -> u8 {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(status) = e.downcast_ref::<tonic::Status>() {
            return u8::try_from(i32::from(status.code())).unwrap_or(UNKNOWN);
        }
        if e.is::<tonic::TimeoutExpired>() {
            return DEADLINE_EXCEEDED;
        }
        if e.is::<tonic::ConnectError>() || e.is::<std::io::Error>() || e.is::<hyper::Error>() {
            return super::semconv::UNAVAILABLE;
        }
        current = e.source();
    }
    UNKNOWN
}

/// Marks a call as panicked when a panic unwinds through its poll.
pub(crate) struct UnwindFlag<'a>(pub(crate) &'a mut bool);

impl Drop for UnwindFlag<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            *self.0 = true;
        }
    }
}

pin_project_lite::pin_project! {
    /// The response body of a measured call: the body as it was, watched for the
    /// trailers that end the call.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, call: Option<Call>) -> Self {
        ResponseBody { inner, call }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("in_progress", &self.call.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let Some(call) = this.call.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        // Messages of a stream are made while the body is polled: inside the span.
        let polled = {
            let Call { span, panicked, .. } = call;
            let _entered = span.enter();
            let flag = UnwindFlag(panicked);
            let polled = this.inner.poll_frame(cx);
            std::mem::forget(flag);
            polled
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailer_status(trailers);
                    if let Some(call) = this.call.take() {
                        call.finish(code);
                    }
                }
            }
            // The stream is reset: the peer sees `INTERNAL`, or the deadline when it has
            // run out; so does an end without trailers.
            Poll::Ready(Some(Err(_)) | None) => {
                if let Some(call) = this.call.take() {
                    let code = if call.past_deadline() {
                        DEADLINE_EXCEEDED
                    } else {
                        INTERNAL
                    };
                    call.finish(code);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
