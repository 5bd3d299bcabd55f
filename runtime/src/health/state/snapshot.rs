//! The one health snapshot every surface reads, and the process-wide flags of the
//! shutdown drain.
//!
//! The runner publishes a new immutable [`HealthSnapshot`] after every change; readers take
//! an `Arc` of the current one (one uncontended read lock) and never wait for a check.
//! Whether a result is too old is decided when it is read, so a stuck runner shows up as
//! `unknown` results instead of frozen ones. Surfaces that push changes wait on
//! [`changes`] rather than polling.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, PoisonError, RwLock};
use std::time::Instant;

use tokio::sync::watch;

use super::check::CheckState;
use super::verdict::{Line, Verdict};
use crate::health::model::Exposure;
use crate::health::report::{Probe, Status};

/// Every check's state at one instant, as the runner published it.
///
/// Get the current one with [`snapshot`](crate::health::snapshot).
#[derive(Debug)]
pub struct HealthSnapshot {
    checks: Vec<CheckState>,
    exposure: Arc<Exposure>,
}

impl HealthSnapshot {
    pub(crate) fn new(checks: Vec<CheckState>, exposure: Arc<Exposure>) -> Self {
        HealthSnapshot { checks, exposure }
    }

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
        self.verdict(probe, &[], Instant::now()).status()
    }

    /// Who may see details.
    pub(crate) fn exposure(&self) -> &Exposure {
        &self.exposure
    }

    /// `probe`'s answer at `now`, leaving out `exclude`d names.
    pub(crate) fn verdict<'a>(
        &'a self,
        probe: Probe,
        exclude: &[&'a str],
        now: Instant,
    ) -> Verdict<'a> {
        let select = |c: &CheckState| probe.includes(c.kind());
        Verdict::judge(&self.checks, probe, select, exclude, draining(), now)
    }

    /// The check named `name` if it takes part in `probe` (`/readyz/<check>`), as it
    /// stands at `now`: its own status, whatever its criticality.
    pub(crate) fn probe_check(&self, probe: Probe, name: &str, now: Instant) -> Option<Line<'_>> {
        let check = self.check(name).filter(|c| probe.includes(c.kind()))?;
        Some(Line::of(check, now))
    }

    /// `/health/<name>`: the check named `name`, else the group `name`, judged as one
    /// component (see [`Verdict::component`]); `None` when neither exists.
    pub(crate) fn named<'a>(
        &'a self,
        name: &str,
        exclude: &[&'a str],
        now: Instant,
    ) -> Option<Verdict<'a>> {
        if let Some(check) = self.check(name) {
            return Some(Verdict::component(std::iter::once(check), exclude, now));
        }
        let in_group = |c: &&CheckState| c.groups().any(|g| g == name);
        self.checks
            .iter()
            .any(|c| in_group(&c))
            .then(|| Verdict::component(self.checks.iter().filter(in_group), exclude, now))
    }
}

static CURRENT: RwLock<Option<Arc<HealthSnapshot>>> = RwLock::new(None);
static DRAINING: AtomicBool = AtomicBool::new(false);
static PROBED: AtomicBool = AtomicBool::new(false);

/// A counter bumped after every change a reader could see: a snapshot published, the
/// drain started, everything cleared. Surfaces that push changes (the gRPC health
/// `Watch`) wait on it and read the snapshot again; it carries no state of its own.
static CHANGES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

fn changed() {
    CHANGES.send_modify(|version| *version = version.wrapping_add(1));
}

/// Notified after each change: read [`snapshot`] again when it says so. Mark the
/// receiver's current version seen (`borrow_and_update`) before reading the snapshot,
/// so a change in between is not missed.
#[allow(dead_code)] // read by integrations only (the gRPC health service)
pub(crate) fn changes() -> watch::Receiver<u64> {
    CHANGES.subscribe()
}

pub(crate) fn publish(snapshot: HealthSnapshot) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(snapshot));
    changed();
}

/// Forgets everything (the runtime stopped).
pub(crate) fn clear() {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = None;
    DRAINING.store(false, Ordering::Release);
    PROBED.store(false, Ordering::Release);
    changed();
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
    changed();
}

