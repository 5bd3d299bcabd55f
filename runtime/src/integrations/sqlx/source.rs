//! The database families on every exporter, named as the OpenTelemetry → Prometheus
//! translation names semantic conventions v1.44.0's metrics.

use std::borrow::Cow;

use super::pool_metrics::{Counts, PoolMetrics, TIME_BOUNDS, all_pools, live_counts};
use super::store::{Cells, DURATION_BOUNDS, ROWS_BOUNDS, Series, all_cells};
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, HistogramValue, MetricType, Value};

pub(crate) const DURATION: &str = "db_client_operation_duration_seconds";
pub(crate) const ROWS: &str = "db_client_response_returned_rows";
pub(crate) const COUNT: &str = "db_client_connection_count";
pub(crate) const MAX: &str = "db_client_connection_max";
pub(crate) const WAIT: &str = "db_client_connection_wait_time_seconds";
pub(crate) const USE: &str = "db_client_connection_use_time_seconds";
pub(crate) const TIMEOUTS: &str = "db_client_connection_timeouts_total";

struct DbSource;

inventory::submit!(SourceEntry::new(110, &DbSource));

type Read<const B: usize> = ([u64; B], u64);

/// One series of a summary, read.
struct Row {
    cells: &'static Cells,
    error: Option<(&'static str, Option<&'static str>)>,
    duration: Read<10>,
    rows: Read<14>,
}

struct PoolRow {
    metrics: &'static PoolMetrics,
    wait: Read<13>,
    used: Read<13>,
    timeouts: u64,
}

struct View {
    rows: Vec<Row>,
    pools: Vec<PoolRow>,
    live: Vec<(&'static PoolMetrics, Counts)>,
}

impl Source for DbSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let mut rows = Vec::new();
        for cells in all_cells() {
            let mut push = |error, series: &Series| {
                let duration = series.duration.read();
                if duration.0.iter().any(|&n| n > 0) {
                    rows.push(Row {
                        cells,
                        error,
                        duration,
                        rows: series.rows.read(),
                    });
                }
            };
            push(None, &cells.ok);
            for (kind, code, series) in cells.errors() {
                push(Some((kind, code)), series);
            }
        }
        let pools = all_pools()
            .into_iter()
            .map(|metrics| PoolRow {
                metrics,
                wait: metrics.wait.read(),
                used: metrics.use_time.read(),
                timeouts: metrics.timeouts.load(std::sync::atomic::Ordering::Relaxed),
            })
            .collect();
        Box::new(View {
            rows,
            pools,
            live: live_counts(),
        })
    }
}

fn family(
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    seconds: bool,
) -> FamilyDesc<'static> {
    FamilyDesc {
        name: Cow::Borrowed(name),
        help: Cow::Borrowed(help),
        kind,
        unit: seconds.then_some(Cow::Borrowed("seconds")),
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        let mut out = Vec::new();
        if !self.rows.is_empty() {
            out.push(family(
                DURATION,
                "Duration of database client operations, by query summary; failed ones carry error_type (OpenTelemetry db.client.operation.duration).",
                MetricType::Histogram,
                true,
            ));
            out.push(family(
                ROWS,
                "Rows returned by database client operations (OpenTelemetry db.client.response.returned_rows).",
                MetricType::Histogram,
                false,
            ));
        }
        if !self.live.is_empty() {
            out.push(family(
                COUNT,
                "Connections of the pool, by state: idle or used (OpenTelemetry db.client.connection.count).",
                MetricType::Gauge,
                false,
            ));
            out.push(family(
                MAX,
                "Most connections the pool may open (OpenTelemetry db.client.connection.max).",
                MetricType::Gauge,
                false,
            ));
        }
        if !self.pools.is_empty() {
            out.push(family(
                WAIT,
                "Time it took to obtain a connection from the pool (OpenTelemetry db.client.connection.wait_time).",
                MetricType::Histogram,
                true,
            ));
            out.push(family(
                USE,
                "Time between borrowing a connection and returning it to the pool (OpenTelemetry db.client.connection.use_time).",
                MetricType::Histogram,
                true,
            ));
            out.push(family(
                TIMEOUTS,
                "Attempts to obtain a connection from the pool that timed out (OpenTelemetry db.client.connection.timeouts).",
                MetricType::Counter,
                false,
            ));
        }
        out
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        match family {
            DURATION | ROWS => {
                for row in &self.rows {
                    let c = row.cells;
                    let t = c.target;
                    let (error_type, code) = row.error.unwrap_or(("", None));
                    let labels = [
                        ("db_system_name", &*t.system),
                        ("db_namespace", t.namespace.as_deref().unwrap_or("")),
                        ("db_operation_name", c.operation.as_deref().unwrap_or("")),
                        ("db_collection_name", c.collection.as_deref().unwrap_or("")),
                        ("db_query_summary", &*c.summary),
                        ("server_address", t.address.as_deref().unwrap_or("")),
                        ("server_port", t.port.as_deref().unwrap_or("")),
                        ("error_type", error_type),
                        ("db_response_status_code", code.unwrap_or("")),
                    ];
                    let value = if family == DURATION {
                        HistogramValue {
                            bounds: &DURATION_BOUNDS,
                            counts: &row.duration.0,
                            sum: row.duration.1 as f64 / 1e9,
                        }
                    } else {
                        HistogramValue {
                            bounds: &ROWS_BOUNDS,
                            counts: &row.rows.0,
                            sum: row.rows.1 as f64,
                        }
                    };
                    out.histogram(&labels, &value);
                }
            }
            COUNT => {
                for (metrics, counts) in &self.live {
                    for (state, n) in [("idle", counts.idle), ("used", counts.used)] {
                        out.gauge(
                            &[
                                ("db_client_connection_pool_name", &metrics.name),
                                ("db_client_connection_state", state),
                            ],
                            Value::Int(n),
                        );
                    }
                }
            }
            MAX => {
                for (metrics, counts) in &self.live {
                    out.gauge(
                        &[("db_client_connection_pool_name", &metrics.name)],
                        Value::Int(counts.max),
                    );
                }
            }
            WAIT | USE => {
                for pool in &self.pools {
                    let (counts, sum) = if family == WAIT {
                        &pool.wait
                    } else {
                        &pool.used
                    };
                    out.histogram(
                        &[("db_client_connection_pool_name", &pool.metrics.name)],
                        &HistogramValue {
                            bounds: &TIME_BOUNDS,
                            counts,
                            sum: *sum as f64 / 1e9,
                        },
                    );
                }
            }
            TIMEOUTS => {
                for pool in &self.pools {
                    out.counter(
                        &[("db_client_connection_pool_name", &pool.metrics.name)],
                        Value::Int(pool.timeouts),
                    );
                }
            }
            _ => {}
        }
    }
}
