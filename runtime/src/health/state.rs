//! The one health snapshot every surface reads, and how probes are judged from it.
//!
//! The runner publishes a new immutable [`HealthSnapshot`] after every change; readers take
//! an `Arc` of the current one (one uncontended read lock) and never wait for a check.
//! Whether a result is too old is decided when it is read, so a stuck runner shows up as
//! `unknown` results instead of frozen ones.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::report::{HealthReport, Kind, Probe, Status};
use super::settings::{CheckInfo, Exposure};

/// How a run ended, as the `outcome` label writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// Returned healthy or degraded.
    Ok = 0,
    /// Returned `Err`, unhealthy or unknown.
    Failed = 1,
    /// Did not return within its timeout.
    Timeout = 2,
    /// Panicked.
    Panic = 3,
}

impl RunOutcome {
    pub(crate) const ALL: [RunOutcome; 4] = [
        RunOutcome::Ok,
        RunOutcome::Failed,
        RunOutcome::Timeout,
        RunOutcome::Panic,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed => "failed",
            RunOutcome::Timeout => "timeout",
            RunOutcome::Panic => "panic",
        }
    }
}

/// Upper bounds of the run duration histogram, in seconds.
pub(crate) const DURATION_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The latest run of a check.
#[derive(Clone, Debug)]
pub(crate) struct LastRun {
    pub(crate) report: HealthReport,
    pub(crate) time: SystemTime,
    /// `None` when the run is a report that an abandoned sync run is still going.
    pub(crate) duration: Option<Duration>,
}

/// One check as of the snapshot.
#[derive(Clone, Debug)]
pub struct CheckState {
    pub(crate) info: Arc<CheckInfo>,
    /// After thresholds; `None` until the first result.
    pub(crate) reported: Option<Status>,
    pub(crate) last: Option<LastRun>,
    /// When the latest result arrived, for staleness.
    pub(crate) completed_at: Option<Instant>,
    pub(crate) last_success: Option<SystemTime>,
    /// A startup check that passed: never run or judged again.
    pub(crate) latched: bool,
    pub(crate) consecutive_failures: u32,
    pub(crate) consecutive_successes: u32,
    pub(crate) runs: [u64; 4],
    /// Per-bucket (not cumulative) run counts; the last one is above the highest bound.
    pub(crate) buckets: Vec<u64>,
    pub(crate) duration_sum: f64,
    /// Sync runs past their timeout that still hold a thread.
    pub(crate) abandoned: u32,
}

/// Why a check has the status it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// Its latest result (after thresholds).
    Result,
    /// No result yet.
    Pending,
    /// The latest result is this old, older than the check's staleness limit.
    Stale(Duration),
    /// A startup check that passed once.
    Started,
}

impl CheckState {
    pub(crate) fn new(info: Arc<CheckInfo>) -> Self {
        CheckState {
            info,
            reported: None,
            last: None,
            completed_at: None,
            last_success: None,
            latched: false,
            consecutive_failures: 0,
            consecutive_successes: 0,
            runs: [0; 4],
            buckets: vec![0; DURATION_BOUNDS.len() + 1],
            duration_sum: 0.0,
            abandoned: 0,
        }
    }

    /// The check's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Its probe.
    pub fn kind(&self) -> Kind {
        self.info.kind
    }

    /// Whether a failure makes the service unhealthy (else degraded).
    pub fn critical(&self) -> bool {
        self.info.critical
    }