fn draining() -> bool {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::health::model::CheckInfo;
    use crate::health::report::{HealthReport, Kind};
    use crate::health::state::check::{RunOutcome, Why};

    fn info(name: &str, kind: Kind, critical: bool) -> Arc<CheckInfo> {
        Arc::new(CheckInfo {
            name: name.into(),
            kind,
            critical,
            groups: vec!["storage".into()],
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            failure_threshold: 1,
            success_threshold: 1,
            blocking: false,
            location: None,
        })
    }

    /// A check whose one result, `report`, arrived at `at`; pending without one.
    fn check(info: Arc<CheckInfo>, report: Option<HealthReport>, at: Instant) -> CheckState {
        let mut state = CheckState::new(info);
        if let Some(report) = report {
            state.record(RunOutcome::returned(&report), report, None, at);
        }
        state
    }

    fn snapshot(checks: Vec<CheckState>) -> HealthSnapshot {
        HealthSnapshot::new(checks, Arc::default())
    }

    #[test]
    fn changes_are_notified() {
        let mut rx = changes();
        let seen = *rx.borrow_and_update();
        assert!(!rx.has_changed().unwrap());
        changed();
        assert!(rx.has_changed().unwrap());
        assert_ne!(*rx.borrow_and_update(), seen);
    }

    #[test]
    fn aggregation_rules() {
        let now = Instant::now();
        let snap = snapshot(vec![
            check(
                info("db", Kind::Readiness, true),
                Some(HealthReport::healthy()),
                now,
            ),
            check(
                info("disk", Kind::Readiness, false),
                Some(HealthReport::unhealthy("full")),
                now,
            ),
            check(info("loop", Kind::Liveness, true), None, now),
        ]);
        // A failing non-critical check degrades; a pending check blocks readiness only.
        assert_eq!(
            snap.verdict(Probe::Liveness, &[], now).status(),
            Status::Healthy
        );
        assert_eq!(
            snap.verdict(Probe::Readiness, &[], now).status(),
            Status::Unhealthy
        );
        let v = snap.verdict(Probe::Readiness, &["loop", "nope"], now);
        assert_eq!(v.status(), Status::Degraded);
        assert_eq!(v.unknown_excludes(), ["nope"]);

        // A critical result older than its staleness limit is unknown, and fails.
        let old = now.checked_sub(Duration::from_secs(10)).unwrap();
        let snap = snapshot(vec![check(
            info("db", Kind::Readiness, true),
            Some(HealthReport::healthy()),
            old,
        )]);
        let v = snap.verdict(Probe::Readiness, &[], now);
        assert_eq!(v.status(), Status::Unhealthy);
        assert!(matches!(v.lines()[0].why(), Why::Stale(age) if age >= Duration::from_secs(10)));
    }

    #[test]
    fn one_check_or_one_group() {
        let now = Instant::now();
        let snap = snapshot(vec![
            check(
                info("db", Kind::Readiness, true),
                Some(HealthReport::healthy()),
                now,
            ),
            check(
                info("disk", Kind::Readiness, false),
                Some(HealthReport::unhealthy("full")),
                now,
            ),
            check(info("loop", Kind::Liveness, true), None, now),
        ]);
        // One check: its own status, whatever its criticality; unknown while pending.
        let disk = snap.named("disk", &[], now).unwrap();
        assert_eq!(disk.status(), Status::Unhealthy);
        assert_eq!(disk.lines().len(), 1);
        let pending = snap.named("loop", &[], now).unwrap();
        assert_eq!(pending.status(), Status::Unknown);
        assert_eq!(pending.lines()[0].why(), Why::Pending);
        // A group: the same rule over its members. `disk` fails and is not critical:
        // the check and the group of it alone say the same, unhealthy.
        let group = snap.named("storage", &["loop"], now).unwrap();
        assert_eq!(group.status(), Status::Unhealthy);
        assert_eq!(group.lines().len(), 3);
        let only_disk = snapshot(vec![check(
            info("disk", Kind::Readiness, false),
            Some(HealthReport::unhealthy("full")),
            now,
        )]);
        assert_eq!(
            only_disk.named("disk", &[], now).unwrap().status(),
            only_disk.named("storage", &[], now).unwrap().status()
        );
        // A member without a result: the group is unknown (a failure), as that check is.
        let group = snap.named("storage", &["disk"], now).unwrap();
        assert_eq!(group.status(), Status::Unknown);
        assert!(snap.named("nothing", &[], now).is_none());
        // `/readyz/<check>` knows only the probe's checks.
        let line = snap.probe_check(Probe::Readiness, "disk", now).unwrap();
        assert_eq!(line.status(), Status::Unhealthy);
        assert!(snap.probe_check(Probe::Liveness, "disk", now).is_none());
    }
}
