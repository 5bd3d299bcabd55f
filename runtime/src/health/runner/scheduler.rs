//! The scheduler: when each check runs, how many run at once, and what happens when a run
//! passes its deadline. It runs no user code and keeps every deadline itself; results go
//! to the state machine, and each change is published as a new snapshot.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use super::execute::{self, Cancel, Done, Executor, Msg};
use super::log;
use super::pool::RunThread;
use crate::health::model::{CheckDef, Exposure};
use crate::health::report::HealthReport;
use crate::health::settings::Config;
use crate::health::state::{CheckState, HealthSnapshot, RunOutcome};

struct Running {
    run: u64,
    started: Instant,
    deadline: Instant,
    /// `None` for sync runs, which cannot be stopped.
    cancel: Option<Cancel>,
    /// Its thread, which the pool replaces when the run passes its timeout.
    thread: RunThread,
    /// Past its timeout and still running then: its thread was replaced.
    replaced: bool,
    /// Past its deadline (reported as a timeout); the run is kept until it ends.
    timed_out: bool,
    /// Still running at the due time after its timeout: it holds its thread, which is
    /// counted (`health_check_abandoned_runs`) until the run ends.
    abandoned: bool,
}

struct Slot {
    def: CheckDef,
    /// `None` once a startup check passed.
    next_due: Option<Instant>,
    running: Option<Running>,
}

/// Where snapshots go: [`state::publish`](crate::health::state::publish), or a test's own
/// place.
pub(super) type Sink = Box<dyn Fn(HealthSnapshot) + Send>;

pub(super) struct Scheduler {
    slots: Vec<Slot>,
    states: Vec<CheckState>,
    exposure: Arc<Exposure>,
    sink: Sink,
    executor: Option<Executor>,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    limit: usize,
    active: usize,
    next_run: u64,
    rng: u64,
    dirty: bool,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        if let Some(executor) = self.executor.take() {
            executor.shutdown();
        }
    }
}