    /// Its groups.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.info.groups.iter().map(String::as_str)
    }

    /// Its status now: after thresholds, [`Status::Unknown`] before the first result and
    /// when the latest one is older than three intervals plus the timeout.
    pub fn status(&self) -> Status {
        self.effective(Instant::now()).0
    }

    /// What the latest run reported (before thresholds), if it ran.
    pub fn report(&self) -> Option<&HealthReport> {
        self.last.as_ref().map(|l| &l.report)
    }

    /// When the latest run finished.
    pub fn time(&self) -> Option<SystemTime> {
        self.last.as_ref().map(|l| l.time)
    }

    /// How long the latest run took (its timeout, when it timed out); `None` before the
    /// first result, and when the latest result reports that a sync run abandoned at its
    /// timeout is still running (nothing new ran).
    pub fn duration(&self) -> Option<Duration> {
        self.last.as_ref().and_then(|l| l.duration)
    }

    /// When a run last returned healthy or degraded.
    pub fn last_success(&self) -> Option<SystemTime> {
        self.last_success
    }

    /// Status and reason at `now`.
    pub(crate) fn effective(&self, now: Instant) -> (Status, Why) {
        let Some(reported) = self.reported else {
            return (Status::Unknown, Why::Pending);
        };
        if self.latched {
            return (reported, Why::Started);
        }
        if let Some(at) = self.completed_at {
            let age = now.saturating_duration_since(at);
            if age > self.info.stale_after() {
                return (Status::Unknown, Why::Stale(age));
            }
        }
        (reported, Why::Result)
    }
}

/// Every check's state at one instant, as the runner published it.
///
/// Get the current one with [`snapshot`](crate::health::snapshot).
#[derive(Debug)]
pub struct HealthSnapshot {
    pub(crate) checks: Vec<CheckState>,
    pub(crate) exposure: Arc<Exposure>,
}

impl HealthSnapshot {
    /// Every check, by name.
    pub fn checks(&self) -> &[CheckState] {
        &self.checks
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&CheckState> {
        self.checks.iter().find(|c| c.name() == name)
    }

    /// The status a probe reports now (the same the HTTP endpoints answer with).
    pub fn status(&self, probe: Probe) -> Status {
        evaluate(self, probe, &[], Instant::now()).status
    }
}

static CURRENT: RwLock<Option<Arc<HealthSnapshot>>> = RwLock::new(None);
static DRAINING: AtomicBool = AtomicBool::new(false);
static PROBED: AtomicBool = AtomicBool::new(false);

pub(crate) fn publish(snapshot: HealthSnapshot) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(snapshot));
}

/// Forgets everything (the runtime stopped).
pub(crate) fn clear() {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = None;
    DRAINING.store(false, Ordering::Release);
    PROBED.store(false, Ordering::Release);
}

/// The current snapshot, `None` when the runtime is not installed.
pub fn snapshot() -> Option<Arc<HealthSnapshot>> {
    CURRENT
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// Readiness fails from now on (shutdown).
pub(crate) fn start_draining() {
    DRAINING.store(true, Ordering::Release);
}

pub(crate) fn draining() -> bool {
    DRAINING.load(Ordering::Acquire)
}

/// Notes that something polls readiness, so shutdown drains.
pub(crate) fn mark_probed() {
    if !PROBED.load(Ordering::Relaxed) {
        PROBED.store(true, Ordering::Relaxed);
    }
}

pub(crate) fn probed() -> bool {
    PROBED.load(Ordering::Relaxed)
}

/// One check as a probe sees it.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    pub(crate) check: &'a CheckState,
    pub(crate) status: Status,
    pub(crate) why: Why,
    pub(crate) excluded: bool,
}

/// A probe's answer.
#[derive(Debug)]
pub(crate) struct Verdict<'a> {
    pub(crate) status: Status,
    pub(crate) lines: Vec<Line<'a>>,
    /// Readiness fails because the process is shutting down.
    pub(crate) draining: bool,
    /// `exclude` names that match no check of the probe.
    pub(crate) unknown_excludes: Vec<&'a str>,
}

/// Judges `probe` over the checks `select` keeps, leaving out `exclude`d names.
///
/// A critical check that fails (or is unknown) makes the probe unhealthy, any other
/// failure or a degraded check makes it degraded. A check without a result yet makes
/// readiness, startup and `/health` unhealthy (they are 503 until the first results) and
/// is ignored by liveness (the process is not known to be broken).
pub(crate) fn evaluate<'a>(
    snapshot: &'a HealthSnapshot,
    probe: Probe,
    exclude: &[&'a str],
    now: Instant,
) -> Verdict<'a> {
    evaluate_selected(snapshot, probe, |c| probe.includes(c.kind()), exclude, now)
}

