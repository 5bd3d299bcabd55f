//! Where query metrics live: one [`Cells`] per (database, query summary), interned once
//! and never freed, each with its own atomics. A query records into cells it already
//! holds (found through the statement cache), so the hot path is relaxed atomic adds.
//!
//! Everything interned here is bounded: at most [`MAX_TARGETS`] databases and
//! [`MAX_CELLS`] summaries across them (more share the database's `_OTHER` summary), and
//! [`MAX_ERRORS`] error kinds per summary (more share `error.type="_OTHER"`). So no
//! amount of distinct statement text can add series or memory beyond these.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};

use super::lexer::Dialect;
use super::summary::{OTHER, Summary, summarize};

/// Databases (system, namespace, server) with their own series.
pub(crate) const MAX_TARGETS: usize = 64;
/// Query summaries across all databases.
pub(crate) const MAX_CELLS: usize = 1000;
/// Error kinds per summary.
pub(crate) const MAX_ERRORS: usize = 8;

/// `db.client.operation.duration` buckets, seconds: the conventions' advice.
pub(crate) const DURATION_BOUNDS: [f64; 9] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];
const DURATION_NANOS: [u64; 9] = [
    1_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
    10_000_000_000,
];
/// `db.client.response.returned_rows` buckets: the conventions' advice.
pub(crate) const ROWS_BOUNDS: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0,
];
const ROWS: [u64; 13] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/// A histogram of `B` buckets (the last one above every bound), summed in the unit it
/// counts (nanoseconds, rows).
#[derive(Debug)]
pub(crate) struct Hist<const B: usize> {
    counts: [AtomicU64; B],
    sum: AtomicU64,
}

impl<const B: usize> Hist<B> {
    pub(crate) const fn new() -> Self {
        Hist {
            counts: [const { AtomicU64::new(0) }; B],
            sum: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn record(&self, bounds: &[u64], value: u64) {
        let bucket = bounds.iter().position(|&b| value <= b).unwrap_or(B - 1);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Per-bucket counts and the sum.
    pub(crate) fn read(&self) -> ([u64; B], u64) {
        (
            self.counts.each_ref().map(|c| c.load(Ordering::Relaxed)),
            self.sum.load(Ordering::Relaxed),
        )
    }
}

/// The two histograms of one series.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) duration: Hist<10>,
    pub(crate) rows: Hist<14>,
}

impl Series {
    const fn new() -> Self {
        Series {
            duration: Hist::new(),
            rows: Hist::new(),
        }
    }

    #[inline]
    pub(crate) fn record(&self, nanos: u64, rows: u64) {
        self.duration.record(&DURATION_NANOS, nanos);
        self.rows.record(&ROWS, rows);
    }
}

/// A database as the labels name it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) id: u32,
    /// `db.system.name`: `postgresql`, `sqlite`, `mysql`, …
    pub(crate) system: Box<str>,
    pub(crate) namespace: Option<Box<str>>,
    pub(crate) address: Option<Box<str>>,
    /// `server.port`, only when not the system's default port.
    pub(crate) port: Option<Box<str>>,
    pub(crate) port_number: Option<u16>,
    pub(crate) dialect: Dialect,
}

/// One error kind of a summary.
#[derive(Debug)]
pub(crate) struct ErrorSeries {
    pub(crate) error_type: Box<str>,
    pub(crate) status_code: Option<Box<str>>,
    pub(crate) series: Series,
}

/// Everything recorded for one query summary on one database.
#[derive(Debug)]
pub(crate) struct Cells {
    pub(crate) target: &'static Target,
    pub(crate) summary: Box<str>,
    pub(crate) operation: Option<Box<str>>,
    pub(crate) collection: Option<Box<str>>,
    pub(crate) ok: Series,
    errors: [OnceLock<Box<ErrorSeries>>; MAX_ERRORS],
    other_error: Series,
}

impl Cells {
    fn new(target: &'static Target, summary: Summary) -> Cells {
        Cells {
            target,
            summary: summary.text.into(),
            operation: summary.operation.map(Into::into),
            collection: summary.collection.map(Into::into),
            ok: Series::new(),
            errors: [const { OnceLock::new() }; MAX_ERRORS],
            other_error: Series::new(),
        }
    }

    /// The series of an error kind: its slot, a free slot, or `_OTHER`. Lock-free: two
    /// threads racing for one free slot both see the winner's kind and the loser moves on.
    pub(crate) fn error(&self, error_type: &str, status_code: Option<&str>) -> &Series {
        for slot in &self.errors {
            let e = slot.get_or_init(|| {
                Box::new(ErrorSeries {
                    error_type: error_type.into(),
                    status_code: status_code.map(Into::into),
                    series: Series::new(),
                })
            });
            if &*e.error_type == error_type && e.status_code.as_deref() == status_code {
                return &e.series;
            }
        }
        &self.other_error
    }

    /// The error kinds recorded so far, `_OTHER` last.
    pub(crate) fn errors(&self) -> impl Iterator<Item = (&str, Option<&str>, &Series)> {
        self.errors
            .iter()
            .filter_map(|s| s.get())
            .map(|e| (&*e.error_type, e.status_code.as_deref(), &e.series))
            .chain(std::iter::once((OTHER, None, &self.other_error)))
    }
}

struct Registry {
    targets: Vec<&'static Target>,
    cells: Vec<&'static Cells>,
    /// Per target id: summary -> cells.
    by_key: Vec<HashMap<Box<str>, &'static Cells>>,
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| {
    RwLock::new(Registry {
        targets: Vec::new(),
        cells: Vec::new(),
        by_key: Vec::new(),
    })
});

fn read() -> std::sync::RwLockReadGuard<'static, Registry> {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner)
}

