//! The background runner: one scheduler thread that never runs user code, and a private
//! Tokio runtime whose workers and blocking pool run the checks.
//!
//! The scheduler keeps every deadline itself, so a check that blocks a worker thread, a
//! saturated application runtime or a hung dependency cannot delay a timeout, a result
//! or a probe: a timed-out async check has its future dropped (task aborted); a timed-out
//! sync check cannot be stopped, so it is reported, counted, and not started again until
//! it returns. Panics are caught and reported as failures.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::AbortHandle;
use tracing::Instrument as _;

use super::registry::{CheckFuture, Work};
use super::report::{HealthReport, Kind, Status};
use super::settings::{CheckDef, CheckInfo, Config, Exposure};
use super::state::{self, CheckState, DURATION_BOUNDS, HealthSnapshot, LastRun, RunOutcome};
use crate::Error;

/// Async check runs are spread over this many worker threads, so one check that blocks
/// its thread does not stall the others.
const WORKERS: usize = 2;

enum Msg {
    Done(Done),
    Stop,
}

struct Done {
    check: usize,
    run: u64,
    result: Result<HealthReport, String>,
    /// Time spent in the check itself.
    elapsed: Duration,
}

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
        let blocking = config.checks.iter().filter(|c| c.info.blocking).count();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            // Runs in progress plus one abandoned run per sync check at most.
            .max_blocking_threads(config.concurrency + blocking + 1)
            .thread_name("flext-obs-check")
            .enable_all()
            .build()
            .map_err(Error::Spawn)?;
        let (tx, rx) = mpsc::channel();
        let scheduler = Scheduler::new(config, runtime, tx.clone(), rx);
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

struct Running {
    run: u64,
    started: Instant,
    deadline: Instant,
    /// `None` for sync runs, which cannot be stopped.
    abort: Option<AbortHandle>,
    timed_out: bool,
}

struct Slot {
    def: CheckDef,
    /// `None` once a startup check passed.
    next_due: Option<Instant>,
    running: Option<Running>,
}

