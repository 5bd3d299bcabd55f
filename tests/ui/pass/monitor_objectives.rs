// Objectives on every shape `#[monitor]` takes, with `core`, `std`, the crate and the
// prelude shadowed: the objective's `const`, its check and the merged buckets use
// absolute paths only, and the threshold joins the bounds.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

mod core {}
mod std {}
mod flext_observability {}

use ::flext_observability::monitor;
use ::flext_observability::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};

struct Option;
struct Some;
struct None;
struct f64;
struct u64;
struct usize;

const API: Objective = Objective::new("api")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
const SLOW: Objective =
    Objective::new("slow").latency(ObjectiveLatency::from_millis(1500), ObjectivePercentile::custom(97.5));

#[monitor(objective = API)]
fn plain() -> ::core::primitive::u32 {
    1
}

#[monitor(objective = SLOW, buckets = ["1s", "2s"])]
fn custom_threshold() {}

#[monitor(objective = crate::API)]
async fn by_path() {}

#[monitor(objective = API, span = false)]
fn generic<T: ::core::clone::Clone>(t: &T) -> T {
    t.clone()
}

struct Repo;

#[monitor(objective = API)]
impl Repo {
    fn get(&self) -> ::core::primitive::u32 {
        2
    }

    #[monitor(objective = SLOW)]
    fn scan(&self) {}

    #[monitor(skip)]
    fn len(&self) -> ::core::primitive::usize {
        0
    }
}

#[no_implicit_prelude]
mod bare {
    const INNER: ::flext_observability::objectives::Objective =
        ::flext_observability::objectives::Objective::new("inner")
            .success_rate(::flext_observability::objectives::ObjectivePercentile::P95);

    #[::flext_observability::monitor(objective = INNER)]
    pub fn inner() {}
}

fn main() {
    plain();
    custom_threshold();
    let _ = generic(&1u8);
    Repo.get();
    Repo.scan();
    bare::inner();
    let text = ::flext_observability::prometheus::render();
    let has = |start: &str, part: &str| text.lines().any(|l| l.starts_with(start) && l.contains(part));
    ::core::assert!(has(
        r#"function_calls_duration_seconds_bucket{function="custom_threshold""#,
        r#"objective_latency_threshold="1.5",le="1.5"} 1"#
    ));
    ::core::assert!(has(
        r#"function_calls_total{function="Repo::get""#,
        r#"objective_name="api",objective_percentile="99.9",result="ok"} 1"#
    ));
    ::core::assert!(has(
        r#"function_calls_duration_seconds_bucket{function="Repo::scan""#,
        r#"objective_name="slow",objective_percentile="97.5",objective_latency_threshold="1.5""#
    ));
    ::core::assert!(!text.contains(r#"function="Repo::len""#));
}
