//! Connection-pool metrics: what each named pool records (waits, use, timeouts), and the
//! live pools whose connection counts are read at collection time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, Weak};

use super::store::Hist;
use super::summary::OTHER;
use crate::clock;

/// Pool names with their own series; more share `_OTHER`.
pub(crate) const MAX_POOLS: usize = 64;

/// Wait and use-time buckets, seconds (the conventions give no advice): from 100 µs,
/// an idle connection handed out, to 30 s, sqlx's default acquire timeout.
pub(crate) const TIME_BOUNDS: [f64; 12] = [
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0,
];
const TIME_NANOS: [u64; 12] = [
    100_000,
    500_000,
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
];

/// What one pool name records.
#[derive(Debug)]
pub(crate) struct PoolMetrics {
    pub(crate) name: Box<str>,
    /// `db.client.connection.wait_time`: from asking the pool to holding a connection.
    pub(crate) wait: Hist<13>,
    /// `db.client.connection.use_time`: from getting a connection to giving it back.
    pub(crate) use_time: Hist<13>,
    /// `db.client.connection.timeouts`: acquisitions that gave up.
    pub(crate) timeouts: AtomicU64,
}

impl PoolMetrics {
    #[inline]
    pub(crate) fn waited(&self, start: u64, end: u64) {
        self.wait
            .record(&TIME_NANOS, clock::nanos_between(start, end));
    }

    #[inline]
    pub(crate) fn used(&self, start: u64, end: u64) {
        self.use_time
            .record(&TIME_NANOS, clock::nanos_between(start, end));
    }

    pub(crate) fn timed_out(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }
}

static POOLS: Mutex<Vec<&'static PoolMetrics>> = Mutex::new(Vec::new());

/// The metrics of the pool named `name`, interned.
pub(crate) fn pool_metrics(name: &str) -> &'static PoolMetrics {
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(p) = pools.iter().find(|p| &*p.name == name) {
        return p;
    }
    let name = if pools.len() >= MAX_POOLS {
        crate::diag::warn_once(
            "sqlx-pools",
            &format!(
                "more than {MAX_POOLS} connection pools are monitored: the others are counted under db.client.connection.pool.name=\"_OTHER\""
            ),
        );
        if let Some(p) = pools.iter().find(|p| &*p.name == OTHER) {
            return p;
        }
        OTHER
    } else {
        name
    };
    let p: &'static PoolMetrics = Box::leak(Box::new(PoolMetrics {
        name: name.into(),
        wait: Hist::new(),
        use_time: Hist::new(),
        timeouts: AtomicU64::new(0),
    }));
    pools.push(p);
    p
}

/// Every pool name seen, in order.
pub(crate) fn all_pools() -> Vec<&'static PoolMetrics> {
    POOLS.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Connection counts of a live pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) idle: u64,
    pub(crate) used: u64,
    pub(crate) max: u64,
}

/// A monitored pool, read at collection time.
pub(crate) trait LivePool: Send + Sync {
    /// `None` once the pool is closed.
    fn counts(&self) -> Option<Counts>;
    fn metrics(&self) -> &'static PoolMetrics;
}

static LIVE: Mutex<Vec<Weak<dyn LivePool>>> = Mutex::new(Vec::new());

/// Adds a pool to those read at collection time, until its last handle is dropped.
pub(crate) fn register_live(pool: Weak<dyn LivePool>) {
    let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    live.retain(|p| p.strong_count() > 0);
    live.push(pool);
}

/// The connection counts of every open pool, summed by pool name.
pub(crate) fn live_counts() -> Vec<(&'static PoolMetrics, Counts)> {
    let pools: Vec<_> = {
        let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|p| p.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
    };
    let mut out: Vec<(&'static PoolMetrics, Counts)> = Vec::new();
    for pool in pools {
        let Some(c) = pool.counts() else { continue };
        let metrics = pool.metrics();
        match out.iter_mut().find(|(m, _)| std::ptr::eq(*m, metrics)) {
            Some((_, sum)) => {
                sum.idle += c.idle;
                sum.used += c.used;
                sum.max += c.max;
            }
            None => out.push((metrics, c)),
        }
    }
    out
}
