//! Health metrics, read from the same snapshot as the probes.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `health_check_status` | gauge, 1 for the current status, 0 for the others | `check`, `kind`, `critical`, `status` (`healthy`, `degraded`, `unhealthy`, `unknown`) |
//! | `health_check_runs_total` | counter | `check`, `outcome` (`ok`, `failed`, `timeout`, `panic`) |
//! | `health_check_duration_seconds` | histogram | `check` |
//! | `health_check_last_success_timestamp_seconds` | gauge, 0 before the first success | `check` |
//! | `health_check_abandoned_runs` | gauge: runs past their timeout that have not ended (a sync check, or an async one that blocks its thread) and still hold a thread | `check` |

use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use super::report::Status;
use super::state::{self, HealthSnapshot, RunOutcome};
use crate::collect::{Encoder, Snapshot, Source, SourceEntry};
use crate::model::{FamilyDesc, MetricType, Value};

const STATUS: &str = "health_check_status";
const RUNS: &str = "health_check_runs_total";
const DURATION: &str = "health_check_duration_seconds";
const LAST_SUCCESS: &str = "health_check_last_success_timestamp_seconds";
const ABANDONED: &str = "health_check_abandoned_runs";

struct HealthSource;

static HEALTH_SOURCE: HealthSource = HealthSource;

// Reads whatever is installed at scrape time: nothing before `install()`.
inventory::submit!(SourceEntry::new(30, &HEALTH_SOURCE));

struct View {
    snapshot: Arc<HealthSnapshot>,
    now: Instant,
}

impl Source for HealthSource {
    fn snapshot(&self) -> Box<dyn Snapshot + '_> {
        match state::snapshot() {
            Some(snapshot) if !snapshot.checks().is_empty() => Box::new(View {
                snapshot,
                now: Instant::now(),
            }),
            _ => Box::new(Empty),
        }
    }
}

struct Empty;

impl Snapshot for Empty {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        Vec::new()
    }

    fn encode(&self, _: &str, _: &mut dyn Encoder) {}
}

impl Snapshot for View {
    fn families(&self) -> Vec<FamilyDesc<'_>> {
        vec![
            FamilyDesc::fixed(
                STATUS,
                "Status of each health check: 1 for its current status, 0 for the others.",
                MetricType::Gauge,
                None,
            ),
            FamilyDesc::fixed(
                RUNS,
                "Runs of each health check, by outcome.",
                MetricType::Counter,
                None,
            ),
            FamilyDesc::fixed(
                DURATION,
                "Duration of health check runs.",
                MetricType::Histogram,
                Some("seconds"),
            ),
            FamilyDesc::fixed(
                LAST_SUCCESS,
                "When each health check last passed, in seconds since the epoch (0: never).",
                MetricType::Gauge,
                Some("seconds"),
            ),
            FamilyDesc::fixed(
                ABANDONED,
                "Sync health check runs past their timeout that still hold a thread.",
                MetricType::Gauge,
                None,
            ),
        ]
    }

    fn encode(&self, family: &str, out: &mut dyn Encoder) {
        for check in self.snapshot.checks() {
            let name = check.name();
            match family {
                STATUS => {
                    let current = check.effective(self.now).0;
                    let critical = if check.critical() { "true" } else { "false" };
                    for status in Status::ALL {
                        out.gauge(
                            &[
                                ("check", name),
                                ("kind", check.kind().as_str()),
                                ("critical", critical),
                                ("status", status.as_str()),
                            ],
                            Value::Int(u64::from(status == current)),
                        );
                    }
                }
                RUNS => {
                    for outcome in RunOutcome::ALL {
                        out.counter(
                            &[("check", name), ("outcome", outcome.as_str())],
                            Value::Int(check.runs(outcome)),
                        );
                    }
                }
                DURATION => out.histogram(&[("check", name)], &check.durations()),
                LAST_SUCCESS => {
                    let seconds = check
                        .last_success()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0.0, |d| d.as_secs_f64());
                    out.gauge(&[("check", name)], Value::Float(seconds));
                }
                ABANDONED => out.gauge(
                    &[("check", name)],
                    Value::Int(check.abandoned_runs().into()),
                ),
                _ => return,
            }
        }
    }
}
