//! Cost per query of `flext_observability::sqlx::MonitoredPool` against bare sqlx, and
//! of sqlx's own `tracing` events, on SQLite in memory, `fetch_one` through a pool of one
//! connection, for two statements: `SELECT 1` (`short`) and a 13-word select with two
//! bind parameters on a 100-row table (`typical`).
//!
//! ```sh
//! cd benches/sqlx && cargo bench                        # 5 rounds, a few minutes
//! ROUNDS=3 BLOCKS=11 QUERIES=1000 cargo bench           # quicker, noisier
//! ```
//!
//! Time is measured two ways: wall time, and the CPU time of the whole process
//! (`getrusage`, every thread: sqlx's SQLite worker runs the query and emits sqlx's
//! events on its own thread). On a loaded machine the CPU time is the steadier: a
//! query is mostly two threads handing work to each other, and the wall time of that
//! depends on the scheduler.
//!
//! Each round runs two processes per statement, one after the other:
//!
//! - `plain`: no `tracing` subscriber, as an application that only wants metrics;
//!   alternates bare sqlx and the monitored pool.
//! - `traced`: a global subscriber (registry and a layer whose interest is switched
//!   between blocks): sqlx's `sqlx::query` events off or on, a layer that reads their
//!   fields (what a layer on those events would do at least), our spans off or on.
//!
//! Inside a process the cases alternate in blocks of `QUERIES` queries, the order
//! rotating each block, so drift and load hit all alike. A case's value is the median of
//! its blocks; an overhead is the median of the per-block differences with the bare case
//! of the same block. The round's values are medians over rounds.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use flext_observability::sqlx::MonitoredPool;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Sqlite, SqlitePool};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber, field};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

static EVENTS: AtomicBool = AtomicBool::new(false);
static VISIT: AtomicBool = AtomicBool::new(false);
static SPANS: AtomicBool = AtomicBool::new(false);

/// Interest switched at run time: `sometimes`, so every callsite asks each time.
struct Toggle;

impl<S: Subscriber> Layer<S> for Toggle {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        match meta.target() {
            "sqlx::query" => EVENTS.load(Ordering::Relaxed),
            "flext_observability::sqlx" => SPANS.load(Ordering::Relaxed),
            _ => false,
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if VISIT.load(Ordering::Relaxed) {
            let mut fields = Fields::default();
            event.record(&mut fields);
            black_box(&fields);
        }
    }
}

/// What a layer on sqlx's events must read: the statement (to summarise it), the rows,
/// the duration.
#[derive(Default)]
struct Fields {
    statement: String,
    rows: u64,
    seconds: f64,
}

impl field::Visit for Fields {
    fn record_str(&mut self, f: &field::Field, value: &str) {
        if f.name() == "db.statement" || (f.name() == "summary" && self.statement.is_empty()) {
            self.statement.clear();
            self.statement.push_str(value);
        }
    }
    fn record_u64(&mut self, f: &field::Field, value: u64) {
        if f.name() == "rows_returned" {
            self.rows = value;
        }
    }
    fn record_f64(&mut self, f: &field::Field, value: f64) {
        if f.name() == "elapsed_secs" {
            self.seconds = value;
        }
    }
    fn record_debug(&mut self, f: &field::Field, value: &dyn std::fmt::Debug) {
        if f.name() == "db.statement" {
            self.statement = format!("{value:?}");
        }
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq)]
enum Via {
    Bare,
    Monitored,
}

/// One case: which pool, and the switches of the `traced` process.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    via: Via,
    events: bool,
    visit: bool,
    spans: bool,
}

const fn case(name: &'static str, via: Via, events: bool, visit: bool, spans: bool) -> Case {
    Case {
        name,
        via,
        events,
        visit,
        spans,
    }
}

const PLAIN: &[Case] = &[
    case("bare", Via::Bare, false, false, false),
    case("monitored", Via::Monitored, false, false, false),
];

