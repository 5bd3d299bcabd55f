//! One check's state machine: every result goes through [`CheckState::record`], which
//! counts the run, applies the failure and success thresholds and latches a startup check
//! that passed; [`CheckState::effective`] adds staleness when the state is read.
//!
//! The fields are private so that these rules live here only: the runner reports results,
//! the surfaces read statuses and counts, and neither can set a status itself.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::health::model::CheckInfo;
use crate::health::report::{HealthReport, Kind, Status};
use crate::model::HistogramValue;

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

    /// The outcome of a run that returned `report`.
    pub(crate) fn returned(report: &HealthReport) -> RunOutcome {
        if passing(report.status()) {
            RunOutcome::Ok
        } else {
            RunOutcome::Failed
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed => "failed",
            RunOutcome::Timeout => "timeout",
            RunOutcome::Panic => "panic",
        }
    }
}

/// Whether a result counts as a success: degraded still serves.
fn passing(status: Status) -> bool {
    matches!(status, Status::Healthy | Status::Degraded)
}

/// A result older than this is no longer believed: three runs missed, the last one
/// given its whole timeout.
fn stale_after(info: &CheckInfo) -> Duration {
    info.interval * 3 + info.timeout
}

/// Upper bounds of the run duration histogram, in seconds.
const DURATION_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The latest run of a check.
#[derive(Clone, Debug)]
struct LastRun {
    report: HealthReport,
    time: SystemTime,
    /// `None` when the run is a report that an abandoned sync run is still going.
    duration: Option<Duration>,
}