fn write() -> std::sync::RwLockWriteGuard<'static, Registry> {
    REGISTRY.write().unwrap_or_else(PoisonError::into_inner)
}

/// The target with these labels, interned (the first [`MAX_TARGETS`]; then one
/// `_OTHER` namespace per system).
pub(crate) fn target(
    system: &str,
    namespace: Option<&str>,
    address: Option<&str>,
    port: Option<u16>,
) -> &'static Target {
    let mut reg = write();
    let same = |t: &Target, ns: Option<&str>, addr: Option<&str>, port: Option<u16>| {
        &*t.system == system
            && t.namespace.as_deref() == ns
            && t.address.as_deref() == addr
            && t.port_number == port
    };
    if let Some(t) = reg
        .targets
        .iter()
        .find(|t| same(t, namespace, address, port))
    {
        return t;
    }
    let (namespace, address, port) = if reg.targets.len() >= MAX_TARGETS {
        crate::diag::warn_once(
            "sqlx-targets",
            &format!(
                "more than {MAX_TARGETS} databases are monitored: queries of the others are counted under db.namespace=\"_OTHER\""
            ),
        );
        if let Some(t) = reg
            .targets
            .iter()
            .find(|t| same(t, Some(OTHER), None, None))
        {
            return t;
        }
        (Some(OTHER), None, None)
    } else {
        (namespace, address, port)
    };
    let t: &'static Target = Box::leak(Box::new(Target {
        id: u32::try_from(reg.targets.len()).unwrap_or(u32::MAX),
        system: system.into(),
        namespace: namespace.map(Into::into),
        address: address.map(Into::into),
        port: port.map(|p| p.to_string().into()),
        port_number: port,
        dialect: Dialect::of(system),
    }));
    reg.targets.push(t);
    reg.by_key.push(HashMap::new());
    t
}

/// The cells of `sql` on `target`: its summary's, interned on first sight. Parses the
/// statement; callers go through the statement cache first.
pub(crate) fn cells_for(target: &'static Target, sql: &str) -> &'static Cells {
    let summary = summarize(sql, target.dialect);
    cells_of(target, summary)
}

fn cells_of(target: &'static Target, summary: Summary) -> &'static Cells {
    let id = target.id as usize;
    if let Some(c) = read().by_key[id].get(summary.text.as_str()) {
        return c;
    }
    let mut reg = write();
    if let Some(c) = reg.by_key[id].get(summary.text.as_str()) {
        return c;
    }
    if reg.cells.len() >= MAX_CELLS && summary.text != OTHER {
        crate::diag::warn_once(
            "sqlx-cells",
            &format!(
                "more than {MAX_CELLS} distinct query summaries: the others are counted under db.query.summary=\"_OTHER\""
            ),
        );
        drop(reg);
        return cells_of(target, Summary::other());
    }
    let key = Box::<str>::from(summary.text.as_str());
    let c: &'static Cells = Box::leak(Box::new(Cells::new(target, summary)));
    reg.cells.push(c);
    reg.by_key[id].insert(key, c);
    c
}

/// Every cell, in the order they were interned.
pub(crate) fn all_cells() -> Vec<&'static Cells> {
    read().cells.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_bucket_by_upper_bound() {
        let s = Series::new();
        s.record(1_000_000, 0); // exactly 1 ms: the first bucket
        s.record(1_000_001, 1);
        s.record(20_000_000_000, 20_000);
        let (counts, sum) = s.duration.read();
        assert_eq!(counts, [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(sum, 20_002_000_001);
        let (rows, total) = s.rows.read();
        assert_eq!(&rows[..2], &[2, 0]);
        assert_eq!(rows[13], 1);
        assert_eq!(total, 20_001);
    }

    #[test]
    fn errors_get_a_slot_each_then_share_other() {
        let t = target("postgresql", Some("errors_test"), None, None);
        let c = cells_for(t, "SELECT 1 FROM error_slots");
        for i in 0..MAX_ERRORS + 3 {
            c.error(&format!("E{i}"), Some("x")).record(1, 0);
        }
        c.error("E0", Some("x")).record(1, 0);
        let kinds: Vec<(String, u64)> = c
            .errors()
            .map(|(t, _, s)| (t.to_owned(), s.duration.read().0.iter().sum()))
            .collect();
        assert_eq!(kinds.len(), MAX_ERRORS + 1);
        assert_eq!(kinds[0], ("E0".to_owned(), 2));
        assert_eq!(kinds[MAX_ERRORS], (OTHER.to_owned(), 3));
    }

    #[test]
    fn the_same_summary_is_one_cell_and_targets_are_interned() {
        let t = target("sqlite", Some("intern_test"), None, None);
        assert!(std::ptr::eq(
            t,
            target("sqlite", Some("intern_test"), None, None)
        ));
        let a = cells_for(t, "SELECT * FROM interned WHERE id = 1");
        let b = cells_for(t, "select * from interned where id = 2");
        let c = cells_for(t, "SELECT * FROM interned WHERE id = 3");
        assert!(std::ptr::eq(a, c));
        assert!(!std::ptr::eq(a, b), "as written: `select` is not `SELECT`");
        assert_eq!(&*a.summary, "SELECT interned");
        assert_eq!(a.collection.as_deref(), Some("interned"));
    }
}
