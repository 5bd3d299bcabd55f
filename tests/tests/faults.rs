//! The fault suite: the runtime under hostile load, each case bounded in time and on
//! loopback, each assertion saying the numbers it saw.
//!
//! | case | file |
//! |---|---|
//! | connection flood: idle, slowloris and churning connections while probes are made | `faults/flood.rs` |
//! | scrape storm: scrapers in a loop while threads make millions of monitored calls | `faults/storm.rs` |
//! | a Pushgateway that never answers, answers 500, or resets | `faults/push.rs` |
//! | hostile label values through the facade and business labels | `faults/labels.rs` |
//! | a cardinality flood of a million values through the facade and business labels | `faults/cardinality.rs` |
//! | the soak: minutes of steady load scraped by Prometheus (ignored; `.ci/run` runs it) | `faults/soak.rs` |
//!
//! The runtime is installed once per process (`runtime()`), and the cases that measure
//! take [`serial`] so that, run by `cargo test` in one process, they do not disturb each
//! other; `cargo nextest` runs each in a process of its own anyway. The health-check
//! cases are in `faults_health.rs`: their checks run in every process of the binary
//! that declares them.

mod faults {
    pub(crate) mod cardinality;
    pub(crate) mod common;
    pub(crate) mod flood;
    pub(crate) mod labels;
    pub(crate) mod push;
    pub(crate) mod soak;
    pub(crate) mod storm;
}
