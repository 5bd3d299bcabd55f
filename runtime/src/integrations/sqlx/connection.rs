//! A monitored connection and transaction: `&mut` either is an `Executor` whose queries
//! are measured like the pool's.

use std::fmt;
use std::ops::{Deref, DerefMut};

use ::sqlx::pool::PoolConnection;
use ::sqlx::{Database, Transaction};
use tracing::Instrument;

use super::op::{Meta, Op};
use super::pool_metrics::PoolMetrics;

/// Records `db.client.connection.use_time` when the connection goes back.
#[derive(Debug)]
pub(crate) struct UseTimer {
    metrics: &'static PoolMetrics,
    since: u64,
    recorded: bool,
}

impl UseTimer {
    pub(crate) fn since(metrics: &'static PoolMetrics, since: u64) -> Self {
        UseTimer {
            metrics,
            since,
            recorded: false,
        }
    }

    /// Records the use as ending at `end` (a time already read: no second clock read).
    pub(crate) fn end_at(&mut self, end: u64) {
        if !self.recorded {
            self.recorded = true;
            self.metrics.used(self.since, end);
        }
    }
}

impl Drop for UseTimer {
    fn drop(&mut self) {
        self.end_at(crate::clock::raw());
    }
}

/// A connection from a [`MonitoredPool`](super::MonitoredPool): queries on `&mut` it are
/// measured; it dereferences to the driver's connection (unmeasured).
pub struct MonitoredConnection<DB: Database> {
    pub(crate) conn: PoolConnection<DB>,
    pub(crate) meta: Meta,
    timer: UseTimer,
}

impl<DB: Database> MonitoredConnection<DB> {
    pub(crate) fn new(conn: PoolConnection<DB>, meta: Meta, timer: UseTimer) -> Self {
        MonitoredConnection { conn, meta, timer }
    }

    pub(crate) fn into_parts(self) -> (PoolConnection<DB>, Meta, UseTimer) {
        (self.conn, self.meta, self.timer)
    }

    /// Gives the connection back, its use ending at `end`.
    pub(crate) fn release_at(mut self, end: u64) {
        self.timer.end_at(end);
    }

    /// Starts a transaction on this connection; `BEGIN`, `COMMIT` and `ROLLBACK` are
    /// measured.
    ///
    /// # Errors
    /// As `sqlx::Connection::begin`.
    pub async fn begin(&mut self) -> Result<MonitoredTransaction<'_, DB>, ::sqlx::Error> {
        let meta = self.meta;
        let mut op = Op::start(meta, "BEGIN");
        let span = op.span().clone();
        let begun = Transaction::begin(&mut *self.conn, None)
            .instrument(span)
            .await;
        op.finish(begun.as_ref().err());
        Ok(MonitoredTransaction::new(begun?, meta, None))
    }
}

impl<DB: Database> Deref for MonitoredConnection<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Database> DerefMut for MonitoredConnection<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: Database> fmt::Debug for MonitoredConnection<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitoredConnection")
            .field("pool", &&*self.meta.pool.name)
            .finish_non_exhaustive()
    }
}

/// A transaction from a [`MonitoredPool`](super::MonitoredPool) or
/// [`MonitoredConnection`]: queries on `&mut` it are measured, and so are its `BEGIN`,
/// [`commit`](Self::commit) and [`rollback`](Self::rollback). Dropped without either, it
/// is rolled back by sqlx, unmeasured.
pub struct MonitoredTransaction<'c, DB: Database> {
    pub(crate) tx: Transaction<'c, DB>,
    pub(crate) meta: Meta,
    /// Held by a transaction that owns its pool connection.
    _timer: Option<UseTimer>,
}

impl<'c, DB: Database> MonitoredTransaction<'c, DB> {
    pub(crate) fn new(tx: Transaction<'c, DB>, meta: Meta, timer: Option<UseTimer>) -> Self {
        MonitoredTransaction {
            tx,
            meta,
            _timer: timer,
        }
    }

    /// Commits, measured as the operation `COMMIT`.
    ///
    /// # Errors
    /// As [`Transaction::commit`].
    pub async fn commit(self) -> Result<(), ::sqlx::Error> {
        let mut op = Op::start(self.meta, "COMMIT");
        let span = op.span().clone();
        let done = self.tx.commit().instrument(span).await;
        op.finish(done.as_ref().err());
        done
    }

    /// Rolls back, measured as the operation `ROLLBACK`.
    ///
    /// # Errors
    /// As [`Transaction::rollback`].
    pub async fn rollback(self) -> Result<(), ::sqlx::Error> {
        let mut op = Op::start(self.meta, "ROLLBACK");
        let span = op.span().clone();
        let done = self.tx.rollback().instrument(span).await;
        op.finish(done.as_ref().err());
        done
    }
}

impl<DB: Database> Deref for MonitoredTransaction<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.tx
    }
}

impl<DB: Database> DerefMut for MonitoredTransaction<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.tx
    }
}

impl<DB: Database> fmt::Debug for MonitoredTransaction<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitoredTransaction")
            .field("pool", &&*self.meta.pool.name)
            .finish_non_exhaustive()
    }
}
