//! The database ends of the `etl_pipeline` example: a tap that reads the orders from a
//! SQLite file (seeded with the generated orders on first use) and a target that
//! upserts them into PostgreSQL in one transaction. Both go through
//! [`MonitoredPool`], so every query is counted in `db_client_operation_duration_seconds`
//! (by `db_system_name` and `db_query_summary`) next to the pipeline's own metrics, and
//! pushed with them.
//!
//! The pipeline is synchronous (a batch job): both hold a Tokio runtime handle and block
//! on each query, from the job's thread.

// SQLite and PostgreSQL are product names here, not code.
#![allow(clippy::doc_markdown)]

use std::path::Path;

use flext_observability::sqlx::{MonitoredPool, MonitoredTransaction};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Postgres, Row as _};
use tokio::runtime::Runtime;

use crate::etl::{Message, Order, OrdersTap, PipelineError, Tap, Target};

/// Reads orders from a SQLite file.
#[derive(Debug)]
pub struct SqliteTap {
    orders: std::vec::IntoIter<Order>,
    next: u64,
    fail_at: Option<u64>,
    schema_sent: bool,
    last_id: Option<u64>,
    done: bool,
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uint(row: &sqlx::sqlite::SqliteRow, column: &str) -> Result<u64, sqlx::Error> {
    let v: i64 = row.try_get(column)?;
    u64::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

impl SqliteTap {
    /// Opens (creating it if needed) the SQLite file at `path`, makes it hold exactly the
    /// first `rows` generated orders, and reads them. With `fail_at`, the source fails
    /// when it reaches that row.
    ///
    /// # Errors
    /// When the file cannot be created, written or read.
    pub fn open(
        rt: &Runtime,
        path: &Path,
        rows: u64,
        fail_at: Option<u64>,
    ) -> Result<SqliteTap, sqlx::Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let orders = rt.block_on(async {
            let options = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true);
            let pool = MonitoredPool::new(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(options)
                    .await?,
            )
            .name("source")
            .namespace("orders");
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, \
                 email TEXT, quantity INTEGER NOT NULL, unit_price_cents INTEGER NOT NULL, \
                 total_cents INTEGER NOT NULL)",
            )
            .execute(&pool)
            .await?;
            let have: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
                .fetch_one(&pool)
                .await?;
            if have != int(rows) {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM orders").execute(&mut tx).await?;
                for i in 0..rows {
                    let o = OrdersTap::order(i);
                    sqlx::query(
                        "INSERT INTO orders (id, customer, email, quantity, unit_price_cents, total_cents) \
                         VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(int(o.id))
                    .bind(int(o.customer))
                    .bind(o.email)
                    .bind(o.quantity)
                    .bind(int(o.unit_price_cents))
                    .bind(int(o.total_cents))
                    .execute(&mut tx)
                    .await?;
                }
                tx.commit().await?;
            }
            let read = sqlx::query(
                "SELECT id, customer, email, quantity, unit_price_cents, total_cents FROM orders ORDER BY id",
            )
            .fetch_all(&pool)
            .await?;
            let orders = read
                .iter()
                .map(|row| {
                    Ok(Order {
                        id: uint(row, "id")?,
                        customer: uint(row, "customer")?,
                        email: row.try_get("email")?,
                        quantity: row.try_get("quantity")?,
                        unit_price_cents: uint(row, "unit_price_cents")?,
                        total_cents: uint(row, "total_cents")?,
                    })
                })
                .collect::<Result<Vec<Order>, sqlx::Error>>()?;
            pool.close().await;
            Ok::<_, sqlx::Error>(orders)
        })?;
        Ok(SqliteTap {
            orders: orders.into_iter(),
            next: 0,
            fail_at,
            schema_sent: false,
            last_id: None,
            done: false,
        })
    }
}

impl Tap for SqliteTap {
    fn name(&self) -> &'static str {
        "tap-sqlite"
    }

    fn next_message(&mut self) -> Option<Result<Message, PipelineError>> {
        if !self.schema_sent {
            self.schema_sent = true;
            return Some(Ok(Message::Schema {
                stream: "orders".into(),
                required: vec!["id", "customer", "email"],
            }));
        }
        if self.fail_at == Some(self.next) {
            return Some(Err(PipelineError::Source(format!(
                "connection reset while reading row {}",
                self.next
            ))));
        }
        match self.orders.next() {
            Some(record) => {
                self.next += 1;
                self.last_id = Some(record.id);
                Some(Ok(Message::Record {
                    stream: "orders".into(),
                    record,
                }))
            }
            None if !self.done => {
                self.done = true;
                self.last_id.map(|last_id| Ok(Message::State { last_id }))
            }
            None => None,
        }
    }
}

const UPSERT: &str = "INSERT INTO etl_orders (id, customer, email, quantity, unit_price_cents, total_cents) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET customer = EXCLUDED.customer, \
     email = EXCLUDED.email, quantity = EXCLUDED.quantity, \
     unit_price_cents = EXCLUDED.unit_price_cents, total_cents = EXCLUDED.total_cents";

/// Upserts the accepted orders into PostgreSQL's `etl_orders`, in one transaction
/// committed by [`Target::finish`].
pub struct PostgresTarget<'r> {
    rt: &'r Runtime,
    pool: MonitoredPool<Postgres>,
    tx: Option<MonitoredTransaction<'static, Postgres>>,
    error: Option<String>,
}

impl std::fmt::Debug for PostgresTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTarget")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl<'r> PostgresTarget<'r> {
    /// Connects to `url` (`DATABASE_URL`), creates `etl_orders` if needed and begins the
    /// transaction.
    ///
    /// # Errors
    /// When PostgreSQL cannot be reached or refuses.
    pub fn open(rt: &'r Runtime, url: &str) -> Result<PostgresTarget<'r>, sqlx::Error> {
        rt.block_on(async {
            let pool = MonitoredPool::new(
                PgPoolOptions::new()
                    .max_connections(2)
                    .connect(url)
                    .await?,
            )
            .name("warehouse");
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS etl_orders (id BIGINT PRIMARY KEY, customer BIGINT NOT NULL, \
                 email TEXT, quantity INT NOT NULL, unit_price_cents BIGINT NOT NULL, \
                 total_cents BIGINT NOT NULL)",
            )
            .execute(&pool)
            .await?;
            let tx = pool.begin().await?;
            Ok(PostgresTarget {
                rt,
                pool,
                tx: Some(tx),
                error: None,
            })
        })
    }
}

impl Target for PostgresTarget<'_> {
    fn name(&self) -> &'static str {
        "target-postgres"
    }

    fn write(&mut self, record: Order) {
        let (Some(tx), None) = (self.tx.as_mut(), &self.error) else {
            return;
        };
        let written = self.rt.block_on(
            sqlx::query(UPSERT)
                .bind(int(record.id))
                .bind(int(record.customer))
                .bind(record.email)
                .bind(i32::try_from(record.quantity).unwrap_or(i32::MAX))
                .bind(int(record.unit_price_cents))
                .bind(int(record.total_cents))
                .execute(tx),
        );
        if let Err(e) = written {
            self.error = Some(e.to_string());
        }
    }

    fn finish(&mut self) -> Result<(), PipelineError> {
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        if let Some(error) = self.error.take() {
            let _ = self.rt.block_on(tx.rollback());
            return Err(PipelineError::Target(error));
        }
        self.rt
            .block_on(tx.commit())
            .map_err(|e| PipelineError::Target(e.to_string()))
    }
}
