//! The bounded queue between the thread that collects and the one that sends.
//!
//! It holds whole pushes (the requests of one collection), at most `capacity` of them:
//! when a new push would exceed it, the oldest waiting push goes, its samples counted
//! as dropped (`queue_full`). The sender takes one request at a time, oldest first, so
//! samples reach the receiver in time order; the request it holds is no longer in the
//! queue and is never dropped for a newer push (it retries until it is sent, rejected,
//! or remote write stops).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::encode::Request;
use super::stats::{STATS, add};

pub(super) struct Queue {
    state: Mutex<State>,
    changed: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct State {
    pushes: VecDeque<VecDeque<Request>>,
    /// No push will come any more: the sender ends once the queue is empty.
    closed: bool,
}

impl State {
    fn pending(&self) -> u64 {
        self.pushes.iter().flatten().map(|r| r.samples).sum()
    }
}

impl Queue {
    pub(super) fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds one push; drops the oldest waiting ones beyond the capacity and returns how
    /// many samples went.
    pub(super) fn push(&self, requests: Vec<Request>) -> u64 {
        if requests.is_empty() {
            return 0;
        }
        let mut state = self.lock();
        state.pushes.push_back(requests.into());
        let mut dropped = 0;
        while state.pushes.len() > self.capacity {
            let oldest = state.pushes.pop_front().unwrap_or_default();
            dropped += oldest.iter().map(|r| r.samples).sum::<u64>();
        }
        STATS
            .pending
            .store(state.pending(), std::sync::atomic::Ordering::Relaxed);
        drop(state);
        add(&STATS.queue_full, dropped);
        self.changed.notify_all();
        dropped
    }

    /// The oldest request, waiting for one until `until` (for ever when `None`); `None`
    /// when the queue is closed and empty, or the time ran out.
    pub(super) fn next(&self, until: Option<Instant>) -> Option<Request> {
        let mut state = self.lock();
        loop {
            while let Some(front) = state.pushes.front_mut() {
                let Some(request) = front.pop_front() else {
                    state.pushes.pop_front();
                    continue;
                };
                if front.is_empty() {
                    state.pushes.pop_front();
                }
                STATS
                    .pending
                    .store(state.pending(), std::sync::atomic::Ordering::Relaxed);
                return Some(request);
            }
            if state.closed {
                return None;
            }
            state = match until {
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// No more pushes: the sender ends once it has sent what is queued.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Empties the queue; returns the samples it held.
    pub(super) fn clear(&self) -> u64 {
        let mut state = self.lock();
        let samples = state.pending();
        state.pushes.clear();
        STATS.pending.store(0, std::sync::atomic::Ordering::Relaxed);
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(samples: u64) -> Request {
        Request {
            body: vec![u8::try_from(samples).unwrap()],
            samples,
        }
    }

    #[test]
    fn oldest_pushes_go_first_and_order_is_kept() {
        let q = Queue::new(2);
        assert_eq!(q.push(vec![req(1), req(2)]), 0);
        assert_eq!(q.push(vec![req(3)]), 0);
        // The sender holds request 1: it is out of the queue, so the push with request
        // 2 is the oldest waiting one.
        assert_eq!(q.next(None).unwrap().samples, 1);
        assert_eq!(q.push(vec![req(4)]), 2);
        assert_eq!(q.push(vec![req(5), req(6)]), 3);
        let until = Some(Instant::now());
        let got: Vec<u64> = std::iter::from_fn(|| q.next(until))
            .map(|r| r.samples)
            .collect();
        assert_eq!(got, [4, 5, 6]);
        q.push(vec![req(7)]);
        q.close();
        assert_eq!(q.next(None).unwrap().samples, 7);
        assert!(q.next(None).is_none(), "closed and empty");
        q.push(vec![req(8), req(9)]);
        assert_eq!(q.clear(), 17);
    }
}