const TRACED: &[Case] = &[
    case(
        "bare, subscriber not interested",
        Via::Bare,
        false,
        false,
        false,
    ),
    case(
        "monitored, subscriber not interested",
        Via::Monitored,
        false,
        false,
        false,
    ),
    case("bare, sqlx events on", Via::Bare, true, false, false),
    case(
        "bare, sqlx events read by a layer",
        Via::Bare,
        true,
        true,
        false,
    ),
    case(
        "monitored, with its spans",
        Via::Monitored,
        false,
        false,
        true,
    ),
];

/// The statement a process runs.
#[derive(Clone, Copy)]
enum Statement {
    Short,
    Typical,
}

const TYPICAL: &str = "SELECT id, customer, total FROM orders WHERE id = ?1 AND total > ?2";

/// Process CPU time (all threads), nanoseconds.
fn cpu_nanos() -> u128 {
    // SAFETY: getrusage writes the struct it is given and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &raw mut usage);
        usage
    };
    let nanos = |t: libc::timeval| {
        u128::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
            + u128::try_from(t.tv_usec).unwrap_or(0) * 1_000
    };
    nanos(usage.ru_utime) + nanos(usage.ru_stime)
}

/// One block of `n` queries: (wall, CPU) nanoseconds per query.
async fn block(
    pool: &SqlitePool,
    monitored: &MonitoredPool<Sqlite>,
    statement: Statement,
    case: Case,
    n: usize,
) -> (f64, f64) {
    EVENTS.store(case.events, Ordering::Relaxed);
    VISIT.store(case.visit, Ordering::Relaxed);
    SPANS.store(case.spans, Ordering::Relaxed);
    let cpu = cpu_nanos();
    let start = Instant::now();
    for i in 0..n {
        let id = i64::try_from(i % 100).unwrap_or(0);
        let row = match (case.via, statement) {
            (Via::Bare, Statement::Short) => sqlx::query("SELECT 1").fetch_one(pool).await,
            (Via::Monitored, Statement::Short) => {
                sqlx::query("SELECT 1").fetch_one(monitored).await
            }
            (Via::Bare, Statement::Typical) => {
                sqlx::query(TYPICAL).bind(id).bind(-1).fetch_one(pool).await
            }
            (Via::Monitored, Statement::Typical) => {
                sqlx::query(TYPICAL)
                    .bind(id)
                    .bind(-1)
                    .fetch_one(monitored)
                    .await
            }
        };
        black_box(row.expect("one row"));
    }
    let wall = start.elapsed().as_nanos() as f64 / n as f64;
    let cpu = (cpu_nanos() - cpu) as f64 / n as f64;
    (wall, cpu)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the cases of one process; prints `@<measure>\t<case>\t<ns>` lines, `measure`
/// one of `wall`, `cpu`, `wall+`, `cpu+` (the last two: over the process's bare case).
fn run(cases: &[Case], statement: Statement) {
    let blocks = env("BLOCKS", 21);
    let n = env("QUERIES", 2000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("SQLite in memory");
        sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total INTEGER)")
            .execute(&pool)
            .await
            .expect("create");
        for id in 0..100 {
            sqlx::query("INSERT INTO orders VALUES (?, 'acme', ?)")
                .bind(id)
                .bind(id * 10)
                .execute(&pool)
                .await
                .expect("insert");
        }
        let monitored = MonitoredPool::new(pool.clone()).name("bench");
        for &case in cases {
            block(&pool, &monitored, statement, case, n).await; // warm-up
        }
        let mut values: BTreeMap<(&str, usize), Vec<f64>> = BTreeMap::new();
        for b in 0..blocks {
            let mut this = vec![(0.0, 0.0); cases.len()];
            for k in 0..cases.len() {
                let i = (b + k) % cases.len();
                this[i] = block(&pool, &monitored, statement, cases[i], n).await;
            }
            for (i, &(wall, cpu)) in this.iter().enumerate() {
                for (measure, v) in [
                    ("wall", wall),
                    ("cpu", cpu),
                    ("wall+", wall - this[0].0),
                    ("cpu+", cpu - this[0].1),
                ] {
                    values.entry((measure, i)).or_default().push(v);
                }
            }
        }
        for ((measure, i), mut v) in values {
            println!("@{measure}\t{}\t{}", cases[i].name, median(&mut v));
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let section = args.next();
    let statement = match args.next().as_deref() {
        Some("typical") => Statement::Typical,
        _ => Statement::Short,
    };
    match section.as_deref() {
        Some("plain") => return run(PLAIN, statement),
        // For a profiler: the monitored case alone.
        Some("profile") => return run(&PLAIN[1..], statement),
        Some("traced") => {
            let subscriber = tracing_subscriber::registry().with(Toggle);
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            return run(TRACED, statement);
        }
        _ => {}
    }
    let rounds = env("ROUNDS", 5);
    let exe = std::env::current_exe().expect("this benchmark");
    // (statement, "section: case", measure) -> one value per round
    let mut results: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for statement in ["short", "typical"] {
            for section in ["plain", "traced"] {
                let out = Command::new(&exe)
                    .args([section, statement])
                    .output()
                    .expect("run a section");
                assert!(
                    out.status.success(),
                    "{section} {statement}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    let f: Vec<&str> = line.split('\t').collect();
                    let [measure, case, value] = f.as_slice() else {
                        continue;
                    };
                    let Some(measure) = measure.strip_prefix('@') else {
                        continue;
                    };
                    results
                        .entry((
                            statement.to_owned(),
                            format!("{section}: {case}"),
                            measure.to_owned(),
                        ))
                        .or_default()
                        .push(value.parse().expect("a number"));
                }
            }
        }
        eprintln!("round {} of {rounds} done (load {})", round + 1, load());
    }
    let value = |statement: &str, case: &str, measure: &str| {
        let mut v = results[&(statement.to_owned(), case.to_owned(), measure.to_owned())].clone();
        median(&mut v)
    };
    for statement in ["short", "typical"] {
        println!("\n{statement}:\n");
        println!("| case | wall ns | CPU ns | wall over bare | CPU over bare |");
        println!("|---|---:|---:|---:|---:|");
        for (section, cases) in [("plain", PLAIN), ("traced", TRACED)] {
            for case in cases {
                let c = format!("{section}: {}", case.name);
                println!(
                    "| {c} | {:.0} | {:.0} | {:+.0} | {:+.0} |",
                    value(statement, &c, "wall"),
                    value(statement, &c, "cpu"),
                    value(statement, &c, "wall+"),
                    value(statement, &c, "cpu+"),
                );
            }
        }
        println!();
        println!("| ratio | wall | CPU | target |");
        println!("|---|---:|---:|---|");
        let over = |case: &str, m: &str| value(statement, case, m);
        let row = |label: &str, f: &dyn Fn(&str) -> f64, target: &str| {
            println!(
                "| {label} | {:.3} | {:.3} | {target} |",
                f("wall"),
                f("cpu")
            );
        };
        row(
            "monitoring ÷ the bare round trip (no subscriber)",
            &|m| over("plain: monitored", &format!("{m}+")) / over("plain: bare", m),
            "≤ 0.02",
        );
        let events = |m: &str| over("traced: bare, sqlx events on", &format!("{m}+"));
        row(
            "monitoring (no subscriber) ÷ sqlx's own events",
            &|m| over("plain: monitored", &format!("{m}+")) / events(m),
            "≤ 0.33",
        );
        row(
            "monitoring (subscriber not interested) ÷ sqlx's own events",
            &|m| {
                over(
                    "traced: monitored, subscriber not interested",
                    &format!("{m}+"),
                ) / events(m)
            },
            "",
        );
        row(
            "a layer reading sqlx's events ÷ sqlx's own events",
            &|m| {
                over(
                    "traced: bare, sqlx events read by a layer",
                    &format!("{m}+"),
                ) / events(m)
            },
            "",
        );
        row(
            "monitoring with its spans ÷ sqlx's own events",
            &|m| over("traced: monitored, with its spans", &format!("{m}+")) / events(m),
            "",
        );
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}
