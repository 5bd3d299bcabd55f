//! The health state machine and everything judged from it: one check's state
//! ([`CheckState`]: thresholds, the start-up latch, staleness), the verdict for a probe,
//! a group or one check, and the published [`HealthSnapshot`].
//!
//! The runner only reports results here; the surfaces only read and format what this
//! module decided.

mod check;
mod snapshot;
mod verdict;

pub use check::CheckState;
pub use snapshot::{HealthSnapshot, snapshot};

pub(crate) use check::{RunOutcome, Transition};
pub(crate) use snapshot::{changes, clear, probed, publish, start_draining};
// What the probe routes read: without the embedded server, nothing does.
#[cfg_attr(not(feature = "server"), allow(unused_imports))]
pub(crate) use {
    check::Why,
    snapshot::mark_probed,
    verdict::{Line, Verdict},
};
