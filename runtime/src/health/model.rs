//! The check model: what the runner, the state machine and the surfaces know about each
//! check, fixed at start-up, and who may see the details of checks.
//!
//! Settings resolve `#[health_check]` registrations and built-in checks into this model;
//! everything after start-up reads it and nothing changes it, so it sits below the
//! runner, the state machine and the surfaces, and imports none of them.

use std::sync::Arc;
use std::time::Duration;

use super::registry::Work;
use super::report::Kind;

/// Everything about one check the runner and the surfaces need; fixed at start-up.
#[derive(Debug)]
pub(crate) struct CheckInfo {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) critical: bool,
    pub(crate) groups: Vec<String>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) failure_threshold: u32,
    pub(crate) success_threshold: u32,
    pub(crate) blocking: bool,
    /// `file:line` of a `#[health_check]`; `None` for built-in checks.
    pub(crate) location: Option<String>,
}

/// A check ready for the runner.
pub(crate) struct CheckDef {
    pub(crate) info: Arc<CheckInfo>,
    pub(crate) work: Work,
}

/// Who may see outputs, observed values and details of checks.
#[derive(Clone, Default)]
pub(crate) struct Exposure {
    pub(crate) show_details: bool,
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposure")
            .field("show_details", &self.show_details)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}
