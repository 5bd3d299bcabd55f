//! The background runner: one scheduler thread that never runs user code, a pool of
//! threads that run the checks (as many as may run at once, plus one per abandoned
//! run), and a private Tokio runtime for the I/O and timers of async checks.
//!
//! The scheduler keeps every deadline itself, so a check that blocks its thread, a
//! saturated application runtime or a hung dependency cannot delay a timeout, a result
//! or a probe. Every run has a thread of its own, so a check that blocks holds only its
//! own. A timed-out async check has its future dropped at its next await; a run that
//! does not end (a sync check, or an async one that blocks instead of awaiting) is
//! reported, counted as abandoned, and not started again until it ends. Panics are
//! caught and reported as failures.
//!
//! The runner decides when runs happen and how they end; what a result means (thresholds,
//! the start-up latch, staleness, verdicts) is the state machine's, in
//! [`state`](super::state), to which every result is reported.

mod execute;
mod log;
mod pool;
mod scheduler;

use std::sync::mpsc;

use super::settings::Config;
use super::state;
use crate::error::Error;
use execute::Msg;
use scheduler::Scheduler;

/// Handle held by the guard; dropping it stops the runner.
pub(crate) struct Runner {
    tx: mpsc::Sender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").finish_non_exhaustive()
    }
}

impl Runner {
    /// Publishes a snapshot with every check pending, then starts the first runs.
    pub(crate) fn start(config: Config) -> Result<Runner, Error> {
        let executor = execute::Executor::new(config.concurrency, config.checks.len())?;
        let (tx, rx) = mpsc::channel();
        let scheduler = Scheduler::new(config, executor, tx.clone(), rx, Box::new(state::publish));
        scheduler.publish();
        let thread = std::thread::Builder::new()
            .name("flext-obs-health".into())
            .spawn(move || scheduler.run())
            .map_err(Error::Spawn)?;
        Ok(Runner {
            tx,
            thread: Some(thread),
        })
    }

    pub(crate) fn stop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        state::clear();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop();
    }
}
