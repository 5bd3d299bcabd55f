//! The scheduler driven by hand: dispatch, timeouts, abandoned runs, the concurrency
//! limit, and its overhead.

use std::sync::Mutex;

use super::*;
use crate::health::model::CheckInfo;
use crate::health::registry::{CheckFuture, Work};
use crate::health::report::{Kind, Status};
use crate::health::state::Why;

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
    let executor = Executor::new(config.concurrency, config.checks.len()).unwrap();
    let (tx, rx) = mpsc::channel();
    let published = Published::default();
    let sink = Arc::clone(&published);
    let scheduler = Scheduler::new(
        config,
        executor,
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

/// Receives the next result, or fails after `within`.
fn next_done(scheduler: &Scheduler, within: Duration) -> Done {
    match scheduler.rx.recv_timeout(within) {
        Ok(Msg::Done(done)) => done,
        Ok(Msg::Stop) => panic!("stop"),
        Err(e) => panic!("no result within {within:?}: {e}"),
    }
}

#[test]
fn an_async_check_that_blocks_its_thread_is_abandoned_and_starves_nobody() {
    // The blocker sleeps on its thread (no await) until the test lets it go.
    let (release, wait) = mpsc::channel::<()>();
    let wait = Arc::new(Mutex::new(wait));
    let blocker: Arc<dyn Fn() -> CheckFuture + Send + Sync> = Arc::new(move || {
        let wait = Arc::clone(&wait);
        Box::pin(async move {
            let _ = wait.lock().unwrap().recv();
            HealthReport::healthy()
        })
    });
    let healthy: Arc<dyn Fn() -> CheckFuture + Send + Sync> =
        Arc::new(|| Box::pin(async { HealthReport::healthy() }));
    let mut config = config(Work::Async(blocker), false);
    config.concurrency = 2;
    config.checks.push(CheckDef {
        info: Arc::new(info("other", false)),
        work: Work::Async(healthy),
    });
    let (mut scheduler, _) = scheduler(config);
    let start = Instant::now();
    scheduler.start_due(start);
    assert_eq!(scheduler.active, 2);
    // `other` (index 1 once sorted: "noop" < "other") answers although the blocker holds
    // a thread: every run has a thread of its own.
    let done = next_done(&scheduler, Duration::from_secs(10));
    assert_eq!(done.check, 1);
    scheduler.complete(done);
    // From here on `other` runs when the test starts it.
    scheduler.slots[1].next_due = None;
    let deadline = start + Duration::from_secs(10);
    scheduler.expire(deadline);
    assert_eq!(scheduler.states[0].runs(RunOutcome::Timeout), 1);
    assert_eq!(
        scheduler.states[0].abandoned_runs(),
        0,
        "cancelled: not abandoned until it fails to end"
    );
    // At its next due time it has not ended: abandoned, counted, not started again.
    for round in 1..=3 {
        let due = scheduler.slots[0].next_due.unwrap();
        scheduler.start_due(due);
        assert_eq!(scheduler.states[0].abandoned_runs(), 1);
        assert_eq!(scheduler.states[0].runs(RunOutcome::Timeout), 1 + round);
        assert!(scheduler.slots[0].running.as_ref().unwrap().timed_out);
        // The other check keeps running, to completion, each time.
        scheduler.spawn(1, due);
        let done = next_done(&scheduler, Duration::from_secs(10));
        assert_eq!(done.check, 1, "round {round}");
        scheduler.complete(done);
    }
    assert_eq!(runs(&scheduler.states[1]), [4, 0, 0, 0]);
    assert_eq!(scheduler.active, 0);
    // Let it go: it ends (cancelled at its first await, or returned), and is no longer
    // counted.
    release.send(()).unwrap();
    let done = next_done(&scheduler, Duration::from_secs(10));
    assert_eq!(done.check, 0);
    scheduler.complete(done);
    assert_eq!(scheduler.states[0].abandoned_runs(), 0);
    assert!(scheduler.slots[0].running.is_none());
}

#[test]
fn a_cancelled_async_run_ends_without_being_abandoned() {
    let make: Arc<dyn Fn() -> CheckFuture + Send + Sync> =
        Arc::new(|| Box::pin(std::future::pending()));
    let (mut scheduler, _) = scheduler(config(Work::Async(make), false));
    let start = Instant::now();
    scheduler.start_due(start);
    scheduler.expire(start + Duration::from_secs(10));
    let done = next_done(&scheduler, Duration::from_secs(10));
    assert!(matches!(done.ended, execute::Ended::Cancelled));
    scheduler.complete(done);
    assert!(scheduler.slots[0].running.is_none());
    assert_eq!(scheduler.states[0].abandoned_runs(), 0);
    assert_eq!(runs(&scheduler.states[0]), [0, 0, 1, 0]);
}
