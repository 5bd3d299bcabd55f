//! [`MonitoredPool`]: a `sqlx::Pool` whose queries, connections and waits are measured.

use std::fmt;
use std::ops::Deref;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Weak};

use ::sqlx::{ConnectOptions, Database, Pool, Transaction};
use tracing::Instrument;

use super::connection::{MonitoredConnection, MonitoredTransaction, UseTimer};
use super::op::{Meta, Op};
use super::pool_metrics::{Counts, LivePool, PoolMetrics, pool_metrics, register_live};
use super::store::target;
use crate::clock;

/// A [`sqlx::Pool`](::sqlx::Pool) whose queries are counted and timed by query summary,
/// and whose connections, waits and timeouts are watched. Use it where you used the pool:
/// `&MonitoredPool` is an [`Executor`](::sqlx::Executor), and [`acquire`](Self::acquire)
/// and [`begin`](Self::begin) return a monitored connection and transaction.
///
/// ```no_run
/// # async fn run() -> Result<(), sqlx::Error> {
/// use flext_observability::sqlx::MonitoredPool;
///
/// let pool = MonitoredPool::new(sqlx::SqlitePool::connect("sqlite::memory:").await?)
///     .name("cache");
/// sqlx::query("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)").execute(&pool).await?;
/// sqlx::query("INSERT INTO kv VALUES (?, ?)").bind("a").bind("1").execute(&pool).await?;
///
/// let mut tx = pool.begin().await?;
/// sqlx::query("UPDATE kv SET v = ? WHERE k = ?").bind("2").bind("a").execute(&mut tx).await?;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
///
/// The database's labels come from the pool's connect options: `db.system.name`
/// (`postgresql`, `mysql`, `sqlite`), and for PostgreSQL and MySQL `db.namespace` (the
/// database named at connect time; the conventions' schema part is not read, as that
/// would take a query), `server.address` and `server.port` (when not the default).
/// SQLite has no namespace unless you give one ([`namespace`](Self::namespace)).
///
/// The pool's name (`db.client.connection.pool.name`) is, unless you give one
/// ([`name`](Self::name)), `server.address:server.port/db.namespace` as the conventions
/// suggest, else the namespace, else the system. Pools that share a name share their
/// series (their connection counts are summed).
///
/// Going through the pool itself (`&*pool`, [`pool()`](Self::pool)) is not measured.
pub struct MonitoredPool<DB: Database> {
    inner: Arc<Inner<DB>>,
}

pub(crate) struct Inner<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) meta: Meta,
    naming: Naming,
}

/// The labels a pool's queries get, before interning.
#[derive(Clone, Debug)]
struct Naming {
    system: String,
    namespace: Option<String>,
    address: Option<String>,
    /// The port, and whether it is the system's default.
    port: Option<(u16, bool)>,
    name: Option<String>,
}

impl<DB: Database> MonitoredPool<DB> {
    /// Monitors `pool`, naming it from its connect options.
    pub fn new(pool: Pool<DB>) -> Self {
        let naming = detect(&pool);
        Self::with(pool, naming)
    }

    /// Names the pool (`db.client.connection.pool.name`): unique in the application,
    /// low cardinality.
    #[must_use]
    pub fn name(self, name: impl Into<String>) -> Self {
        let mut naming = self.inner.naming.clone();
        naming.name = Some(name.into());
        Self::with(self.inner.pool.clone(), naming)
    }

    /// Sets `db.namespace` (the database name) where the connect options do not say it
    /// (SQLite), or overrides it.
    #[must_use]
    pub fn namespace(self, namespace: impl Into<String>) -> Self {
        let mut naming = self.inner.naming.clone();
        naming.namespace = Some(namespace.into());
        Self::with(self.inner.pool.clone(), naming)
    }

    fn with(pool: Pool<DB>, naming: Naming) -> Self {
        let port = naming.port.filter(|&(_, default)| !default).map(|(p, _)| p);
        let target = target(
            &naming.system,
            naming.namespace.as_deref(),
            naming.address.as_deref(),
            port,
        );
        let name = naming.name.clone().unwrap_or_else(|| {
            match (&naming.address, naming.port, &naming.namespace) {
                (Some(addr), Some((port, _)), ns) => {
                    format!("{addr}:{port}/{}", ns.as_deref().unwrap_or(""))
                }
                (_, _, Some(ns)) => ns.clone(),
                _ => naming.system.clone(),
            }
        });
        let inner = Arc::new(Inner {
            pool,
            meta: Meta {
                target,
                pool: pool_metrics(&name),
            },
            naming,
        });
        let weak: Weak<Inner<DB>> = Arc::downgrade(&inner);
        register_live(weak);
        MonitoredPool { inner }
    }

    pub(crate) fn inner(&self) -> &Inner<DB> {
        &self.inner
    }

    pub(crate) fn meta(&self) -> Meta {
        self.inner.meta
    }

