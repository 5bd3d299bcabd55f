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
use crate::error::Error;

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
        let scheduler = Scheduler::new(config, runtime, tx.clone(), rx, Box::new(state::publish));
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

/// Where snapshots go: [`state::publish`], or a test's own place.
type Sink = Box<dyn Fn(HealthSnapshot) + Send>;

struct Scheduler {
    slots: Vec<Slot>,
    states: Vec<CheckState>,
    exposure: Arc<Exposure>,
    sink: Sink,
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
        (self.sink)(HealthSnapshot {
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
            let abort = running.abort.take();
            self.active -= 1;
            let info = Arc::clone(&slot.def.info);
            let timeout = info.timeout;
            if let Some(abort) = abort {
                // Drops the future at its next poll point.
                abort.abort();
                slot.running = None;
            } else {
                // The next "still running" report comes one interval after this timeout,
                // not at a due time that passed while the run was within its timeout (it
                // would count the same stuck run twice at once).
                if slot.next_due.is_some() {
                    let next = now + self.jittered(info.interval);
                    self.slots[index].next_due = Some(next);
                }
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
            if let Some(running) = &self.slots[index].running {
                if !running.timed_out {
                    // Still within its timeout (jitter can bring the next due time before
                    // the deadline): not a failure. The next run starts when this one
                    // ends or times out, since its due time has passed.
                    continue;
                }
                // An abandoned sync run: reported and counted at each due time, without a
                // duration (nothing ran, so nothing is observed in the histogram).
                let report = HealthReport::unhealthy(format!(
                    "the previous run is still running, {:.1?} after it started (timeout {:?})",
                    now.saturating_duration_since(running.started),
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
        self.record(done.check, outcome, report, Some(done.elapsed), now);
    }

    /// Counts a run and moves the reported status through the thresholds. `duration` is
    /// `None` for a report that an abandoned run is still going: counted, not observed.
    fn record(
        &mut self,
        index: usize,
        outcome: RunOutcome,
        report: HealthReport,
        duration: Option<Duration>,
        now: Instant,
    ) {
        let state = &mut self.states[index];
        let info = Arc::clone(&state.info);
        let time = SystemTime::now();
        state.runs[outcome as usize] += 1;
        if let Some(duration) = duration {
            let seconds = duration.as_secs_f64();
            let bucket = DURATION_BOUNDS.iter().filter(|b| **b < seconds).count();
            state.buckets[bucket] += 1;
            state.duration_sum += seconds;
        }

        let raw = report.status();
        let passing = matches!(raw, Status::Healthy | Status::Degraded);
        // Saturating: a check failing every second for 136 years must not panic the
        // scheduler in a debug build.
        if passing {
            state.last_success = Some(time);
            state.consecutive_successes = state.consecutive_successes.saturating_add(1);
            state.consecutive_failures = 0;
        } else {
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
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
            let change = Transition {
                name: &info.name,
                before,
                after: after.unwrap_or(raw),
                outcome,
                output: &output,
            };
            change.log(self.exposure.show_details);
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

/// A change of a check's reported status, for the log.
struct Transition<'a> {
    name: &'a str,
    before: Option<Status>,
    after: Status,
    outcome: RunOutcome,
    /// What the check returned (or the panic message): the application's text, which may
    /// hold a connection string or a host name.
    output: &'a str,
}

impl Transition<'_> {
    fn log(&self, show_details: bool) {
        let failing = matches!(self.after, Status::Unhealthy | Status::Unknown);
        if failing {
            crate::diag::warn(&self.message(show_details));
        } else {
            let from = self.before.map_or("pending", Status::as_str);
            tracing::info!(target: "flext_observability", check = self.name, from, to = self.after.as_str(), "health check recovered");
        }
    }

    /// The warning for a failing check. The check's own output goes to the log only
    /// when details are shown to everyone (`health_details(true)`): logs often travel
    /// further than the probes, and the probes withhold it by default. Timeouts are
    /// described by the runner itself, so their text is always safe.
    fn message(&self, show_details: bool) -> String {
        let Transition {
            name,
            after,
            outcome,
            output,
            ..
        } = *self;
        let from = self.before.map_or("pending", Status::as_str);
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
    use std::sync::Mutex;

    use super::*;
    use crate::health::settings::CheckInfo;

    fn info(name: &str, blocking: bool) -> CheckInfo {
        CheckInfo {
            name: name.into(),
            kind: Kind::Readiness,
            critical: true,
            groups: Vec::new(),
            interval: Duration::from_hours(1),
            timeout: Duration::from_secs(10),
            failure_threshold: 1,
            success_threshold: 1,
            blocking,
            location: None,
        }
    }

    fn config(work: Work, blocking: bool) -> Config {
        Config {
            concurrency: 1,
            exposure: Exposure::default(),
            drain_delay: Duration::ZERO,
            checks: vec![CheckDef {
                info: Arc::new(info("noop", blocking)),
                work,
            }],
            process_metrics: false,
        }
    }

    /// The latest snapshot the scheduler published, kept here instead of in the process's
    /// health state, which other tests (and an installed runtime) own.
    type Published = Arc<Mutex<Option<HealthSnapshot>>>;

    fn scheduler(config: Config) -> (Scheduler, Published) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let published = Published::default();
        let sink = Arc::clone(&published);
        let scheduler = Scheduler::new(
            config,
            runtime,
            tx,
            rx,
            Box::new(move |snapshot| *sink.lock().unwrap() = Some(snapshot)),
        );
        (scheduler, published)
    }

    /// Drives the scheduler by hand: dispatch one run, receive its result, record and
    /// publish it. Returns the scheduler, what it published, and the median and 99th
    /// percentile of that round trip minus the time spent in the check itself.
    fn overhead(
        work: Work,
        blocking: bool,
        runs: usize,
    ) -> (Scheduler, Published, (Duration, Duration)) {
        let (mut scheduler, published) = scheduler(config(work, blocking));
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
        let percentiles = (samples[runs / 2], samples[runs * 99 / 100]);
        (scheduler, published, percentiles)
    }

    #[test]
    fn runs_record_and_publish() {
        let work = Work::Blocking(Arc::new(HealthReport::healthy));
        let (scheduler, published, _) = overhead(work, true, 20);
        assert_eq!(scheduler.active, 0, "every run came back");
        let published = published.lock().unwrap();
        let check = &published.as_ref().expect("published").checks()[0];
        assert_eq!(check.runs, [20, 0, 0, 0]);
        assert_eq!(
            check.buckets.iter().sum::<u64>(),
            20,
            "one observation per run"
        );
        assert_eq!(check.reported, Some(Status::Healthy));
        assert_eq!(check.consecutive_successes, 20);
        assert!(check.duration().is_some() && check.last_success().is_some());
    }

    #[test]
    fn concurrency_limit_and_jitter() {
        let make: Arc<dyn Fn() -> CheckFuture + Send + Sync> =
            Arc::new(|| Box::pin(std::future::pending()));
        let mut config = config(Work::Async(make), false);
        let second = CheckDef {
            info: Arc::new(info("other", false)),
            work: config.checks[0].work.clone(),
        };
        config.checks.push(second);
        let (mut scheduler, _) = scheduler(config);
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

    /// A sync check that blocks until the test lets it return.
    fn stuck() -> (Work, mpsc::Sender<()>) {
        let (release, wait) = mpsc::channel::<()>();
        let wait = Mutex::new(wait);
        let work = Work::Blocking(Arc::new(move || {
            let _ = wait.lock().unwrap().recv();
            HealthReport::healthy()
        }));
        (work, release)
    }

    #[test]
    fn a_run_within_its_timeout_is_not_a_timeout() {
        let (work, release) = stuck();
        let (mut scheduler, _) = scheduler(config(work, true));
        let start = Instant::now();
        scheduler.start_due(start);
        // Due again (as jitter can make it) while the run is within its 10 s timeout.
        scheduler.slots[0].next_due = Some(start + Duration::from_secs(1));
        scheduler.start_due(start + Duration::from_secs(2));
        assert_eq!(scheduler.states[0].runs, [0; 4], "nothing is recorded");
        assert!(scheduler.states[0].last.is_none());
        assert_eq!(scheduler.active, 1);
        // Its deadline, not the passed due time, is what the scheduler waits for.
        assert_eq!(scheduler.next_wake(), Some(start + Duration::from_secs(10)));
        // It returns in time: one ok run.
        release.send(()).unwrap();
        let Ok(Msg::Done(done)) = scheduler.rx.recv() else {
            panic!("no result");
        };
        scheduler.complete(done);
        assert_eq!(scheduler.states[0].runs, [1, 0, 0, 0]);
    }

    #[test]
    fn an_abandoned_sync_run_is_counted_but_not_observed() {
        let (work, release) = stuck();
        let (mut scheduler, published) = scheduler(config(work, true));
        let start = Instant::now();
        scheduler.start_due(start);
        let deadline = start + Duration::from_secs(10);
        scheduler.expire(deadline);
        let state = &scheduler.states[0];
        assert_eq!(state.runs[RunOutcome::Timeout as usize], 1);
        assert_eq!(state.buckets.iter().sum::<u64>(), 1, "the timed-out run");
        assert!((state.duration_sum - 10.0).abs() < 1e-9);
        assert_eq!(state.abandoned, 1);
        // Reported again one interval (±10 %) after the timeout, not at once.
        let next = scheduler.slots[0].next_due.unwrap();
        assert!(next >= deadline + Duration::from_mins(54), "{next:?}");
        scheduler.start_due(deadline);
        assert_eq!(scheduler.states[0].runs[RunOutcome::Timeout as usize], 1);

        for _ in 0..3 {
            let due = scheduler.slots[0].next_due.unwrap();
            scheduler.start_due(due);
        }
        scheduler.publish_if_dirty();
        let published = published.lock().unwrap();
        let state = &published.as_ref().unwrap().checks()[0];
        assert_eq!(state.runs[RunOutcome::Timeout as usize], 4);
        assert_eq!(
            state.buckets.iter().sum::<u64>(),
            1,
            "\"still running\" reports add no observation"
        );
        assert!((state.duration_sum - 10.0).abs() < 1e-9);
        assert_eq!(state.duration(), None);
        assert!(
            state
                .report()
                .and_then(HealthReport::output_text)
                .unwrap()
                .starts_with("the previous run is still running")
        );
        assert_eq!(state.consecutive_failures, 4);
        drop(release);
    }

    #[test]
    fn thresholds_smooth_flapping() {
        const PASS: bool = true;
        const FAIL: bool = false;
        let mut config = config(Work::Blocking(Arc::new(HealthReport::healthy)), true);
        config.checks[0].info = Arc::new(CheckInfo {
            failure_threshold: 3,
            success_threshold: 2,
            ..info("flapping", true)
        });
        let (mut scheduler, _) = scheduler(config);
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
            seen.push(scheduler.states[0].reported);
            let (outcome, report) = if pass {
                (RunOutcome::Ok, HealthReport::healthy())
            } else {
                (RunOutcome::Failed, HealthReport::unhealthy("flap"))
            };
            scheduler.record(0, outcome, report, Some(Duration::from_millis(1)), now);
        }
        assert_eq!(seen, expected);
        assert_eq!(scheduler.states[0].reported, healthy);
        assert_eq!(scheduler.states[0].runs, [6, 6, 0, 0]);
    }

    #[test]
    fn consecutive_counts_saturate() {
        let (mut scheduler, _) = scheduler(config(
            Work::Blocking(Arc::new(HealthReport::healthy)),
            true,
        ));
        let now = Instant::now();
        scheduler.states[0].consecutive_failures = u32::MAX;
        let failed = HealthReport::unhealthy("down");
        scheduler.record(0, RunOutcome::Failed, failed, None, now);
        assert_eq!(scheduler.states[0].consecutive_failures, u32::MAX);
        scheduler.states[0].consecutive_successes = u32::MAX;
        scheduler.states[0].consecutive_failures = 0;
        scheduler.record(0, RunOutcome::Ok, HealthReport::healthy(), None, now);
        assert_eq!(scheduler.states[0].consecutive_successes, u32::MAX);
    }

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
        let withheld = failed.message(false);
        assert_eq!(
            withheld,
            "health check `database` is unhealthy (was healthy): returned a failure (output \
             withheld; `health_details(true)` logs it)"
        );
        assert!(
            failed
                .message(true)
                .ends_with(&format!("returned: {secret}"))
        );
        let panic_text = format!("panicked: cannot reach {secret}");
        let panicked = change(RunOutcome::Panic, &panic_text);
        assert!(!panicked.message(false).contains("hunter2"));
        assert!(panicked.message(false).contains("panicked"));
        assert!(panicked.message(true).contains(secret));
        // The runner's own words are always shown.
        let timeout = change(RunOutcome::Timeout, "timed out after 250ms");
        assert!(timeout.message(false).ends_with(": timed out after 250ms"));
    }

    /// `cargo test --release -p flext-observability --lib scheduling_overhead -- --ignored --nocapture`
    #[test]
    #[ignore = "measurement, run by benches/health_probe.sh"]
    fn scheduling_overhead() {
        const RUNS: usize = 20_000;
        let (_, _, sync) = overhead(Work::Blocking(Arc::new(HealthReport::healthy)), true, RUNS);
        let make: Arc<dyn Fn() -> CheckFuture + Send + Sync> =
            Arc::new(|| Box::pin(async { HealthReport::healthy() }));
        let (_, _, asynchronous) = overhead(Work::Async(make), false, RUNS);
        println!(
            "scheduling overhead per run ({RUNS} runs): sync p50 {:?} p99 {:?}; async p50 {:?} p99 {:?}",
            sync.0, sync.1, asynchronous.0, asynchronous.1
        );
    }
}
