//! `Executor` for the monitored pool, connection and transaction: each query is handed
//! to the driver unchanged, timed from the call to its last row, and recorded.
//!
//! sqlx 0.9 gives a query's text only by consuming the query (`Execute::sql(self)`), so
//! the query is taken apart (its text, cached statement, arguments and persistence,
//! all cheap handles) and put back together as a [`Forward`] the driver executes as it
//! would have executed the original.

use ::sqlx::error::BoxDynError;
use ::sqlx::{Database, Describe, Either, Error, Execute, Executor, SqlStr};
use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use tracing::{Instrument, Span};

use super::connection::{MonitoredConnection, MonitoredTransaction};
use super::op::{Meta, Op};
use super::pool::MonitoredPool;
use super::stream::{Generated, Traced, observe};

type Rows<'e, DB> =
    BoxStream<'e, Result<Either<<DB as Database>::QueryResult, <DB as Database>::Row>, Error>>;
type Row<'e, DB> = BoxFuture<'e, Result<Option<<DB as Database>::Row>, Error>>;

/// A query taken apart to read its text, executed as the original.
pub(crate) struct Forward<DB: Database> {
    sql: SqlStr,
    statement: Option<DB::Statement>,
    arguments: Option<Result<Option<DB::Arguments>, BoxDynError>>,
    persistent: bool,
}

impl<DB: Database> Forward<DB> {
    fn new<'q, E: Execute<'q, DB>>(mut query: E) -> Self {
        let statement = query.statement().cloned();
        let arguments = Some(query.take_arguments());
        let persistent = query.persistent();
        Forward {
            sql: query.sql(),
            statement,
            arguments,
            persistent,
        }
    }
}

impl<DB: Database> Execute<'_, DB> for Forward<DB> {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&DB::Statement> {
        self.statement.as_ref()
    }

    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, BoxDynError> {
        self.arguments.take().unwrap_or(Ok(None))
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

/// A query on a connection the caller holds.
fn many_on<'e, 'q, DB, E>(conn: &'e mut DB::Connection, meta: Meta, query: E) -> Rows<'e, DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    E: 'q + Execute<'q, DB>,
{
    let query = Forward::new(query);
    let op = Op::start(meta, query.sql.as_str());
    let inner = {
        let _in_span = op.span().enter();
        conn.fetch_many(query)
    };
    Box::pin(Traced { inner, op })
}

fn optional_on<'e, 'q, DB, E>(conn: &'e mut DB::Connection, meta: Meta, query: E) -> Row<'e, DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    E: 'q + Execute<'q, DB>,
{
    let query = Forward::new(query);
    let mut op = Op::start(meta, query.sql.as_str());
    let span = op.span().clone();
    let fetched = conn.fetch_optional(query);
    in_span(
        async move {
            let row = fetched.await;
            op.add_rows(u64::from(matches!(row, Ok(Some(_)))));
            op.finish(row.as_ref().err());
            row
        },
        span,
    )
}

/// `future`, boxed, polled inside `span` unless no subscriber wants the span.
fn in_span<'e, T>(future: impl Future<Output = T> + Send + 'e, span: Span) -> BoxFuture<'e, T> {
    if span.is_disabled() {
        Box::pin(future)
    } else {
        Box::pin(future.instrument(span))
    }
}

impl<'p, DB> Executor<'p> for &'p MonitoredPool<DB>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Rows<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        let query = Forward::new(query);
        let mut op = Op::start(self.meta(), query.sql.as_str());
        let span = op.span().clone();
        let inner = self.inner();
        Box::pin(Generated::new(span, move |tx| async move {
            let mut conn = match inner.acquire_from(op.started()).await {
                Ok(conn) => conn,
                Err(e) => {
                    op.finish(Some(&e));
                    tx.send(Err(e)).await;
                    return;
                }
            };
            {
                let mut rows = (&mut *conn.conn).fetch_many(query);
                while let Some(item) = std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await
                {
                    observe(&mut op, &item);
                    tx.send(item).await;
                }
            }
            conn.release_at(op.finish(None));
        }))
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> Row<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        let query = Forward::new(query);
        let mut op = Op::start(self.meta(), query.sql.as_str());
        let span = op.span().clone();
        let inner = self.inner();
        in_span(
            async move {
                let mut conn = match inner.acquire_from(op.started()).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        op.finish(Some(&e));
                        return Err(e);
                    }
                };
                let row = (&mut *conn.conn).fetch_optional(query).await;
                op.add_rows(u64::from(matches!(row, Ok(Some(_)))));
                conn.release_at(op.finish(row.as_ref().err()));
                row
            },
            span,
        )
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'p: 'e,
    {
        let inner = self.inner();
        Box::pin(async move {
            let mut conn = inner.acquire().await?;
            (&mut *conn.conn).prepare_with(sql, parameters).await
        })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'p: 'e,
    {
        let inner = self.inner();
        Box::pin(async move {
            let mut conn = inner.acquire().await?;
            (&mut *conn.conn).describe(sql).await
        })
    }
}

/// `Executor` for `&mut $ty`, forwarding to the driver connection at `$conn`.
macro_rules! connection_executor {
    ([$($life:lifetime)?] $ty:ty, |$this:ident| $conn:expr) => {
        impl<'c, $($life,)? DB> Executor<'c> for &'c mut $ty
        where
            DB: Database,
            for<'a> &'a mut DB::Connection: Executor<'a, Database = DB>,
        {
            type Database = DB;

            fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Rows<'e, DB>
            where
                'c: 'e,
                E: 'q + Execute<'q, DB>,
            {
                let meta = self.meta;
                let $this = self;
                many_on::<DB, E>($conn, meta, query)
            }

            fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> Row<'e, DB>
            where
                'c: 'e,
                E: 'q + Execute<'q, DB>,
            {
                let meta = self.meta;
                let $this = self;
                optional_on::<DB, E>($conn, meta, query)
            }

            fn prepare_with<'e>(
                self,
                sql: SqlStr,
                parameters: &'e [DB::TypeInfo],
            ) -> BoxFuture<'e, Result<DB::Statement, Error>>
            where
                'c: 'e,
            {
                let $this = self;
                $conn.prepare_with(sql, parameters)
            }

            fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
            where
                'c: 'e,
            {
                let $this = self;
                $conn.describe(sql)
            }
        }
    };
}

connection_executor!([] MonitoredConnection<DB>, |this| &mut *this.conn);
connection_executor!(['t] MonitoredTransaction<'t, DB>, |this| &mut *this.tx);
