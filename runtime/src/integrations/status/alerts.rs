//! Firing alerts, when the alerts integration is part of the build.
//!
//! WIRING POINT (for the `alerts` feature): this is the one place the status page asks
//! for alerts. Once `integrations/alerts` exists, `firing()` returns
//! `Alerts::Firing(..)` from it under `#[cfg(feature = "alerts")]`, keeping this
//! function as the fallback under `#[cfg(not(feature = "alerts"))]`; the HTML and JSON
//! renderings already show both cases.

use std::time::SystemTime;

/// What the page knows about alerts.
#[derive(Debug)]
pub(super) enum Alerts {
    /// The build has no alerts integration.
    NotEnabled,
    /// The alerts firing now (none: the list is empty).
    #[allow(dead_code)] // filled once the alerts integration is wired in
    Firing(Vec<AlertView>),
}

/// One firing alert.
#[derive(Debug)]
#[allow(dead_code)] // filled once the alerts integration is wired in
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
pub(super) fn firing() -> Alerts {
    Alerts::NotEnabled
}
