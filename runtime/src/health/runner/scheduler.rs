//! The scheduler: when each check runs, how many run at once, and what happens when a run
//! passes its deadline. It runs no user code and keeps every deadline itself; results go
//! to the state machine, and each change is published as a new snapshot.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::AbortHandle;

use super::execute::{self, Done, Msg};
use super::log;
use crate::health::model::{CheckDef, Exposure};
use crate::health::report::HealthReport;
use crate::health::settings::Config;
use crate::health::state::{CheckState, HealthSnapshot, RunOutcome};

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

/// Where snapshots go: [`state::publish`](crate::health::state::publish), or a test's own
/// place.
pub(super) type Sink = Box<dyn Fn(HealthSnapshot) + Send>;

pub(super) struct Scheduler {
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
    pub(super) fn new(
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
                self.states[index].run_abandoned();
                log::abandoned(&info);
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
        let abort = execute::spawn(runtime, &slot.def, index, run, self.tx.clone());
        slot.running = Some(Running {
            run,
            started: now,
            deadline: now + slot.def.info.timeout,
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
            self.states[done.check].abandoned_run_returned();
            self.dirty = true;
            log::returned_late(&slot.def.info, done.elapsed);
            return;
        }
        slot.running = None;
        self.active -= 1;
        let (index, elapsed) = (done.check, done.elapsed);
        let (outcome, report) = done.outcome();
        self.record(index, outcome, report, Some(elapsed), now);
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
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::health::model::CheckInfo;
    use crate::health::registry::{CheckFuture, Work};
    use crate::health::report::{Kind, Status};
    use crate::health::state::Why;
    use execute::WORKERS;

    /// Runs by outcome, in [`RunOutcome::ALL`] order.
    fn runs(state: &CheckState) -> [u64; 4] {
        RunOutcome::ALL.map(|outcome| state.runs(outcome))
    }

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
        assert_eq!(runs(check), [20, 0, 0, 0]);
        assert_eq!(check.durations().count(), 20, "one observation per run");
        assert_eq!(
            check.effective(Instant::now()),
            (Status::Healthy, Why::Result)
        );
        assert_eq!(check.consecutive_successes(), 20);
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
        assert_eq!(runs(&scheduler.states[0]), [0; 4], "nothing is recorded");
        assert!(scheduler.states[0].report().is_none());
        assert_eq!(scheduler.active, 1);
        // Its deadline, not the passed due time, is what the scheduler waits for.
        assert_eq!(scheduler.next_wake(), Some(start + Duration::from_secs(10)));
        // It returns in time: one ok run.
        release.send(()).unwrap();
        let Ok(Msg::Done(done)) = scheduler.rx.recv() else {
            panic!("no result");
        };
        scheduler.complete(done);
        assert_eq!(runs(&scheduler.states[0]), [1, 0, 0, 0]);
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
        assert_eq!(state.runs(RunOutcome::Timeout), 1);
        assert_eq!(state.durations().count(), 1, "the timed-out run");
        assert!((state.durations().sum - 10.0).abs() < 1e-9);
        assert_eq!(state.abandoned_runs(), 1);
        // Reported again one interval (±10 %) after the timeout, not at once.
        let next = scheduler.slots[0].next_due.unwrap();
        assert!(next >= deadline + Duration::from_mins(54), "{next:?}");
        scheduler.start_due(deadline);
        assert_eq!(scheduler.states[0].runs(RunOutcome::Timeout), 1);

        for _ in 0..3 {
            let due = scheduler.slots[0].next_due.unwrap();
            scheduler.start_due(due);
        }
        scheduler.publish_if_dirty();
        let published = published.lock().unwrap();
        let state = &published.as_ref().unwrap().checks()[0];
        assert_eq!(state.runs(RunOutcome::Timeout), 4);
        assert_eq!(
            state.durations().count(),
            1,
            "\"still running\" reports add no observation"
        );
        assert!((state.durations().sum - 10.0).abs() < 1e-9);
        assert_eq!(state.duration(), None);
        assert!(
            state
                .report()
                .and_then(HealthReport::output_text)
                .unwrap()
                .starts_with("the previous run is still running")
        );
        assert_eq!(state.consecutive_failures(), 4);
        drop(release);
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
