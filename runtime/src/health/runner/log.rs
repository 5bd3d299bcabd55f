//! What the runner tells the log: status changes the state machine reports, and sync
//! runs abandoned at their timeout or returning after it.

use std::time::Duration;

use crate::health::model::CheckInfo;
use crate::health::report::Status;
use crate::health::state::{RunOutcome, Transition};

/// Logs a change of a check's reported status: a warning when it fails, an info event
/// when its first result passes ("became healthy") or when it recovers from a failure.
pub(super) fn transition(change: &Transition<'_>, show_details: bool) {
    let failing = matches!(change.after, Status::Unhealthy | Status::Unknown);
    if failing {
        crate::diag::warn(&message(change, show_details));
    } else if let Some(before) = change.before {
        let what = if matches!(before, Status::Unhealthy | Status::Unknown) {
            "health check recovered"
        } else {
            "health check changed"
        };
        tracing::info!(target: "flext_observability", check = change.name, from = before.as_str(), to = change.after.as_str(), "{what}");
    } else {
        tracing::info!(target: "flext_observability", check = change.name, to = change.after.as_str(), "health check became {}", change.after.as_str());
    }
}

/// The warning for a failing check. The check's own output goes to the log only when
/// details are shown to everyone (`health_details(true)`): logs often travel further than
/// the probes, and the probes withhold it by default. Timeouts are described by the
/// runner itself, so their text is always safe.
fn message(change: &Transition<'_>, show_details: bool) -> String {
    let Transition {
        name,
        after,
        outcome,
        output,
        ..
    } = *change;
    let from = change.before.map_or("pending", Status::as_str);
    let reason = match outcome {
        RunOutcome::Timeout => output.to_owned(),
        _ if show_details => match outcome {
            RunOutcome::Panic => output.to_owned(),
            _ if output.is_empty() => "no output".to_owned(),
            _ => format!("returned: {output}"),
        },
        RunOutcome::Panic => {
            "panicked (message withheld; `health_details(true)` logs it)".to_owned()
        }
        RunOutcome::Ok | RunOutcome::Failed => {
            "returned a failure (output withheld; `health_details(true)` logs it)".to_owned()
        }
    };
    format!("health check `{name}` is {after} (was {from}): {reason}")
}

/// A run passed its timeout and did not end: it keeps its thread, and the check is not
/// run again until it ends.
pub(super) fn abandoned(info: &CheckInfo) {
    let why = if info.blocking {
        "a sync check cannot be stopped"
    } else {
        "this async check blocks its thread instead of awaiting, so it cannot be cancelled"
    };
    crate::diag::warn(&format!(
        "health check `{}`{} is still running after its {:?} timeout; {why}, so it is \
         reported as timed out, counted in `health_check_abandoned_runs`, and not run again \
         until it ends",
        info.name,
        at(info),
        info.timeout
    ));
}

/// An abandoned run returned, `elapsed` after it started.
pub(super) fn returned_late(info: &CheckInfo, elapsed: Duration) {
    crate::diag::warn(&format!(
        "health check `{}` returned {elapsed:.1?} after it started, past its {:?} timeout",
        info.name, info.timeout
    ));
}

/// ` (file:line)` of a `#[health_check]`, empty for built-in checks.
fn at(info: &CheckInfo) -> String {
    info.location
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_withhold_outputs_unless_details_are_shown() {
        let secret = "postgres://app:hunter2@db:5432";
        let change = |outcome, output| Transition {
            name: "database",
            before: Some(Status::Healthy),
            after: Status::Unhealthy,
            outcome,
            output,
        };
        let failed = change(RunOutcome::Failed, secret);
        let withheld = message(&failed, false);
        assert_eq!(
            withheld,
            "health check `database` is unhealthy (was healthy): returned a failure (output \
             withheld; `health_details(true)` logs it)"
        );
        assert!(message(&failed, true).ends_with(&format!("returned: {secret}")));
        let panic_text = format!("panicked: cannot reach {secret}");
        let panicked = change(RunOutcome::Panic, &panic_text);
        assert!(!message(&panicked, false).contains("hunter2"));
        assert!(message(&panicked, false).contains("panicked"));
        assert!(message(&panicked, true).contains(secret));
        // The runner's own words are always shown.
        let timeout = change(RunOutcome::Timeout, "timed out after 250ms");
        assert!(message(&timeout, false).ends_with(": timed out after 250ms"));
    }
}
