//! Firing alerts, when the alerts integration is part of the build: the one place the
//! status page asks for them ([`crate::integrations::alerts::firing`]).

use std::time::SystemTime;

/// What the page knows about alerts.
#[derive(Debug)]
pub(super) enum Alerts {
    /// The build has no alerts integration.
    #[cfg_attr(feature = "alerts", allow(dead_code))]
    NotEnabled,
    /// The alerts firing now (none: the list is empty).
    #[cfg_attr(not(feature = "alerts"), allow(dead_code))]
    Firing(Vec<AlertView>),
}

/// One firing alert.
#[derive(Debug)]
#[cfg_attr(not(feature = "alerts"), allow(dead_code))]
pub(super) struct AlertView {
    pub(super) name: String,
    /// `page`, `ticket` or `info` (`objectives::Severity`).
    pub(super) severity: &'static str,
    /// Since when it fires.
    pub(super) since: Option<SystemTime>,
    /// What it says, with its labels.
    pub(super) summary: String,
    pub(super) labels: Vec<(String, String)>,
}

/// The alerts firing now.
#[cfg(not(feature = "alerts"))]
pub(super) fn firing() -> Alerts {
    Alerts::NotEnabled
}

/// The alerts firing now, as in-process alerting holds them.
#[cfg(feature = "alerts")]
pub(super) fn firing() -> Alerts {
    Alerts::Firing(
        crate::integrations::alerts::firing()
            .into_iter()
            .map(|a| AlertView {
                name: a.name,
                severity: a.severity.as_str(),
                since: Some(a.since),
                summary: a.summary,
                labels: a.labels,
            })
            .collect(),
    )
}
