//! How one run executes: the private Tokio runtime, a run started on a thread of its
//! own, panics caught, and the end of the run sent back to the scheduler, which alone
//! keeps time.
//!
//! Every run, async or sync, runs on a thread of its own from the runner's [`Pool`] (an
//! async check is driven there by `block_on`, its I/O and timers by the runtime's
//! workers): a check that blocks its thread (`std::thread::sleep` or a blocking call
//! inside an `async fn`) holds that thread only, never one another check needs. An async run is
//! cancelled at its timeout by dropping its future at its next await; a run that does
//! not reach one, like a sync run, cannot be stopped, and is not started again until it
//! ends. Whatever happens, even a panic payload whose own `Drop` panics, the scheduler
//! hears that the run ended.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use super::pool::{Pool, RunThread};
use crate::error::Error;
use crate::health::model::CheckDef;
use crate::health::registry::{CheckFuture, Work};
use crate::health::report::HealthReport;
use crate::health::state::RunOutcome;

/// Worker threads of the check runtime: they drive the I/O and timers of async checks
/// (which run on the pool's threads) and the tasks those checks spawn.
pub(super) const WORKERS: usize = 2;

/// What the scheduler receives.
pub(super) enum Msg {
    Done(Done),
    Stop,
}

/// How a run ended.
pub(super) enum Ended {
    Returned(HealthReport),
    /// The panic message.
    Panicked(String),
    /// An async run whose future was dropped: cancelled at its timeout, or at shutdown.
    Cancelled,
}

/// A run that ended.
pub(super) struct Done {
    pub(super) check: usize,
    pub(super) run: u64,
    pub(super) ended: Ended,
    /// Time spent in the check itself.
    pub(super) elapsed: Duration,
}

impl Done {
    /// How the run ended and what it reports: a panic is a failure that says so; `None`
    /// for a cancelled run, whose timeout was reported when it happened.
    pub(super) fn outcome(self) -> Option<(RunOutcome, HealthReport)> {
        match self.ended {
            Ended::Returned(report) => Some((RunOutcome::returned(&report), report)),
            Ended::Panicked(message) => Some((
                RunOutcome::Panic,
                HealthReport::unhealthy(format!("panicked: {message}")),
            )),
            Ended::Cancelled => None,
        }
    }
}

/// Tells the scheduler that a run ended, exactly once: when the run gives its result,
/// or else when it is dropped (a cancelled future, a thread unwinding).
struct Report {
    tx: mpsc::Sender<Msg>,
    check: usize,
    run: u64,
    started: Instant,
    sent: bool,
}

impl Report {
    fn new(tx: mpsc::Sender<Msg>, check: usize, run: u64) -> Self {
        Report {
            tx,
            check,
            run,
            started: Instant::now(),
            sent: false,
        }
    }

    /// The run starts now, on its thread (time queued for a thread is not the check's).
    fn start(&mut self) {
        self.started = Instant::now();
    }

    fn send(mut self, ended: Ended) {
        self.sent = true;
        let _ = self.tx.send(Msg::Done(Done {
            check: self.check,
            run: self.run,
            ended,
            elapsed: self.started.elapsed(),
        }));
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.sent {
            let _ = self.tx.send(Msg::Done(Done {
                check: self.check,
                run: self.run,
                ended: Ended::Cancelled,
                elapsed: self.started.elapsed(),
            }));
        }
    }
}

/// Where runs execute: the pool's threads, and the Tokio runtime that drives the I/O and
/// timers of async checks.
pub(super) struct Executor {
    runtime: Runtime,
    pool: Pool,
}

