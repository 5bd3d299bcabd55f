//! The threads check runs execute on: as many as runs may go at once, plus one for each
//! run past its timeout that has not ended.
//!
//! A run that passes its timeout keeps its thread until it ends (an async run ends at
//! its next await, once cancelled; a sync check, or an async one that blocks instead of
//! awaiting, maybe never): the scheduler gives it up, and the pool starts a thread to
//! take its place. When the run ends at last, its thread exits instead of rejoining the
//! pool. So the number of threads is the concurrency limit plus the runs stuck now: flat
//! under any load, and back down as soon as a stuck dependency lets go.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use crate::error::Error;

const RUNNING: u8 = 0;
const ABANDONED: u8 = 1;
const FINISHED: u8 = 2;

/// Where a run stands, shared by its thread and the scheduler.
#[derive(Clone, Debug, Default)]
pub(super) struct RunThread(Arc<AtomicU8>);

struct Job {
    work: Box<dyn FnOnce() + Send>,
    state: RunThread,
}

type Queue = Arc<Mutex<mpsc::Receiver<Job>>>;

pub(super) struct Pool {
    jobs: Option<mpsc::Sender<Job>>,
    queue: Queue,
    /// Live threads.
    threads: Arc<AtomicUsize>,
}

impl Pool {
    /// A pool of `size` threads.
    pub(super) fn new(size: usize) -> Result<Pool, Error> {
        let (jobs, queue) = mpsc::channel();
        let pool = Pool {
            jobs: Some(jobs),
            queue: Arc::new(Mutex::new(queue)),
            threads: Arc::new(AtomicUsize::new(0)),
        };
        for _ in 0..size.max(1) {
            pool.add_thread().map_err(Error::Spawn)?;
        }
        Ok(pool)
    }

    fn add_thread(&self) -> std::io::Result<()> {
        let (queue, threads) = (Arc::clone(&self.queue), Arc::clone(&self.threads));
        threads.fetch_add(1, Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("flext-obs-check".into())
            .spawn(move || {
                work(&queue);
                threads.fetch_sub(1, Ordering::Relaxed);
            });
        if spawned.is_err() {
            self.threads.fetch_sub(1, Ordering::Relaxed);
        }
        spawned.map(drop)
    }

    /// Runs `work` on a thread of the pool; the handle tells the scheduler where it
    /// stands.
    pub(super) fn run(&self, work: impl FnOnce() + Send + 'static) -> RunThread {
        let state = RunThread::default();
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Job {
                work: Box::new(work),
                state: state.clone(),
            });
        }
        state
    }

    /// Gives up on a run past its timeout: its thread is replaced. `false` when the
    /// run had ended already (its result is on its way), which needs no replacement.
    pub(super) fn abandon(&self, run: &RunThread) -> bool {
        let abandoned = run
            .0
            .compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if abandoned && let Err(e) = self.add_thread() {
            crate::diag::warn_once(
                "health-thread",
                &format!(
                    "cannot start a thread for health checks ({e}): checks may run late \
                     while a stuck one holds its thread"
                ),
            );
        }
        abandoned
    }

    /// Live threads.
    #[cfg(test)]
    pub(super) fn threads(&self) -> usize {
        self.threads.load(Ordering::Relaxed)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Idle threads see the queue closed and exit; busy ones after their run.
        self.jobs = None;
    }
}

fn work(queue: &Queue) {
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Job { work, state }) = job else {
            return;
        };
        work();
        if state.0.swap(FINISHED, Ordering::AcqRel) == ABANDONED {
            // Replaced while it ran: leave the pool to its replacement.
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn eventually(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "{what} within 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn abandoned_runs_are_replaced_and_their_threads_leave_when_they_end() {
        let pool = Pool::new(2).unwrap();
        assert_eq!(pool.threads(), 2);
        let (release, stuck) = mpsc::channel::<()>();
        let run = pool.run(move || {
            let _ = stuck.recv();
        });
        assert!(pool.abandon(&run), "still running");
        assert_eq!(pool.threads(), 3, "replaced");
        // Two more runs at once: the pool still has two free threads.
        let (done_tx, done) = mpsc::channel();
        for _ in 0..2 {
            let done_tx = done_tx.clone();
            pool.run(move || done_tx.send(()).unwrap());
        }
        for _ in 0..2 {
            done.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        release.send(()).unwrap();
        eventually("the stuck thread leaves", || pool.threads() == 2);
        // A run that ended is not abandoned, and costs no thread.
        let (done_tx, done) = mpsc::channel();
        let quick = pool.run(move || done_tx.send(()).unwrap());
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        eventually("the run is finished", || {
            quick.0.load(Ordering::Acquire) == FINISHED
        });
        assert!(!pool.abandon(&quick));
        assert_eq!(pool.threads(), 2);
    }
}
