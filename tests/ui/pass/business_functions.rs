// `#[business_metric]` on every shape of function.
#![deny(warnings)]
#![allow(dead_code)]

use flext_observability::{Counter, Gauge, Histogram, business_metric};

/// Calls, by outcome.
#[business_metric(labels(operation, status))]
static FN_CALLS_TOTAL: Counter;

/// Rows handled.
#[business_metric(labels(operation))]
static FN_ROWS_TOTAL: Counter;

/// Duration of calls.
#[business_metric(labels(operation))]
static FN_DURATION_SECONDS: Histogram;

/// Calls without labels.
#[business_metric]
static FN_PLAIN_TOTAL: Counter;

/// Last batch size.
#[business_metric]
static FN_LAST_BATCH_ROWS: Gauge;

#[derive(Debug)]
struct Report {
    rows: usize,
}

#[derive(Debug)]
struct Failed;

#[business_metric(
    FN_CALLS_TOTAL { operation: "load", status: outcome }.inc(),
    FN_DURATION_SECONDS { operation: "load" }.observe(elapsed),
    FN_ROWS_TOTAL { operation: "load" }.inc_by(|r: &Report| r.rows),
    FN_LAST_BATCH_ROWS.set(batch.len()),
    FN_PLAIN_TOTAL.inc(),
)]
fn load(batch: Vec<u8>) -> Result<Report, Failed> {
    if batch.is_empty() {
        return Err(Failed);
    }
    let rows = batch.len();
    let _moved = batch;
    Ok(Report { rows })
}

#[business_metric(FN_CALLS_TOTAL { operation: op, status: outcome }.inc())]
fn question_mark(op: &str, input: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = input.parse()?;
    Ok(n)
}

#[business_metric(FN_PLAIN_TOTAL.inc(), FN_LAST_BATCH_ROWS.set(|n| *n))]
fn not_a_result(n: u32) -> u32 {
    n
}

#[business_metric(FN_PLAIN_TOTAL.inc())]
fn unit_return() {}

#[business_metric(FN_PLAIN_TOTAL.inc())]
fn generic<T: std::fmt::Debug + Clone>(value: &T) -> T {
    value.clone()
}

#[business_metric(FN_PLAIN_TOTAL.inc())]
fn returns_impl_trait(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[business_metric(FN_PLAIN_TOTAL.inc())]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    // SAFETY: callers pass a valid pointer.
    unsafe { *p }
}

#[business_metric(
    FN_CALLS_TOTAL { operation: "fetch", status: outcome }.inc(),
    FN_ROWS_TOTAL { operation: "fetch" }.inc_by(|rows: &Vec<u8>| rows.len()),
)]
async fn fetch(n: u8) -> Result<Vec<u8>, Failed> {
    Ok(vec![0; n as usize])
}

struct Repo {
    name: String,
}

impl Repo {
    #[business_metric(FN_CALLS_TOTAL { operation: &self.name, status: outcome }.inc())]
    fn save(&self, rows: usize) -> Result<usize, Failed> {
        Ok(rows)
    }

    #[business_metric(FN_ROWS_TOTAL { operation: "consume" }.inc_by(|n| *n))]
    fn consume(self) -> usize {
        self.name.len()
    }

    #[business_metric(FN_PLAIN_TOTAL.inc())]
    async fn fetch_async(&mut self) -> usize {
        self.name.len()
    }
}

trait Store {
    fn put(&self, n: u32) -> u32;
}

impl Store for Repo {
    #[business_metric(FN_PLAIN_TOTAL.inc())]
    fn put(&self, n: u32) -> u32 {
        n
    }
}

fn main() {
    let _ = load(vec![1, 2]);
    let _ = question_mark("parse", "12");
    let _ = not_a_result(3);
    unit_return();
    let _ = generic(&5);
    let _ = returns_impl_trait(3).count();
    let byte = 7u8;
    // SAFETY: a valid pointer.
    let _ = unsafe { unsafe_fn(&byte) };
    let _ = fetch(3);
    let mut repo = Repo { name: "repo".into() };
    let _ = repo.save(3);
    let _ = repo.fetch_async();
    let _ = repo.put(1);
    let _ = repo.consume();
}