impl Scheduler {
    pub(super) fn new(
        config: Config,
        executor: Executor,
        tx: mpsc::Sender<Msg>,
        rx: mpsc::Receiver<Msg>,
        sink: Sink,
    ) -> Self {
        let now = Instant::now();
        let mut defs = config.checks;
        defs.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        let states = defs
            .iter()
            .map(|d| CheckState::new(Arc::clone(&d.info)))
            .collect();
        let slots = defs
            .into_iter()
            .map(|def| Slot {
                def,
                next_due: Some(now),
                running: None,
            })
            .collect();
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos().into())
            ^ u64::from(std::process::id()) << 32;
        Scheduler {
            slots,
            states,
            exposure: Arc::new(config.exposure),
            sink,
            executor: Some(executor),
            tx,
            rx,
            limit: config.concurrency,
            active: 0,
            next_run: 0,
            rng: seed | 1,
            dirty: false,
        }
    }

    pub(super) fn run(mut self) {
        loop {
            let now = Instant::now();
            self.expire(now);
            // Results are published before the next runs start, so a run sees the
            // snapshot that includes every result before it.
            self.publish_if_dirty();
            self.start_due(now);
            self.publish_if_dirty();
            let message = match self.next_wake() {
                Some(at) => self
                    .rx
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match message {
                Ok(Msg::Done(done)) => self.complete(done),
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn publish_if_dirty(&mut self) {
        if self.dirty {
            self.dirty = false;
            self.publish();
        }
    }

    pub(super) fn publish(&self) {
        (self.sink)(HealthSnapshot::new(
            self.states.clone(),
            Arc::clone(&self.exposure),
        ));
    }

    /// The next deadline, or due run that could start.
    fn next_wake(&self) -> Option<Instant> {
        let mut wake: Option<Instant> = None;
        for slot in &self.slots {
            let candidate = match &slot.running {
                Some(r) if !r.timed_out => Some(r.deadline),
                // Past its timeout and not ended: its next due time reports it still
                // running.
                Some(_) => slot.next_due,
                None if self.active < self.limit => slot.next_due,
                None => None,
            };
            if let Some(at) = candidate {
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
        }
        wake
    }

    /// Times out runs past their deadline. The run stays where it is until it ends: an
    /// async one is cancelled (it ends at its next await), a sync one cannot be, and is
    /// abandoned at once. Either way the check is not started again before it ends.
    fn expire(&mut self, now: Instant) {
        for index in 0..self.slots.len() {
            let slot = &mut self.slots[index];
            let Some(running) = &mut slot.running else {
                continue;
            };
            if running.timed_out || running.deadline > now {
                continue;
            }
            running.timed_out = true;
            let cancel = running.cancel.take();
            // Its thread is replaced at once, so the runs after it never wait for it;
            // `false` when it ended just now (its result is on its way).
            running.replaced = self
                .executor
                .as_ref()
                .is_some_and(|e| e.abandon(&running.thread));
            // A sync run cannot be stopped: abandoned at once. An async one is
            // cancelled, and abandoned only if it has not ended by its next due time.
            let sync = cancel.is_none() && running.replaced;
            running.abandoned = sync;
            if let Some(cancel) = cancel {
                let _ = cancel.send(());
            }
            self.active -= 1;
            let info = Arc::clone(&slot.def.info);
            // The next "still running" report comes one interval after this timeout,
            // not at a due time that passed while the run was within its timeout (it
            // would count the same stuck run twice at once).
            if slot.next_due.is_some() {
                let next = now + self.jittered(info.interval);
                self.slots[index].next_due = Some(next);
            }
            if sync {
                self.states[index].run_abandoned();
                log::abandoned(&info);
            }
            let timeout = info.timeout;
            let report = HealthReport::unhealthy(format!("timed out after {timeout:?}"));
            self.record(index, RunOutcome::Timeout, report, Some(timeout), now);
        }
    }

    /// Starts due runs, up to the concurrency limit, earliest first.
    fn start_due(&mut self, now: Instant) {
        let mut due: Vec<(Instant, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.next_due.filter(|d| *d <= now).map(|d| (d, i)))
            .collect();
        due.sort_unstable();
        for (_, index) in due {
            let interval = self.slots[index].def.info.interval;
            if let Some(running) = &mut self.slots[index].running {
                if !running.timed_out {
                    // Still within its timeout (jitter can bring the next due time before
                    // the deadline): not a failure. The next run starts when this one
                    // ends or times out, since its due time has passed.
                    continue;
                }
                // A run past its timeout that has not ended (an async one that did not
                // reach an await since it was cancelled): it holds its thread, and is
                // reported and counted at each due time, without a duration (nothing
                // ran, so nothing is observed in the histogram).
                let started = running.started;
                if !running.abandoned && running.replaced {
                    running.abandoned = true;
                    self.states[index].run_abandoned();
                    log::abandoned(&self.slots[index].def.info);
                }
                let report = HealthReport::unhealthy(format!(
                    "the previous run is still running, {:.1?} after it started (timeout {:?})",
                    now.saturating_duration_since(started),
                    self.slots[index].def.info.timeout
                ));
                self.slots[index].next_due = Some(now + self.jittered(interval));
                self.record(index, RunOutcome::Timeout, report, None, now);
                continue;
            }
            if self.active >= self.limit {
                break;
            }
            self.spawn(index, now);
            self.slots[index].next_due = Some(now + self.jittered(interval));
        }
    }

    /// `interval` ± 10 %, so instances started together do not probe a dependency in step.
    fn jittered(&mut self, interval: Duration) -> Duration {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        interval.mul_f64(0.9 + 0.2 * unit)
    }

    fn spawn(&mut self, index: usize, now: Instant) {
        let Some(executor) = &self.executor else {
            return;
        };
        let run = self.next_run;
        self.next_run += 1;
        let slot = &mut self.slots[index];
        let (thread, cancel) = execute::spawn(executor, &slot.def, index, run, self.tx.clone());
        slot.running = Some(Running {
            run,
            started: now,
            deadline: now + slot.def.info.timeout,
            cancel,
            thread,
            replaced: false,
            timed_out: false,
            abandoned: false,
        });
        self.active += 1;
    }

    fn complete(&mut self, done: Done) {
        let now = Instant::now();
        let slot = &mut self.slots[done.check];
        let Some(running) = &slot.running else {
            return;
        };
        if running.run != done.run {
            return;
        }
        if running.timed_out {
            // Its timeout was reported already; only its thread comes back.
            let abandoned = running.abandoned;
            slot.running = None;
            if abandoned {
                self.states[done.check].abandoned_run_returned();
                self.dirty = true;
                log::returned_late(&slot.def.info, done.elapsed);
            }
            return;
        }
        slot.running = None;
        self.active -= 1;
        let (index, elapsed) = (done.check, done.elapsed);
        // `None`: cancelled without a timeout, which only shutdown does.
        if let Some((outcome, report)) = done.outcome() {
            self.record(index, outcome, report, Some(elapsed), now);
        }
    }

    /// Reports a result to the check's state, logs the change it makes, and stops
    /// scheduling a startup check the state latched.
    fn record(
        &mut self,
        index: usize,
        outcome: RunOutcome,
        report: HealthReport,
        duration: Option<Duration>,
        now: Instant,
    ) {
        let state = &mut self.states[index];
        if let Some(change) = state.record(outcome, report, duration, now) {
            log::transition(&change, self.exposure.show_details);
        }
        if self.states[index].latched() {
            self.slots[index].next_due = None;
        }
        self.dirty = true;
    }
}
#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