    /// The pool, unmonitored.
    pub fn pool(&self) -> &Pool<DB> {
        &self.inner.pool
    }

    /// A connection from the pool, the wait measured; queries on `&mut` it are measured,
    /// and the time it is held counts in `db.client.connection.use_time`.
    ///
    /// # Errors
    /// As [`Pool::acquire`]; a timeout also counts in `db.client.connection.timeouts`.
    pub async fn acquire(&self) -> Result<MonitoredConnection<DB>, ::sqlx::Error> {
        self.inner.acquire().await
    }

    /// Starts a transaction on a connection from the pool; `BEGIN`, `COMMIT` and
    /// `ROLLBACK` are measured as operations of their own.
    ///
    /// # Errors
    /// As [`Pool::begin`].
    pub async fn begin(&self) -> Result<MonitoredTransaction<'static, DB>, ::sqlx::Error> {
        let mut op = Op::start(self.inner.meta, "BEGIN");
        let span = op.span().clone();
        let begun = async {
            let conn = self.inner.acquire().await?;
            let (conn, meta, timer) = conn.into_parts();
            let tx = Transaction::begin(conn, None).await?;
            Ok(MonitoredTransaction::new(tx, meta, Some(timer)))
        }
        .instrument(span)
        .await;
        op.finish(begun.as_ref().err());
        begun
    }
}

impl<DB: Database> Inner<DB> {
    pub(crate) async fn acquire(&self) -> Result<MonitoredConnection<DB>, ::sqlx::Error> {
        self.acquire_from(clock::raw()).await
    }

    /// A connection, the wait counted from `start` (raw clock, already read).
    pub(crate) async fn acquire_from(
        &self,
        start: u64,
    ) -> Result<MonitoredConnection<DB>, ::sqlx::Error> {
        let metrics = self.meta.pool;
        match self.pool.acquire().await {
            Ok(conn) => {
                let now = clock::raw();
                metrics.waited(start, now);
                Ok(MonitoredConnection::new(
                    conn,
                    self.meta,
                    UseTimer::since(metrics, now),
                ))
            }
            Err(e) => {
                if matches!(e, ::sqlx::Error::PoolTimedOut) {
                    metrics.timed_out();
                }
                Err(e)
            }
        }
    }
}

impl<DB: Database> LivePool for Inner<DB> {
    fn counts(&self) -> Option<Counts> {
        if self.pool.is_closed() {
            return None;
        }
        let size = u64::from(self.pool.size());
        let idle = self.pool.num_idle() as u64;
        Some(Counts {
            idle,
            used: size.saturating_sub(idle),
            max: u64::from(self.pool.options().get_max_connections()),
        })
    }

    fn metrics(&self) -> &'static PoolMetrics {
        self.meta.pool
    }
}

impl<DB: Database> Clone for MonitoredPool<DB> {
    fn clone(&self) -> Self {
        MonitoredPool {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<DB: Database> Deref for MonitoredPool<DB> {
    type Target = Pool<DB>;

    /// The pool, for its own methods (`close`, `size`, …); queries through it are not
    /// measured.
    fn deref(&self) -> &Pool<DB> {
        &self.inner.pool
    }
}

impl<DB: Database> fmt::Debug for MonitoredPool<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.inner.meta.target;
        f.debug_struct("MonitoredPool")
            .field("name", &&*self.inner.meta.pool.name)
            .field("system", &&*target.system)
            .field("namespace", &target.namespace)
            .field("pool", &self.inner.pool)
            .finish()
    }
}

/// The labels of a pool's database, from its connect options. The URL carries the
/// password: only host, port and path are read from it, and it is never shown.
fn detect<DB: Database>(pool: &Pool<DB>) -> Naming {
    let (system, default_port) = match DB::NAME {
        "PostgreSQL" => ("postgresql".to_owned(), Some(5432)),
        "MySQL" => ("mysql".to_owned(), Some(3306)),
        "SQLite" => ("sqlite".to_owned(), None),
        "Any" => ("other_sql".to_owned(), None),
        other => (other.to_ascii_lowercase(), None),
    };
    let mut naming = Naming {
        system,
        namespace: None,
        address: None,
        port: None,
        name: None,
    };
    if default_port.is_none() {
        // SQLite's URL is not a network address (and is not always a valid URL).
        return naming;
    }
    let options = pool.connect_options();
    // `to_url_lossy` panics in drivers that do not implement it.
    let Ok(url) = std::panic::catch_unwind(AssertUnwindSafe(|| options.to_url_lossy())) else {
        return naming;
    };
    let decoded = |s: &str| Some(crate::percent::decode_lossy(s)).filter(|s| !s.is_empty());
    naming.address = url.host_str().and_then(decoded);
    naming.port = url.port().map(|p| (p, Some(p) == default_port));
    naming.namespace = decoded(url.path().trim_start_matches('/'));
    naming
}