/// One check as of the snapshot.
#[derive(Clone, Debug)]
pub struct CheckState {
    info: Arc<CheckInfo>,
    /// After thresholds; `None` until the first result.
    reported: Option<Status>,
    last: Option<LastRun>,
    /// When the latest result arrived, for staleness.
    completed_at: Option<Instant>,
    last_success: Option<SystemTime>,
    /// A startup check that passed: never run or judged again.
    latched: bool,
    consecutive_failures: u32,
    consecutive_successes: u32,
    runs: [u64; 4],
    /// Per-bucket (not cumulative) run counts; the last one is above the highest bound.
    buckets: Vec<u64>,
    duration_sum: f64,
    /// Runs past their timeout that have not ended and still hold a thread.
    abandoned: u32,
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

/// A change of a check's reported status, for the log.
#[derive(Debug)]
pub(crate) struct Transition<'a> {
    pub(crate) name: &'a str,
    pub(crate) before: Option<Status>,
    pub(crate) after: Status,
    pub(crate) outcome: RunOutcome,
    /// What the check returned (or the panic message): the application's text, which may
    /// hold a connection string or a host name.
    pub(crate) output: &'a str,
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
            if age > stale_after(&self.info) {
                return (Status::Unknown, Why::Stale(age));
            }
        }
        (reported, Why::Result)
    }

    /// Failed runs in a row, up to now.
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Passed runs in a row, up to now.
    #[cfg(test)]
    pub(crate) fn consecutive_successes(&self) -> u32 {
        self.consecutive_successes
    }

    /// Runs that ended with `outcome`.
    pub(crate) fn runs(&self, outcome: RunOutcome) -> u64 {
        self.runs[outcome as usize]
    }

    /// The run durations observed, as a histogram.
    pub(crate) fn durations(&self) -> HistogramValue<'_> {
        HistogramValue {
            bounds: DURATION_BOUNDS,
            counts: &self.buckets,
            sum: self.duration_sum,
        }
    }

    /// Runs past their timeout that have not ended and still hold a thread.(0 or 1: an abandoned run is
    /// not started again until it returns).
    pub(crate) fn abandoned_runs(&self) -> u32 {
        self.abandoned
    }

    /// Whether this is a startup check that passed: it is not run again.
    pub(crate) fn latched(&self) -> bool {
        self.latched
    }

    /// A run passed its timeout and still holds its thread.
    pub(crate) fn run_abandoned(&mut self) {
        self.abandoned = 1;
    }

    /// The abandoned run ended (its result was counted as a timeout already).
    pub(crate) fn abandoned_run_returned(&mut self) {
        self.abandoned = 0;
    }

    /// Counts a run and moves the reported status through the thresholds. `duration` is
    /// `None` for a report that an abandoned run is still going: counted, not observed.
    /// Returns the change of the reported status, if any, for the log.
    pub(crate) fn record(
        &mut self,
        outcome: RunOutcome,
        report: HealthReport,
        duration: Option<Duration>,
        now: Instant,
    ) -> Option<Transition<'_>> {
        let time = SystemTime::now();
        self.runs[outcome as usize] += 1;
        if let Some(duration) = duration {
            let seconds = duration.as_secs_f64();
            let bucket = DURATION_BOUNDS.iter().filter(|b| **b < seconds).count();
            self.buckets[bucket] += 1;
            self.duration_sum += seconds;
        }

        let raw = report.status();
        let passed = passing(raw);
        // Saturating: a check failing every second for 136 years must not panic the
        // scheduler in a debug build.
        if passed {
            self.last_success = Some(time);
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        }
        let before = self.reported;
        let after = match before {
            None => raw,
            Some(previous) => {
                if passing(previous) == passed
                    || (passed && self.consecutive_successes >= self.info.success_threshold)
                    || (!passed && self.consecutive_failures >= self.info.failure_threshold)
                {
                    raw
                } else {
                    previous
                }
            }
        };
        self.reported = Some(after);
        if self.info.kind == Kind::Startup && passed && after == raw {
            self.latched = true;
        }
        self.completed_at = Some(now);
        let last = self.last.insert(LastRun {
            report,
            time,
            duration,
        });

        (Some(after) != before).then(|| Transition {
            name: &self.info.name,
            before,
            after,
            outcome,
            output: last.report.output_text().unwrap_or(""),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: Kind, failure_threshold: u32, success_threshold: u32) -> Arc<CheckInfo> {
        Arc::new(CheckInfo {
            name: "flapping".into(),
            kind,
            critical: true,
            groups: Vec::new(),
            interval: Duration::from_hours(1),
            timeout: Duration::from_secs(10),
            failure_threshold,
            success_threshold,
            blocking: true,
            location: None,
        })
    }

    #[test]
    fn thresholds_smooth_flapping() {
        const PASS: bool = true;
        const FAIL: bool = false;
        let mut state = CheckState::new(info(Kind::Readiness, 3, 2));
        let results = [
            PASS, FAIL, FAIL, FAIL, PASS, PASS, FAIL, PASS, FAIL, PASS, FAIL, PASS,
        ];
        // What readiness says before each run: pending before the first result, then
        // failing only from the third failure in a row, passing again from the second
        // success in a row.
        let healthy = Some(Status::Healthy);
        let unhealthy = Some(Status::Unhealthy);
        let expected = [
            None, healthy, healthy, healthy, unhealthy, unhealthy, healthy, healthy, healthy,
            healthy, healthy, healthy,
        ];
        let mut seen = Vec::new();
        let now = Instant::now();
        for pass in results {
            seen.push(state.reported);
            let (outcome, report) = if pass {
                (RunOutcome::Ok, HealthReport::healthy())
            } else {
                (RunOutcome::Failed, HealthReport::unhealthy("flap"))
            };
            state.record(outcome, report, Some(Duration::from_millis(1)), now);
        }
        assert_eq!(seen, expected);
        assert_eq!(state.reported, healthy);
        assert_eq!(state.runs, [6, 6, 0, 0]);
    }

    #[test]
    fn consecutive_counts_saturate() {
        let mut state = CheckState::new(info(Kind::Readiness, 1, 1));
        let now = Instant::now();
        state.consecutive_failures = u32::MAX;
        let failed = HealthReport::unhealthy("down");
        state.record(RunOutcome::Failed, failed, None, now);
        assert_eq!(state.consecutive_failures, u32::MAX);
        state.consecutive_successes = u32::MAX;
        state.consecutive_failures = 0;
        state.record(RunOutcome::Ok, HealthReport::healthy(), None, now);
        assert_eq!(state.consecutive_successes, u32::MAX);
    }

    #[test]
    fn transitions_and_the_startup_latch() {
        let mut state = CheckState::new(info(Kind::Startup, 1, 1));
        let now = Instant::now();
        let change = state
            .record(
                RunOutcome::Failed,
                HealthReport::unhealthy("warming up"),
                None,
                now,
            )
            .map(|t| (t.before, t.after, t.output.to_owned()));
        assert_eq!(
            change,
            Some((None, Status::Unhealthy, "warming up".to_owned()))
        );
        assert!(!state.latched());
        let again = HealthReport::unhealthy("still warming up");
        assert!(state.record(RunOutcome::Failed, again, None, now).is_none());
        let change = state
            .record(RunOutcome::Ok, HealthReport::healthy(), None, now)
            .map(|t| (t.before, t.after));
        assert_eq!(change, Some((Some(Status::Unhealthy), Status::Healthy)));
        // Once started, the result is never judged stale.
        assert!(state.latched());
        let much_later = now + Duration::from_hours(24);
        assert_eq!(state.effective(much_later), (Status::Healthy, Why::Started));
    }

    #[test]
    fn staleness() {
        let mut state = CheckState::new(info(Kind::Readiness, 1, 1));
        let now = Instant::now();
        assert_eq!(state.effective(now), (Status::Unknown, Why::Pending));
        state.record(RunOutcome::Ok, HealthReport::healthy(), None, now);
        let limit = stale_after(&state.info);
        assert_eq!(state.effective(now + limit), (Status::Healthy, Why::Result));
        let later = now + limit + Duration::from_secs(1);
        assert!(matches!(
            state.effective(later),
            (Status::Unknown, Why::Stale(age)) if age > limit
        ));
    }
}