pub(crate) fn evaluate_selected<'a>(
    snapshot: &'a HealthSnapshot,
    probe: Probe,
    select: impl Fn(&CheckState) -> bool,
    exclude: &[&'a str],
    now: Instant,
) -> Verdict<'a> {
    let mut status = Status::Healthy;
    let mut lines = Vec::new();
    let mut matched = vec![false; exclude.len()];
    for check in snapshot.checks.iter().filter(|c| select(c)) {
        let (check_status, why) = check.effective(now);
        let excluded = match exclude.iter().position(|e| *e == check.name()) {
            Some(i) => {
                matched[i] = true;
                true
            }
            None => false,
        };
        lines.push(Line {
            check,
            status: check_status,
            why,
            excluded,
        });
        if excluded {
            continue;
        }
        let effect = match (why, check_status) {
            (Why::Pending, _) if probe == Probe::Liveness => Status::Healthy,
            (Why::Pending, _) => Status::Unhealthy,
            (_, Status::Healthy) => Status::Healthy,
            (_, Status::Unhealthy | Status::Unknown) if check.critical() => Status::Unhealthy,
            (_, Status::Degraded | Status::Unhealthy | Status::Unknown) => Status::Degraded,
        };
        status = status.max(effect);
    }
    let draining = matches!(probe, Probe::Readiness | Probe::All)
        && draining()
        && !exclude.contains(&"shutdown");
    if draining {
        status = Status::Unhealthy;
    }
    let unknown_excludes = exclude
        .iter()
        .zip(matched)
        .filter(|(name, found)| !found && **name != "shutdown")
        .map(|(name, _)| *name)
        .collect();
    Verdict {
        status,
        lines,
        draining,
        unknown_excludes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, kind: Kind, critical: bool) -> Arc<CheckInfo> {
        Arc::new(CheckInfo {
            name: name.into(),
            kind,
            critical,
            groups: Vec::new(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            failure_threshold: 1,
            success_threshold: 1,
            blocking: false,
            location: None,
        })
    }

    fn with(state: CheckState, status: Option<Status>, at: Instant) -> CheckState {
        CheckState {
            reported: status,
            completed_at: status.map(|_| at),
            ..state
        }
    }

    #[test]
    fn aggregation_rules() {
        let now = Instant::now();
        let snap = HealthSnapshot {
            checks: vec![
                with(
                    CheckState::new(info("db", Kind::Readiness, true)),
                    Some(Status::Healthy),
                    now,
                ),
                with(
                    CheckState::new(info("disk", Kind::Readiness, false)),
                    Some(Status::Unhealthy),
                    now,
                ),
                with(
                    CheckState::new(info("loop", Kind::Liveness, true)),
                    None,
                    now,
                ),
            ],
            exposure: Arc::default(),
        };
        // A failing non-critical check degrades; a pending check blocks readiness only.
        assert_eq!(
            evaluate(&snap, Probe::Liveness, &[], now).status,
            Status::Healthy
        );
        assert_eq!(
            evaluate(&snap, Probe::Readiness, &[], now).status,
            Status::Unhealthy
        );
        let v = evaluate(&snap, Probe::Readiness, &["loop", "nope"], now);
        assert_eq!(v.status, Status::Degraded);
        assert_eq!(v.unknown_excludes, vec!["nope"]);

        // A critical result older than its staleness limit is unknown, and fails.
        let old = now.checked_sub(Duration::from_secs(10)).unwrap();
        let snap = HealthSnapshot {
            checks: vec![with(
                CheckState::new(info("db", Kind::Readiness, true)),
                Some(Status::Healthy),
                old,
            )],
            exposure: Arc::default(),
        };
        let v = evaluate(&snap, Probe::Readiness, &[], now);
        assert_eq!(v.status, Status::Unhealthy);
        assert!(matches!(v.lines[0].why, Why::Stale(age) if age >= Duration::from_secs(10)));
    }
}
