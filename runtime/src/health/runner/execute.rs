//! How one run executes: the private Tokio runtime, a run spawned on it (an async check on
//! a worker, a sync one on the blocking pool), panics caught, and the result sent back to
//! the scheduler, which alone keeps time.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::task::AbortHandle;
use tracing::Instrument as _;

use crate::error::Error;
use crate::health::model::CheckDef;
use crate::health::registry::{CheckFuture, Work};
use crate::health::report::HealthReport;
use crate::health::state::RunOutcome;

/// Async check runs are spread over this many worker threads, so one check that blocks
/// its thread does not stall the others.
pub(super) const WORKERS: usize = 2;

/// What the scheduler receives.
pub(super) enum Msg {
    Done(Done),
    Stop,
}

/// A run that returned or panicked.
pub(super) struct Done {
    pub(super) check: usize,
    pub(super) run: u64,
    result: Result<HealthReport, String>,
    /// Time spent in the check itself.
    pub(super) elapsed: Duration,
}

impl Done {
    /// How the run ended and what it reports: a panic is a failure that says so.
    pub(super) fn outcome(self) -> (RunOutcome, HealthReport) {
        match self.result {
            Ok(report) => (RunOutcome::returned(&report), report),
            Err(message) => (
                RunOutcome::Panic,
                HealthReport::unhealthy(format!("panicked: {message}")),
            ),
        }
    }
}

/// The runtime checks run on, sized for `concurrency` runs of which `blocking` checks
/// are sync.
pub(super) fn runtime(concurrency: usize, blocking: usize) -> Result<Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        // Runs in progress plus one abandoned run per sync check at most.
        .max_blocking_threads(concurrency + blocking + 1)
        .thread_name("flext-obs-check")
        .enable_all()
        .build()
        .map_err(Error::Spawn)
}

/// Starts run `run` of the check at `index`, which sends its [`Done`] on `tx`. Returns
/// how to abort it: `None` for a sync run, which cannot be stopped.
pub(super) fn spawn(
    runtime: &Runtime,
    def: &CheckDef,
    index: usize,
    run: u64,
    tx: mpsc::Sender<Msg>,
) -> Option<AbortHandle> {
    let info = &def.info;
    let span = tracing::info_span!("health_check", check = %info.name, kind = info.kind.as_str());
    match &def.work {
        Work::Async(make) => {
            let make = Arc::clone(make);
            let task = async move {
                let started = Instant::now();
                let result = match catch_unwind(AssertUnwindSafe(|| make())) {
                    Ok(future) => CatchUnwind(future).await,
                    Err(payload) => Err(payload),
                };
                let _ = tx.send(Msg::Done(Done {
                    check: index,
                    run,
                    result: result.map_err(|payload| panic_message(&*payload)),
                    elapsed: started.elapsed(),
                }));
            };
            Some(runtime.spawn(task.instrument(span)).abort_handle())
        }
        Work::Blocking(call) => {
            let call = Arc::clone(call);
            runtime.spawn_blocking(move || {
                let _entered = span.enter();
                let started = Instant::now();
                let result = catch_unwind(AssertUnwindSafe(|| call()));
                let _ = tx.send(Msg::Done(Done {
                    check: index,
                    run,
                    result: result.map_err(|payload| panic_message(&*payload)),
                    elapsed: started.elapsed(),
                }));
            });
            None
        }
    }
}

/// Polls a boxed future, catching panics.
struct CatchUnwind(CheckFuture);

impl Future for CatchUnwind {
    type Output = Result<HealthReport, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(report)) => Poll::Ready(Ok(report)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_failures_that_say_so() {
        let done = Done {
            check: 0,
            run: 0,
            result: Err(panic_message(&"pool closed")),
            elapsed: Duration::ZERO,
        };
        let (outcome, report) = done.outcome();
        assert_eq!(outcome, RunOutcome::Panic);
        assert_eq!(report.output_text(), Some("panicked: pool closed"));
        let degraded = Done {
            result: Ok(HealthReport::degraded("slow")),
            check: 0,
            run: 0,
            elapsed: Duration::ZERO,
        };
        assert_eq!(degraded.outcome().0, RunOutcome::Ok);
        assert_eq!(
            panic_message(&String::from("owned")),
            "owned",
            "panic!(\"{{}}\", ..) payloads are Strings"
        );
        assert_eq!(panic_message(&42), "a panic without a message");
    }
}