struct Scheduler {
    slots: Vec<Slot>,
    states: Vec<CheckState>,
    exposure: Arc<Exposure>,
    runtime: Option<tokio::runtime::Runtime>,
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
        // Never waits: sync checks may be stuck forever, and the guard may be dropped
        // inside an async context where blocking on a runtime is forbidden.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Scheduler {
    fn new(
        config: Config,
        runtime: tokio::runtime::Runtime,
        tx: mpsc::Sender<Msg>,
        rx: mpsc::Receiver<Msg>,
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
            runtime: Some(runtime),
            tx,
            rx,
            limit: config.concurrency,
            active: 0,
            next_run: 0,
            rng: seed | 1,
            dirty: false,
        }
    }

    fn run(mut self) {
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

    fn publish(&self) {
        state::publish(HealthSnapshot {
            checks: self.states.clone(),
            exposure: Arc::clone(&self.exposure),
        });
    }

    /// The next deadline, or due run that could start.
    fn next_wake(&self) -> Option<Instant> {
        let mut wake: Option<Instant> = None;
        for slot in &self.slots {
            let candidate = match &slot.running {
                Some(r) if !r.timed_out => Some(r.deadline),
                // An abandoned sync run: its next due time reports it still running.
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

    /// Times out runs past their deadline.
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
            self.active -= 1;
            let info = Arc::clone(&slot.def.info);
            let timeout = info.timeout;
            if let Some(abort) = running.abort.take() {
                // Drops the future at its next poll point.
                abort.abort();
                slot.running = None;
            } else {
                self.states[index].abandoned = 1;
                crate::diag::warn(&format!(
                    "health check `{}`{} is still running after its {timeout:?} timeout; a \
                     sync check cannot be stopped, so it is reported as timed out and not run \
                     again until it returns",
                    info.name,
                    at(&info)
                ));
            }
            let report = HealthReport::unhealthy(format!("timed out after {timeout:?}"));
            self.record(index, RunOutcome::Timeout, report, timeout, now);
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
            if let Some(running) = &self.slots[index].running {
                // Only an abandoned sync run is still here when due again.
                let report = HealthReport::unhealthy(format!(
                    "the previous run is still running, {:.1?} after it started (timeout {:?})",
                    now.saturating_duration_since(running.started),
                    self.slots[index].def.info.timeout
                ));
                self.slots[index].next_due = Some(now + self.jittered(interval));
                self.record(index, RunOutcome::Timeout, report, Duration::ZERO, now);
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
        let Some(runtime) = &self.runtime else { return };
        let run = self.next_run;
        self.next_run += 1;
        let slot = &mut self.slots[index];
        let info = &slot.def.info;
        let tx = self.tx.clone();
        let span =
            tracing::info_span!("health_check", check = %info.name, kind = info.kind.as_str());
        let abort = match &slot.def.work {
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
        };
        slot.running = Some(Running {
            run,
            started: now,
            deadline: now + info.timeout,
            abort,
            timed_out: false,
        });
        self.active += 1;
    }

    fn complete(&mut self, done: Done) {
        let now = Instant::now();
        let slot = &mut self.slots[done.check];
        let Some(running) = &slot.running else {
            return; // an aborted run that finished before the abort took effect
        };
        if running.run != done.run {
            return;
        }
        if running.timed_out {
            // An abandoned sync run came back: it was counted as a timeout already.
            slot.running = None;
            self.states[done.check].abandoned = 0;
            self.dirty = true;
            crate::diag::warn(&format!(
                "health check `{}` returned {:.1?} after it started, past its {:?} timeout",
                slot.def.info.name, done.elapsed, slot.def.info.timeout
            ));
            return;
        }
        slot.running = None;
        self.active -= 1;
        let (outcome, report) = match done.result {
            Ok(report) => match report.status() {
                Status::Healthy | Status::Degraded => (RunOutcome::Ok, report),
                Status::Unhealthy | Status::Unknown => (RunOutcome::Failed, report),
            },
            Err(message) => (
                RunOutcome::Panic,
                HealthReport::unhealthy(format!("panicked: {message}")),
            ),
        };
        self.record(done.check, outcome, report, done.elapsed, now);
    }

    /// Counts a run and moves the reported status through the thresholds.
    fn record(
        &mut self,
        index: usize,
        outcome: RunOutcome,
        report: HealthReport,
        duration: Duration,
        now: Instant,
    ) {
        let state = &mut self.states[index];
        let info = Arc::clone(&state.info);
        let time = SystemTime::now();
        state.runs[outcome as usize] += 1;
        let seconds = duration.as_secs_f64();
        let bucket = DURATION_BOUNDS.iter().filter(|b| **b < seconds).count();
        state.buckets[bucket] += 1;
        state.duration_sum += seconds;

        let raw = report.status();
        let passing = matches!(raw, Status::Healthy | Status::Degraded);
        if passing {
            state.last_success = Some(time);
            state.consecutive_successes += 1;
            state.consecutive_failures = 0;
        } else {
            state.consecutive_failures += 1;
            state.consecutive_successes = 0;
        }
        let before = state.reported;
        state.reported = Some(match before {
            None => raw,
            Some(previous) => {
                let was_passing = matches!(previous, Status::Healthy | Status::Degraded);
                if was_passing == passing
                    || (passing && state.consecutive_successes >= info.success_threshold)
                    || (!passing && state.consecutive_failures >= info.failure_threshold)
                {
                    raw
                } else {
                    previous
                }
            }
        });
        if info.kind == Kind::Startup && passing && state.reported == Some(raw) {
            state.latched = true;
            self.slots[index].next_due = None;
        }
        let output = report.output_text().unwrap_or("").to_owned();
        state.last = Some(LastRun {
            report,
            time,
            duration,
        });
        state.completed_at = Some(now);
        self.dirty = true;

        let after = state.reported;
        if after != before {
            log_transition(&info.name, before, after.unwrap_or(raw), &output);
        }
    }
}

/// ` (file:line)` of a `#[health_check]`, empty for built-in checks.
fn at(info: &CheckInfo) -> String {
    info.location
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default()
}

fn log_transition(name: &str, before: Option<Status>, after: Status, output: &str) {
    let failing = matches!(after, Status::Unhealthy | Status::Unknown);
    let from = before.map_or("pending", Status::as_str);
    if failing {
        crate::diag::warn(&format!(
            "health check `{name}` is {after} (was {from}): {output}"
        ));
    } else {
        tracing::info!(target: "flext_observability", check = name, from, to = after.as_str(), "health check recovered");
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
    use crate::health::settings::CheckInfo;

    fn config(work: Work, blocking: bool) -> Config {
        Config {
            concurrency: 1,
            exposure: Exposure::default(),
            drain_delay: Duration::ZERO,
            checks: vec![CheckDef {
                info: Arc::new(CheckInfo {
                    name: "noop".into(),
                    kind: Kind::Readiness,
                    critical: true,
                    groups: Vec::new(),
                    interval: Duration::from_hours(1),
                    timeout: Duration::from_secs(10),
                    failure_threshold: 1,
                    success_threshold: 1,
                    blocking,
                    location: None,
                }),
                work,
            }],
            process_metrics: false,
        }
    }

    /// Drives the scheduler by hand: dispatch one run, receive its result, record and
    /// publish it. Returns the median and 99th percentile of that round trip minus the
    /// time spent in the check itself.
    fn overhead(work: Work, blocking: bool, runs: usize) -> (Duration, Duration) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let mut scheduler = Scheduler::new(config(work, blocking), runtime, tx, rx);
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            scheduler.spawn(0, started);
            let Ok(Msg::Done(done)) = scheduler.rx.recv() else {
                panic!("no result");
            };
            let elapsed = done.elapsed;
            scheduler.complete(done);
            scheduler.publish_if_dirty();
            samples.push(started.elapsed().saturating_sub(elapsed));
        }
        samples.sort_unstable();
        (samples[runs / 2], samples[runs * 99 / 100])
    }

    #[test]
    fn runs_record_and_publish() {
        let work = Work::Blocking(Arc::new(HealthReport::healthy));
        let (median, _) = overhead(work, true, 20);
        assert!(median > Duration::ZERO);
        let snapshot = state::snapshot().unwrap();
        assert_eq!(snapshot.checks()[0].runs[RunOutcome::Ok as usize], 20);
    }

    #[test]
    fn concurrency_limit_and_jitter() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap();
        let make: Arc<dyn Fn() -> CheckFuture + Send + Sync> =
            Arc::new(|| Box::pin(std::future::pending()));
        let mut config = config(Work::Async(make), false);
        let second = CheckDef {
            info: Arc::new(CheckInfo {
                name: "other".into(),
                ..CheckInfo::clone_for_test(&config.checks[0].info)
            }),
            work: config.checks[0].work.clone(),
        };
        config.checks.push(second);
        let (tx, rx) = mpsc::channel();
        let mut scheduler = Scheduler::new(config, runtime, tx, rx);
        let now = Instant::now();
        scheduler.start_due(now);
        // Both are due; the limit of one lets one run, the other waits its turn.
        assert_eq!(scheduler.active, 1);
        let running: Vec<bool> = scheduler
            .slots
            .iter()
            .map(|s| s.running.is_some())
            .collect();
        assert_eq!(running, [true, false]);
        assert_eq!(
            scheduler.next_wake(),
            Some(now + Duration::from_secs(10)),
            "the deadline"
        );
        // Its timeout frees the slot for the waiting check.
        scheduler.expire(now + Duration::from_secs(10));
        scheduler.start_due(now + Duration::from_secs(10));
        assert_eq!(scheduler.active, 1);
        assert!(scheduler.slots[1].running.is_some());

        let interval = Duration::from_secs(100);
        for _ in 0..1000 {
            let d = scheduler.jittered(interval);
            assert!(
                d >= Duration::from_secs(90) && d <= Duration::from_secs(110),
                "{d:?}"
            );
        }
    }

    /// `cargo test --release -p flext-observability --lib scheduling_overhead -- --ignored --nocapture`
    #[test]
    #[ignore = "measurement, run by benches/health_probe.sh"]
    fn scheduling_overhead() {
        const RUNS: usize = 20_000;
        let sync = overhead(Work::Blocking(Arc::new(HealthReport::healthy)), true, RUNS);
        let make: Arc<dyn Fn() -> CheckFuture + Send + Sync> =
            Arc::new(|| Box::pin(async { HealthReport::healthy() }));
        let asynchronous = overhead(Work::Async(make), false, RUNS);
        println!(
            "scheduling overhead per run ({RUNS} runs): sync p50 {:?} p99 {:?}; async p50 {:?} p99 {:?}",
            sync.0, sync.1, asynchronous.0, asynchronous.1
        );
    }
}
