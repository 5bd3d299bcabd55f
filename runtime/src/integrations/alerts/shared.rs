//! What the rest of the process reads of the alerts: the firing ones (the status page,
//! [`firing`]) and the self-metrics `flext_alerts_firing{alertname,severity}` and
//! `flext_alerts_dropped_total`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use super::state::{Alert, Phase};
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};
use crate::objectives::Severity;

const FIRING: &str = "flext_alerts_firing";
const DROPPED: &str = "flext_alerts_dropped_total";

/// Alerts dropped before any Alertmanager took them (a full queue, a rejected request).
pub(super) static DROPPED_ALERTS: AtomicU64 = AtomicU64::new(0);

/// An alert this process holds firing.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FiringAlert {
    /// `alertname`.
    pub name: String,
    /// `severity`.
    pub severity: Severity,
    /// Every label, `alertname` and `severity` included, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The `summary` annotation, expanded.
    pub summary: String,
    /// The `description` annotation, expanded.
    pub description: String,
    /// The `runbook_url` annotation, if the alert has one.
    pub runbook_url: Option<String>,
    /// When it fired (`startsAt`).
    pub since: SystemTime,
    /// The value last compared (`NaN` when its data went away while it fires).
    pub value: f64,
}

/// What evaluation publishes after each round.
#[derive(Debug, Default)]
struct Published {
    /// Whether alerting runs (the self-metrics are shown only then).
    running: bool,
    firing: Vec<FiringAlert>,
    /// Every `(alertname, severity)` of the rules, firing or not, sorted.
    names: Vec<(String, Severity)>,
}

static PUBLISHED: Mutex<Published> = Mutex::new(Published {
    running: false,
    firing: Vec::new(),
    names: Vec::new(),
});

fn published() -> std::sync::MutexGuard<'static, Published> {
    PUBLISHED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Alerting starts: `names` are the rules' `(alertname, severity)`.
pub(super) fn start(mut names: Vec<(String, Severity)>) {
    names.sort();
    names.dedup();
    let mut p = published();
    p.running = true;
    p.names = names;
    p.firing = Vec::new();
}

/// Alerting stopped: nothing fires any more as far as this process knows.
pub(super) fn stop() {
    let mut p = published();
    p.running = false;
    p.firing = Vec::new();
}

/// Publishes the firing alerts among `alerts`; `runbooks[i]` is rule `i`'s URL.
pub(super) fn publish<'a>(alerts: impl Iterator<Item = &'a Alert>, runbooks: &[String]) {
    let mut firing: Vec<FiringAlert> = alerts
        .filter(|a| a.phase == Phase::Firing)
        .map(|a| FiringAlert {
            name: a.label("alertname").to_owned(),
            severity: a.severity,
            labels: a.labels.clone(),
            summary: a.summary.clone(),
            description: a.description.clone(),
            runbook_url: runbooks.get(a.rule).filter(|u| !u.is_empty()).cloned(),
            since: a.fired_at,
            value: a.value,
        })
        .collect();
    firing.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.since.cmp(&b.since)));
    published().firing = firing;
}

/// The alerts this process holds firing, most severe first, then oldest first; empty
/// when alerting does not run (before `install()`, after the guard is dropped, or
/// without any rule).
///
/// The same alerts Alertmanager receives, with their labels and annotations expanded:
/// what the status page lists.
///
/// ```
/// for alert in flext_observability::alerts::firing() {
///     println!("{} ({}): {}", alert.name, alert.severity.as_str(), alert.summary);
/// }
/// ```
pub fn firing() -> Vec<FiringAlert> {
    published().firing.clone()
}

struct AlertSource;

static ALERT_SOURCE: AlertSource = AlertSource;

inventory::submit!(SourceEntry::new(140, &ALERT_SOURCE));

struct View {
    counts: Vec<(String, Severity, u64)>,
    dropped: u64,
}

impl Source for AlertSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        let p = published();
        let counts = if p.running {
            p.names
                .iter()
                .map(|(name, severity)| {
                    let n = p
                        .firing
                        .iter()
                        .filter(|a| a.name == *name && a.severity == *severity)
                        .count() as u64;
                    (name.clone(), *severity, n)
                })
                .collect()
        } else {
            Vec::new()
        };
        Box::new(View {
            counts,
            dropped: if p.running {
                DROPPED_ALERTS.load(Ordering::Relaxed)
            } else {
                0
            },
        })
    }

    fn origin(&self) -> &'static str {
        "alerting"
    }
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        if self.counts.is_empty() {
            return Vec::new();
        }
        vec![
            FamilyDesc::fixed(
                FIRING,
                "Alerts firing in this process, by alert and severity (evaluated in process).",
                MetricType::Gauge,
                None,
            ),
            FamilyDesc::fixed(
                DROPPED,
                "Alerts dropped before an Alertmanager took them: its queue full while unreachable, or the request rejected.",
                MetricType::Counter,
                None,
            ),
        ]
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        match family {
            FIRING => {
                for (name, severity, n) in &self.counts {
                    out.gauge(
                        &[("alertname", name), ("severity", severity.as_str())],
                        Value::Int(*n),
                    );
                }
            }
            DROPPED => out.counter(&[], Value::Int(self.dropped)),
            _ => {}
        }
    }
}
