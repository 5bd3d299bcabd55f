//! What each service's status is, read from the one health snapshot, judged exactly
//! as the HTTP probes judge it.
//!
//! - `""`: readiness, as `/readyz` answers it (`SERVING` for 200: healthy or
//!   degraded; `NOT_SERVING` for 503: a critical check failing, results pending, the
//!   shutdown drain);
//! - a check or a group, by name: as `/health/<name>` answers it (the worst own status
//!   of its checks), and `NOT_SERVING` for all of them during the shutdown drain, as
//!   gRPC servers report every service when they shut down;
//! - `liveness`, `readiness`, `startup` (the services Kubernetes gRPC probes are
//!   usually given, `grpc: {port: …, service: liveness}`), when no check or group has
//!   that name: as `/livez`, `/readyz`, `/startupz` answer;
//! - no snapshot (before `install()`, after the guard is dropped): `NOT_SERVING`.

use std::time::Instant;

use super::proto::ServingStatus;
use crate::health::{self, Probe};

/// Most services `List` answers with; more is `RESOURCE_EXHAUSTED` (the limit gRPC's
/// own implementations use).
pub const MAX_LIST_SERVICES: usize = 100;

/// The status of `service`; `None` when no check or group has that name.
pub(crate) fn status_of(service: &str) -> Option<ServingStatus> {
    let Some(snapshot) = health::snapshot() else {
        return Some(ServingStatus::NotServing);
    };
    let now = Instant::now();
    let readiness = snapshot.verdict(Probe::Readiness, &[], now);
    if service.is_empty() {
        // Something polls readiness: shutdown waits the drain delay for it.
        health::mark_probed();
        return Some(serving(readiness.status().is_available()));
    }
    let Some(verdict) = snapshot.named(service, &[], now) else {
        let probe = match service {
            "liveness" => Probe::Liveness,
            "readiness" => {
                health::mark_probed();
                return Some(serving(readiness.status().is_available()));
            }
            "startup" => Probe::Startup,
            _ => return None,
        };
        return Some(serving(
            snapshot.verdict(probe, &[], now).status().is_available(),
        ));
    };
    Some(serving(
        !readiness.draining() && verdict.status().is_available(),
    ))
}

/// The probes' service names.
const PROBES: [&str; 3] = ["liveness", "readiness", "startup"];

fn serving(yes: bool) -> ServingStatus {
    if yes {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

/// Every service: `""`, each check and each group, sorted, without duplicates.
pub(crate) fn services() -> Vec<String> {
    let mut names = vec![String::new()];
    names.extend(PROBES.map(str::to_owned));
    if let Some(snapshot) = health::snapshot() {
        for check in snapshot.checks() {
            names.push(check.name().to_owned());
            names.extend(check.groups().map(str::to_owned));
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether the health state went away after having been there (the guard was dropped):
/// watches end then, so that servers stopping after it are not held by them.
pub(crate) fn running() -> bool {
    health::snapshot().is_some()
}
