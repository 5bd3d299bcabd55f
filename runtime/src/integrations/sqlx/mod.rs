//! Database queries and connection pools of [sqlx](https://docs.rs/sqlx) 0.9, measured
//! as OpenTelemetry's database conventions (semantic conventions v1.44.0) describe them
//! (feature `sqlx`): every query counted and timed by its summary, errors by code, rows
//! returned, pool connections and waits, a client span per query, and the recent slow
//! and failed queries.
//!
//! Wrap the pool; use it as you used the pool:
//!
//! ```
//! use flext_observability::sqlx::MonitoredPool;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sqlx::Error> {
//! let pool = MonitoredPool::new(sqlx::SqlitePool::connect("sqlite::memory:").await?)
//!     .name("orders-db");
//! sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
//!     .execute(&pool)
//!     .await?;
//! for id in 1..=3 {
//!     let sql = format!("INSERT INTO orders VALUES ({id}, {})", id * 100);
//!     sqlx::query(sqlx::AssertSqlSafe(sql))
//!         .execute(&pool)
//!         .await?;
//! }
//! let n: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE total > ?")
//!     .bind(100)
//!     .fetch_one(&pool)
//!     .await?;
//! assert_eq!(n, 2);
//!
//! let text = flext_observability::prometheus::render();
//! // Three statements with different literals: one series.
//! assert!(text.contains(concat!(
//!     r#"db_client_operation_duration_seconds_count{db_system_name="sqlite","#,
//!     r#"db_operation_name="INSERT",db_collection_name="orders","#,
//!     r#"db_query_summary="INSERT orders"} 3"#,
//! )));
//! # Ok(())
//! # }
//! ```
//!
//! `&MonitoredPool` is a `sqlx::Executor`, as `&Pool` is; [`MonitoredPool::acquire`] and
//! [`MonitoredPool::begin`] hand out a [`MonitoredConnection`] and a
//! [`MonitoredTransaction`] whose `&mut` are executors too. PostgreSQL, SQLite and MySQL
//! work the same way; nothing else is needed, no `tracing` subscriber included.
//!
//! # What you get
//!
//! | series (Prometheus) | OpenTelemetry | type | labels |
//! |---|---|---|---|
//! | `db_client_operation_duration_seconds` | `db.client.operation.duration` (stable) | histogram, buckets 1 ms … 10 s | `db_system_name`, `db_namespace`, `db_query_summary`, `db_operation_name`, `db_collection_name`, `server_address`, `server_port`, and on failures `error_type`, `db_response_status_code` |
//! | `db_client_response_returned_rows` | `db.client.response.returned_rows` (development) | histogram, buckets 1 … 10 000 | the same |
//! | `db_client_connection_count` | `db.client.connection.count` (development) | gauge | `db_client_connection_pool_name`, `db_client_connection_state` (`idle`, `used`) |
//! | `db_client_connection_max` | `db.client.connection.max` (development) | gauge | `db_client_connection_pool_name` |
//! | `db_client_connection_wait_time_seconds` | `db.client.connection.wait_time` (development) | histogram, 100 µs … 30 s | `db_client_connection_pool_name` |
//! | `db_client_connection_use_time_seconds` | `db.client.connection.use_time` (development) | histogram, 100 µs … 30 s | `db_client_connection_pool_name` |
//! | `db_client_connection_timeouts_total` | `db.client.connection.timeouts` (development) | counter | `db_client_connection_pool_name` |
//!
//! Empty labels are left out. A series appears at its first operation.
//!
//! - **Duration** runs from the call to the last row read (or the error), the wait for
//!   a pool connection included, as the conventions define a client operation; the wait
//!   alone is `db_client_connection_wait_time_seconds`. A stream dropped before its end
//!   counts as done when it had returned rows, else as `error_type="cancelled"` (a
//!   timeout, a cancelled task).
//! - **`db.query.summary`** is parsed from the statement as the conventions describe:
//!   operations and their tables in order, as written (`SELECT orders`,
//!   `INSERT shipping SELECT orders`, `CREATE TABLE t`), at most 255 characters; no
//!   literal ever reaches it, so `WHERE id = 1` and `WHERE id = 2` are one series. A
//!   statement that does not start with a known operation is `_OTHER`.
//! - **`db.operation.name` and `db.collection.name`** come from the same parse: the
//!   operation of a single statement and its table when it names exactly one. The
//!   conventions say SQL instrumentations SHOULD NOT parse these from the text (a parse
//!   can be wrong, and `db.query.summary` is the grouping key they recommend); they are
//!   given because dashboards want "by operation" and "by table", and they always equal
//!   words of the summary. Names are kept as written, without case folding, as the
//!   conventions ask: `select` and `SELECT` are different values.
//! - **`error.type`** is the database's code when it returned one (PostgreSQL's SQLSTATE
//!   such as `23505` or `42601`, SQLite's extended result code such as `2067` or `1`),
//!   equal to `db.response.status_code`; else the kind of `sqlx::Error` in snake case
//!   (`pool_timed_out`, `io`, `protocol`, `column_decode`, …), or `cancelled`.
//! - **`db.namespace`** is, for PostgreSQL and MySQL, the database named when connecting
//!   (PostgreSQL's `{database}|{schema}` form would need a query per connection to know
//!   the schema); SQLite has none unless given ([`MonitoredPool::namespace`]).
//!   `server.port` is left out when it is the default (5432, 3306).
//! - **Pool metrics** are read from the pools when collected; a pool dropped or closed
//!   leaves the gauges.
//!
//! # Bounded, whatever the statements
//!
//! Labels only ever hold the summary's words, so literal values, `IN` lists and
//! parameters add nothing; 100,000 statements that differ only in their literals are one
//! series (tested). Against statements built with varying *names* (`FROM t_{n}`), at
//! most 1,000 summaries across 64 databases get their own series, and 8 error kinds per
//! summary; beyond that they are counted under `_OTHER`, with one warning.
//!
//! # Spans
//!
//! Each query is a `tracing` span at `INFO`, target `flext_observability::sqlx`, child of
//! the span current at the call, named (`otel.name`) by its summary, of kind client,
//! with the labels above as attributes, `db.response.returned_rows`, and on failure
//! `error.type`, `db.response.status_code` and an error status. With no subscriber
//! interested it costs one atomic load. `db.query.text` is only recorded when turned on
//! ([`db_query_text`](crate::ObservabilityBuilder::db_query_text)), sanitised (literals
//! replaced by `?`); bind parameters never are. This is stricter than the conventions,
//! which collect parameterised text by default: statements built with inlined values
//! carry them, and off is the safe default.
//!
//! # Slow and failed queries
//!
//! [`recent_queries`] returns the last 64 queries that failed or took at least the
//! threshold ([`db_slow_query_threshold`](crate::ObservabilityBuilder::db_slow_query_threshold),
//! 1 s by default): summary, duration, error, trace id, and the sanitised text when
//! turned on.
//!
//! # Cost
//!
//! A statement's summary is parsed once per thread; later calls find it in a small
//! per-thread table keyed by the text's address and compared with a copy of it (no
//! lock, no hash), then add to atomics. Statements whose text is built at run time take
//! the slower path each time (a parse and a shared read lock): bind parameters instead,
//! which is also what keeps the database's statement cache useful. `BENCHMARKS.md` has
//! the numbers against bare sqlx and sqlx's own `tracing` events.
//!
//! # Not measured
//!
//! Queries through the pool itself (`&*pool`, [`MonitoredPool::pool`]), a connection
//! dereferenced to the driver's (`&mut *conn`), statements prepared explicitly
//! (`prepare`), and the rollback sqlx runs when a transaction is dropped.

