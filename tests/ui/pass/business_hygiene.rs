// Generated code only uses absolute paths: shadowing `core`, `std`, the crate name and
// the prelude changes nothing, and user names never clash with generated ones.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

mod core {}
mod std {}
mod flext_observability {}

use ::flext_observability::{Counter, Gauge, Histogram, business_metric};

struct Option;
struct Result;
struct Box;
struct String;
struct Vec;
struct usize;
struct bool;
struct f64;
struct str;

/// Runs.
#[business_metric(labels(pipeline, status))]
static HYGIENE_RUNS_TOTAL: Counter;

/// Duration.
#[business_metric(labels(pipeline))]
static HYGIENE_RUN_DURATION_SECONDS: Histogram;

/// Level.
#[business_metric]
static HYGIENE_LEVEL_RATIO: Gauge;

#[business_metric(
    HYGIENE_RUNS_TOTAL { pipeline: "fixed", status: outcome }.inc(),
    HYGIENE_RUNS_TOTAL { pipeline: name, status: outcome }.inc(),
    HYGIENE_RUN_DURATION_SECONDS { pipeline: name }.observe(elapsed),
    HYGIENE_LEVEL_RATIO.set(|level| *level),
)]
#[allow(non_snake_case)]
fn shadowed(name: &::core::primitive::str, flext_guard: u32, flext_ret: u32, flext_success: u32) -> ::core::primitive::f64 {
    let FLEXT_OBSERVABILITY_SITE = flext_guard + flext_ret + flext_success;
    let _ = FLEXT_OBSERVABILITY_SITE;
    0.5
}

#[no_implicit_prelude]
mod bare {
    /// Rows.
    #[::flext_observability::business_metric(labels(pipeline))]
    pub static BARE_ROWS_TOTAL: ::flext_observability::Counter;

    /// Lag.
    #[::flext_observability::business_metric]
    pub static BARE_LAG_SECONDS: ::flext_observability::Histogram;

    #[::flext_observability::business_metric(
        BARE_ROWS_TOTAL { pipeline: "bare" }.inc_by(|n| *n),
        BARE_ROWS_TOTAL { pipeline: name }.inc(),
        BARE_LAG_SECONDS.observe(elapsed),
    )]
    pub fn in_no_prelude(name: &str) -> ::core::result::Result<u32, ()> {
        ::core::result::Result::Ok(1)
    }

    #[::flext_observability::business_metric(BARE_ROWS_TOTAL { pipeline: "async" }.inc())]
    pub async fn async_in_no_prelude() -> u32 {
        1
    }

    pub fn record() {
        BARE_ROWS_TOTAL { pipeline: "direct" }.inc();
        ::flext_observability::series!(BARE_ROWS_TOTAL { pipeline: "fixed" }).inc();
        ::flext_observability::counter!(description: "Bare events.", "bare_events_total", "pipeline" => "x")
            .increment(1);
    }
}

fn main() {
    let _ = shadowed("x", 1, 2, 3);
    let _ = bare::in_no_prelude("y");
    let _ = bare::async_in_no_prelude();
    bare::record();
}
