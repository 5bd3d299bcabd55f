//! How a probe, a group or one check is judged from the checks' states: the one place
//! that turns statuses into the answer a surface gives.
//!
//! Verdicts are built here only (their fields are private), so the HTTP routes and
//! [`HealthSnapshot::status`](crate::health::HealthSnapshot::status) cannot disagree.

use std::time::Instant;

use super::check::{CheckState, Why};
use crate::health::report::{Probe, Status};

/// One check as a probe sees it.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    check: &'a CheckState,
    status: Status,
    why: Why,
    excluded: bool,
}

impl<'a> Line<'a> {
    /// `check` as it stands at `now`, not excluded.
    pub(super) fn of(check: &'a CheckState, now: Instant) -> Self {
        let (status, why) = check.effective(now);
        Line {
            check,
            status,
            why,
            excluded: false,
        }
    }

    pub(crate) fn check(&self) -> &'a CheckState {
        self.check
    }

    /// The check's own status (before criticality).
    pub(crate) fn status(&self) -> Status {
        self.status
    }

    pub(crate) fn why(&self) -> Why {
        self.why
    }

    /// Left out with `?exclude=`: shown, not counted.
    pub(crate) fn excluded(&self) -> bool {
        self.excluded
    }
}

/// A probe's answer.
#[derive(Debug)]
pub(crate) struct Verdict<'a> {
    status: Status,
    lines: Vec<Line<'a>>,
    /// Readiness fails because the process is shutting down.
    draining: bool,
    /// `exclude` names that match no check of the probe.
    unknown_excludes: Vec<&'a str>,
}

impl<'a> Verdict<'a> {
    pub(crate) fn status(&self) -> Status {
        self.status
    }

    pub(crate) fn lines(&self) -> &[Line<'a>] {
        &self.lines
    }

    /// Whether the shutdown drain makes it fail.
    pub(crate) fn draining(&self) -> bool {
        self.draining
    }

    /// `exclude` names that match no check of the probe.
    pub(crate) fn unknown_excludes(&self) -> &[&'a str] {
        &self.unknown_excludes
    }

    /// A component asked about by name, one check or a group (`/health/<name>`): the
    /// worst own status of its checks, whatever their criticality, a check without a
    /// result counting as unknown; `exclude`d checks are shown, not counted.
    ///
    /// One rule for both, so a group of one check answers as that check does.
    /// Criticality decides only what a failure does to a probe (readiness, liveness,
    /// startup, `/health`), and the shutdown drain only probes: to ask whether traffic
    /// may come, ask `/readyz`.
    pub(super) fn component(
        checks: impl Iterator<Item = &'a CheckState>,
        exclude: &[&'a str],
        now: Instant,
    ) -> Self {
        let mut status = Status::Healthy;
        let mut lines = Vec::new();
        let mut matched = vec![false; exclude.len()];
        for check in checks {
            let mut line = Line::of(check, now);
            if let Some(i) = exclude.iter().position(|e| *e == check.name()) {
                matched[i] = true;
                line.excluded = true;
            } else if line.why == Why::Pending {
                status = status.max(Status::Unknown);
            } else {
                status = status.max(line.status);
            }
            lines.push(line);
        }
        let unknown_excludes = exclude
            .iter()
            .zip(matched)
            .filter(|(_, found)| !found)
            .map(|(name, _)| *name)
            .collect();
        Verdict {
            status,
            lines,
            draining: false,
            unknown_excludes,
        }
    }

    /// Judges `probe` over the checks `select` keeps, leaving out `exclude`d names;
    /// `draining` says whether the process is shutting down.
    ///
    /// A critical check that fails (or is unknown) makes the probe unhealthy, any other
    /// failure or a degraded check makes it degraded. A check without a result yet makes
    /// readiness, startup and `/health` unhealthy (they are 503 until the first results)
    /// and is ignored by liveness (the process is not known to be broken).
    pub(super) fn judge(
        checks: &'a [CheckState],
        probe: Probe,
        select: impl Fn(&CheckState) -> bool,
        exclude: &[&'a str],
        draining: bool,
        now: Instant,
    ) -> Self {
        let mut status = Status::Healthy;
        let mut lines = Vec::new();
        let mut matched = vec![false; exclude.len()];
        for check in checks.iter().filter(|c| select(c)) {
            let mut line = Line::of(check, now);
            if let Some(i) = exclude.iter().position(|e| *e == check.name()) {
                matched[i] = true;
                line.excluded = true;
            }
            let (check_status, why, excluded) = (line.status, line.why, line.excluded);
            lines.push(line);
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
            && draining
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
}