// PostgreSQL, SQLite and MySQL are product names in this module's docs, not code.
#![allow(clippy::doc_markdown)]

mod builder;
mod cache;
mod connection;
mod executor;
mod keywords;
pub(crate) mod lexer;
mod op;
mod pool;
mod pool_metrics;
mod recent;
pub(crate) mod sanitize;
mod source;
mod store;
mod stream;
pub(crate) mod summary;

use std::sync::atomic::Ordering;
use std::time::Duration;

pub use connection::{MonitoredConnection, MonitoredTransaction};
pub use pool::MonitoredPool;
pub use recent::{CAPACITY as RECENT_CAPACITY, RecentQuery, recent_queries};

use builder::DbSettings;

use crate::error::Error;
use crate::integration::{IntegrationEntry, Prepared, Running, Setup, Start};
use crate::settings::{self, Policy};

inventory::submit!(IntegrationEntry { order: 30, prepare });

const SLOW_VAR: &str = "FLEXT_OBS_DB_SLOW_QUERY_THRESHOLD";
const TEXT_VAR: &str = "FLEXT_OBS_DB_QUERY_TEXT";

#[derive(Debug)]
struct Ready {
    slow: Duration,
    text: bool,
}

fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let code = setup.extensions.take::<DbSettings>();
    Ok(Some(Box::new(resolve(&code, setup.env)?)))
}

fn resolve(code: &DbSettings, env: settings::EnvLookup<'_>) -> Result<Ready, Error> {
    let env_slow = settings::read(env, SLOW_VAR, Policy::Strict, settings::duration)?;
    let env_text = settings::read(env, TEXT_VAR, Policy::Strict, settings::boolean)?;
    Ok(Ready {
        slow: code
            .slow_query_threshold
            .or(env_slow)
            .unwrap_or(Duration::from_secs(1)),
        text: code.query_text.or(env_text).unwrap_or(false),
    })
}

impl Prepared for Ready {
    fn start(self: Box<Self>, _: &mut Start) -> Result<Box<dyn Running>, Error> {
        let nanos = u64::try_from(self.slow.as_nanos()).unwrap_or(u64::MAX);
        op::SLOW_NANOS.store(nanos, Ordering::Relaxed);
        op::QUERY_TEXT.store(self.text, Ordering::Relaxed);
        Ok(Box::new(Configured))
    }
}

/// Nothing runs: the settings stay for the process.
#[derive(Debug)]
struct Configured;

impl Running for Configured {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::test_env;

    fn resolved(code: &DbSettings, env: &[(&str, &str)]) -> Result<(Duration, bool), Error> {
        let env = test_env(env);
        resolve(code, &env).map(|r| (r.slow, r.text))
    }

    #[test]
    fn settings_come_from_code_then_environment_and_bad_values_fail() {
        let none = DbSettings::default();
        assert_eq!(
            resolved(&none, &[]).unwrap(),
            (Duration::from_secs(1), false)
        );
        let env = [(SLOW_VAR, "250ms"), (TEXT_VAR, "true")];
        assert_eq!(
            resolved(&none, &env).unwrap(),
            (Duration::from_millis(250), true)
        );
        let code = DbSettings {
            slow_query_threshold: Some(Duration::from_secs(3)),
            query_text: Some(false),
        };
        assert_eq!(
            resolved(&code, &env).unwrap(),
            (Duration::from_secs(3), false)
        );
        for (var, bad) in [(SLOW_VAR, "soon"), (TEXT_VAR, "yes")] {
            let err = resolved(&none, &[(var, bad)]).expect_err("a bad value fails");
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
