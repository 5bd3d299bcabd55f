//! The evaluation thread: every interval, capture, evaluate, update the alerts, publish
//! what fires and hand what is due to the senders. It stops the senders when it stops.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::capture::capture;
use super::deliver::{Delivery, Describe};
use super::evaluate::Evaluator;
use super::shared;
use super::state::{Book, Common, Phase};

/// What the thread needs.
pub(super) struct Plan {
    pub(super) evaluator: Evaluator,
    pub(super) families: Vec<String>,
    /// Labels every alert carries besides `service_name` (read at each evaluation).
    pub(super) labels: Vec<(String, String)>,
    pub(super) describe: Describe,
    pub(super) delivery: Delivery,
    pub(super) interval: Duration,
    pub(super) resend: Duration,
}

/// The running thread; dropping it stops evaluation, then delivery.
#[derive(Debug)]
pub(super) struct Engine {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    pub(super) fn start(plan: Plan) -> std::io::Result<Engine> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        // The first round's counters are every window's start: taken before `install()`
        // returns, so that calls made right after it count (within a bound: a start-up
        // never waits long on it).
        let (ready, first_round) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("flext-obs-alert-eval".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&tracing::Dispatch::none(), || {
                    run(plan, &signal, ready);
                });
            })?;
        let _ = first_round.recv_timeout(std::time::Duration::from_secs(2));
        Ok(Engine {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let (flag, wake) = &*self.stop;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        shared::stop();
    }
}

fn run(plan: Plan, stop: &(Mutex<bool>, Condvar), ready: std::sync::mpsc::SyncSender<()>) {
    // Told once, after the first round.
    let mut ready = Some(ready);
    let Plan {
        mut evaluator,
        families,
        labels,
        describe,
        delivery,
        interval,
        resend,
    } = plan;
    let runbooks: Vec<String> = evaluator
        .rules()
        .iter()
        .map(|r| r.runbook_url.clone())
        .collect();
    let mut book = Book::default();
    let mut next = Instant::now();
    loop {
        // A round that panics (a bug) is reported and the next one runs: alerting never
        // stops silently.
        let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let now = Instant::now();
            let wall = SystemTime::now();
            let captured = capture(&families);
            let observed = evaluator.evaluate(now, &captured);
            let mut common = Common {
                labels: vec![("service_name".to_owned(), crate::identity::service_name())],
            };
            common.labels.extend(labels.iter().cloned());
            let due = book.update(evaluator.rules(), &observed, &common, now, wall, resend);
            shared::publish(book.in_phase(Phase::Firing), &runbooks);
            let payloads: Vec<_> = due
                .iter()
                .map(|a| Arc::new(describe.payload(a, &runbooks[a.rule], wall)))
                .collect();
            delivery.send(&payloads);
        }));
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        if round.is_err() {
            crate::diag::warn_once(
                "alerts-evaluation-panicked",
                "alerts: an evaluation round panicked (a bug in flext-observability, please report it); the next rounds still run",
            );
        }

        next += interval;
        let after = Instant::now();
        if next <= after {
            // An evaluation took longer than the interval: skip the missed rounds.
            next = after + interval;
        }
        let (flag, wake) = stop;
        let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, next.saturating_duration_since(Instant::now()), |s| {
                !*s
            })
            .unwrap_or_else(PoisonError::into_inner);
        if *guard {
            break;
        }
    }
    delivery.stop();
}