impl Executor {
    /// For `concurrency` runs at once among `checks` checks.
    pub(super) fn new(concurrency: usize, checks: usize) -> Result<Executor, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            // For checks that call `spawn_blocking` themselves.
            .max_blocking_threads(concurrency + checks + 1)
            .thread_name("flext-obs-check-io")
            .enable_all()
            .build()
            .map_err(Error::Spawn)?;
        Ok(Executor {
            runtime,
            pool: Pool::new(concurrency)?,
        })
    }

    /// Gives up on a run past its timeout (see [`Pool::abandon`]).
    pub(super) fn abandon(&self, run: &RunThread) -> bool {
        self.pool.abandon(run)
    }

    /// Stops without waiting: runs may be stuck forever, and the guard may be dropped
    /// inside an async context where blocking on a runtime is forbidden.
    pub(super) fn shutdown(self) {
        self.runtime.shutdown_background();
        drop(self.pool);
    }
}

/// Cancels an async run: its future is dropped at its next await.
pub(super) type Cancel = oneshot::Sender<()>;

/// Starts run `run` of the check at `index`, which sends its [`Done`] on `tx`. Returns
/// its thread, and how to cancel it: `None` for a sync run, which cannot be stopped.
pub(super) fn spawn(
    executor: &Executor,
    def: &CheckDef,
    index: usize,
    run: u64,
    tx: mpsc::Sender<Msg>,
) -> (RunThread, Option<Cancel>) {
    let info = &def.info;
    let span = tracing::info_span!("health_check", check = %info.name, kind = info.kind.as_str());
    let mut report = Report::new(tx, index, run);
    match &def.work {
        Work::Async(make) => {
            let make = Arc::clone(make);
            let handle = executor.runtime.handle().clone();
            let (cancel, cancelled) = oneshot::channel::<()>();
            let thread = executor.pool.run(move || {
                report.start();
                let _entered = span.enter();
                let ended = match catch_unwind(AssertUnwindSafe(|| make())) {
                    Ok(future) => handle.block_on(async move {
                        tokio::select! {
                            result = CatchUnwind(future) => Some(result),
                            _ = cancelled => None,
                        }
                    }),
                    Err(payload) => Some(Err(payload)),
                };
                match ended {
                    Some(result) => report.send(ended_by(result)),
                    None => report.send(Ended::Cancelled),
                }
            });
            (thread, Some(cancel))
        }
        Work::Blocking(call) => {
            let call = Arc::clone(call);
            let thread = executor.pool.run(move || {
                report.start();
                let _entered = span.enter();
                let result = catch_unwind(AssertUnwindSafe(|| call()));
                report.send(ended_by(result));
            });
            (thread, None)
        }
    }
}

fn ended_by(result: Result<HealthReport, Box<dyn Any + Send>>) -> Ended {
    match result {
        Ok(report) => Ended::Returned(report),
        Err(payload) => Ended::Panicked(panic_message(payload)),
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

/// The message of a panic, and the payload dropped where a panic of its own `Drop`
/// cannot escape (such a second payload is leaked rather than dropped).
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    };
    if let Err(second) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(second);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_failures_that_say_so() {
        let done = Done {
            check: 0,
            run: 0,
            ended: Ended::Panicked(panic_message(Box::new("pool closed"))),
            elapsed: Duration::ZERO,
        };
        let (outcome, report) = done.outcome().unwrap();
        assert_eq!(outcome, RunOutcome::Panic);
        assert_eq!(report.output_text(), Some("panicked: pool closed"));
        let degraded = Done {
            ended: Ended::Returned(HealthReport::degraded("slow")),
            check: 0,
            run: 0,
            elapsed: Duration::ZERO,
        };
        assert_eq!(degraded.outcome().unwrap().0, RunOutcome::Ok);
        assert_eq!(
            panic_message(Box::new(String::from("owned"))),
            "owned",
            "panic!(\"{{}}\", ..) payloads are Strings"
        );
        assert_eq!(panic_message(Box::new(42)), "a panic without a message");
    }

    /// A payload whose `Drop` panics, with a payload whose `Drop` panics in turn.
    struct Bomb(u32);

    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.0 > 0 {
                std::panic::panic_any(Bomb(self.0 - 1));
            }
        }
    }

    #[test]
    fn a_payload_whose_drop_panics_does_not_escape() {
        assert_eq!(
            panic_message(Box::new(Bomb(2))),
            "a panic without a message"
        );
    }
}
