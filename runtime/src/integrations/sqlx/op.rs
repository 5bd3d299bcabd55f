//! One database operation in flight: its cells, its clock, its span; recorded once, when
//! it ends, fails or is dropped.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tracing::Span;

use super::cache;
use super::pool_metrics::PoolMetrics;
use super::recent::{self, RecentQuery};
use super::store::{Cells, Target};
use crate::clock;

/// `target` of the spans, for filters (`LOG_LEVEL=flext_observability::sqlx=off`).
pub(crate) const SPAN_TARGET: &str = "flext_observability::sqlx";

/// Queries that take at least this long land in the recent-queries ring.
pub(crate) static SLOW_NANOS: AtomicU64 = AtomicU64::new(1_000_000_000);
/// Whether spans and the ring carry the sanitised statement (`db.query.text`).
pub(crate) static QUERY_TEXT: AtomicBool = AtomicBool::new(false);

/// What a query runs on: the database its labels name and the pool it came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meta {
    pub(crate) target: &'static Target,
    pub(crate) pool: &'static PoolMetrics,
}

#[derive(Debug)]
pub(crate) struct Op {
    cells: &'static Cells,
    pool: &'static PoolMetrics,
    start: u64,
    rows: u64,
    span: Span,
    text: Option<Arc<str>>,
    /// When it was recorded (raw clock), 0 until then.
    end: u64,
}

impl Op {
    /// Starts the clock for `sql` on `meta`; the span's parent is the current span.
    #[inline]
    pub(crate) fn start(meta: Meta, sql: &str) -> Op {
        let capture = QUERY_TEXT.load(Ordering::Relaxed);
        let found = cache::lookup(meta.target, sql, capture);
        let span = span(found.cells, found.text.as_deref());
        Op {
            cells: found.cells,
            pool: meta.pool,
            start: clock::raw(),
            rows: 0,
            span,
            text: found.text,
            end: 0,
        }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// When it started (raw clock): the start of the wait for a connection too.
    pub(crate) fn started(&self) -> u64 {
        self.start
    }

    #[inline]
    pub(crate) fn add_rows(&mut self, rows: u64) {
        self.rows += rows;
    }

    /// Records the operation, failed with `error` or not; only the first call counts.
    /// Returns when it ended (raw clock), for the connection's use time.
    #[inline]
    pub(crate) fn finish(&mut self, error: Option<&::sqlx::Error>) -> u64 {
        if self.end == 0 {
            self.record(error.map(classify));
        }
        self.end
    }

    fn record(&mut self, failure: Option<(Cow<'static, str>, Option<String>)>) {
        // Never 0 once recorded, whatever the clock's origin.
        self.end = clock::raw().max(1);
        let nanos = clock::nanos_between(self.start, self.end);
        let series = match &failure {
            None => &self.cells.ok,
            Some((kind, code)) => self.cells.error(kind, code.as_deref()),
        };
        series.record(nanos, self.rows);
        if !self.span.is_disabled() {
            self.span.record("db.response.returned_rows", self.rows);
            if let Some((kind, code)) = &failure {
                self.span.record("error.type", &**kind);
                self.span.record("db.response.status_code", code.as_deref());
                self.span.record("otel.status_code", "ERROR");
            }
        }
        if failure.is_some() || nanos >= SLOW_NANOS.load(Ordering::Relaxed) {
            self.remember(nanos, failure);
        }
    }

    #[cold]
    #[inline(never)]
    fn remember(&self, nanos: u64, failure: Option<(Cow<'static, str>, Option<String>)>) {
        let target = self.cells.target;
        let (error_type, status_code) = match failure {
            Some((kind, code)) => (Some(kind.into_owned()), code),
            None => (None, None),
        };
        recent::push(RecentQuery {
            at: SystemTime::now(),
            system: &target.system,
            namespace: target.namespace.as_deref(),
            pool: Some(&self.pool.name),
            summary: &self.cells.summary,
            duration: Duration::from_nanos(nanos),
            error_type,
            status_code,
            text: self.text.as_deref().map(str::to_owned),
            trace_id: crate::span_ids::ids_of(&self.span).map(|(t, _, _)| crate::span_ids::hex(&t)),
        });
    }
}

impl Drop for Op {
    /// Dropped before the end: the caller stopped reading (a `fetch` stream dropped after
    /// the rows it wanted: a success) or gave up before any row (a timeout, a cancelled
    /// task: `error.type="cancelled"`).
    fn drop(&mut self) {
        if self.end == 0 {
            let failure = (self.rows == 0).then_some((Cow::Borrowed("cancelled"), None));
            self.record(failure);
        }
    }
}

/// The span of one query, named by its summary, as the conventions ask.
fn span(cells: &'static Cells, text: Option<&str>) -> Span {
    let target = cells.target;
    tracing::info_span!(
        target: SPAN_TARGET,
        "db.query",
        otel.name = &*cells.summary,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        db.system.name = &*target.system,
        db.namespace = target.namespace.as_deref(),
        db.query.summary = &*cells.summary,
        db.operation.name = cells.operation.as_deref(),
        db.collection.name = cells.collection.as_deref(),
        db.query.text = text,
        server.address = target.address.as_deref(),
        server.port = target.port_number,
        error.type = tracing::field::Empty,
        db.response.status_code = tracing::field::Empty,
        db.response.returned_rows = tracing::field::Empty,
    )
}

/// `error.type` and `db.response.status_code` of a failure. A database error is its
/// code (PostgreSQL's SQLSTATE such as `23505`, SQLite's extended result code such as
/// `2067`), as the conventions ask; any other `sqlx::Error` is its kind in snake case.
pub(crate) fn classify(error: &::sqlx::Error) -> (Cow<'static, str>, Option<String>) {
    use ::sqlx::Error as E;
    let kind = match error {
        E::Database(db) => {
            return match db.code() {
                Some(code) => {
                    let code = code.into_owned();
                    (Cow::Owned(code.clone()), Some(code))
                }
                None => (Cow::Borrowed("database"), None),
            };
        }
        E::Configuration(_) => "configuration",
        E::InvalidArgument(_) => "invalid_argument",
        E::Io(_) => "io",
        E::Tls(_) => "tls",
        E::Protocol(_) => "protocol",
        E::RowNotFound => "row_not_found",
        E::TypeNotFound { .. } => "type_not_found",
        E::ColumnIndexOutOfBounds { .. } => "column_index_out_of_bounds",
        E::ColumnNotFound(_) => "column_not_found",
        E::ColumnDecode { .. } => "column_decode",
        E::Encode(_) => "encode",
        E::Decode(_) => "decode",
        E::AnyDriverError(_) => "any_driver_error",
        E::PoolTimedOut => "pool_timed_out",
        E::PoolClosed => "pool_closed",
        E::WorkerCrashed => "worker_crashed",
        E::InvalidSavePointStatement => "invalid_savepoint_statement",
        E::BeginFailed => "begin_failed",
        _ => "_OTHER",
    };
    (Cow::Borrowed(kind), None)
}
