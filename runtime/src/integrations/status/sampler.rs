//! The samples behind the 1, 5 and 15-minute figures: a background thread reads every
//! monitored function's counts at a fixed interval ([`reading`](super::reading), the
//! read `/metrics` does) and keeps what changed in each interval, in a ring of at most
//! [`MAX_INTERVALS`].
//!
//! Memory is bounded: an interval keeps only the functions called during it, each as
//! its outcome counts and its non-empty buckets (about 60 bytes for a function whose
//! calls fall in three buckets), so 15 minutes of 1,000 busy functions at the default
//! 10 s take about 5 MB, and idle functions take nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::reading::{self, Counts, Reading, Scope};
use super::windows::{Tally, WINDOWS};

/// The most intervals kept (15 minutes at 5 s; shorter intervals cover less).
pub(super) const MAX_INTERVALS: usize = 180;

/// The most points of a sparkline: consecutive intervals share one beyond that, so a
/// row stays a few hundred bytes.
pub(super) const SPARK_POINTS: usize = 30;

/// What one function did during one interval.
#[derive(Debug)]
struct Change {
    /// Its place in the catalogue.
    function: u32,
    outcomes: [u32; 4],
    /// Non-empty buckets: (index, count).
    buckets: Box<[(u16, u32)]>,
}

#[derive(Debug)]
struct Interval {
    start: Instant,
    end: Instant,
    changes: Vec<Change>,
    /// Process CPU seconds used during it, when the `process_*` metrics are on.
    cpu_seconds: Option<f64>,
}

/// The samples.
#[derive(Debug)]
pub(super) struct Ring {
    interval: Duration,
    capacity: usize,
    /// Counts at the last sample, in catalogue order.
    last: Vec<Counts>,
    last_cpu: Option<f64>,
    last_at: Instant,
    intervals: VecDeque<Interval>,
}

/// A function's figures over each window, and its calls in each interval.
#[derive(Debug, Default)]
pub(super) struct FunctionWindows {
    pub(super) tallies: [Tally; 3],
    /// Calls per second over the intervals kept, oldest first, in at most
    /// [`SPARK_POINTS`] points; empty for a function not called in any.
    pub(super) sparkline: Vec<f64>,
}

/// Every function's windows, and how many seconds each window covers.
#[derive(Debug)]
pub(super) struct Windows {
    pub(super) seconds: [f64; 3],
    pub(super) functions: Vec<FunctionWindows>,
    /// The share of one CPU the process used over each window, when known.
    pub(super) cpu: [Option<f64>; 3],
    /// The length of one interval, in seconds.
    pub(super) interval_seconds: f64,
}

fn narrow(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Ring {
    /// A ring whose first sample is `reading`, taken at `at`.
    pub(super) fn new(interval: Duration, reading: Reading, at: Instant) -> Ring {
        let per_window = Duration::from_mins(15).as_nanos() / interval.as_nanos().max(1);
        let capacity = usize::try_from(per_window + 1)
            .unwrap_or(MAX_INTERVALS)
            .clamp(1, MAX_INTERVALS);
        Ring {
            interval,
            capacity,
            last_cpu: reading.process("process_cpu_seconds_total"),
            last: reading.functions,
            last_at: at,
            intervals: VecDeque::with_capacity(capacity),
        }
    }

    /// Keeps what changed since the last sample.
    pub(super) fn sample(&mut self, reading: Reading, at: Instant) {
        let mut changes = Vec::new();
        for (i, (now, before)) in reading.functions.iter().zip(&self.last).enumerate() {
            if now.calls() == before.calls() {
                continue;
            }
            let mut outcomes = [0u32; 4];
            for (k, slot) in outcomes.iter_mut().enumerate() {
                *slot = narrow(now.outcomes[k].saturating_sub(before.outcomes[k]));
            }
            let buckets = now
                .buckets
                .iter()
                .enumerate()
                .filter_map(|(b, &n)| {
                    let delta = n.saturating_sub(before.buckets.get(b).copied().unwrap_or(0));
                    Some((u16::try_from(b).ok()?, narrow(delta))).filter(|_| delta > 0)
                })
                .collect();
            changes.push(Change {
                function: u32::try_from(i).unwrap_or(u32::MAX),
                outcomes,
                buckets,
            });
        }
        let cpu = reading.process("process_cpu_seconds_total");
        if self.intervals.len() == self.capacity {
            self.intervals.pop_front();
        }
        self.intervals.push_back(Interval {
            start: self.last_at,
            end: at,
            changes,
            cpu_seconds: cpu.zip(self.last_cpu).map(|(now, before)| now - before),
        });
        self.last = reading.functions;
        self.last_cpu = cpu;
        self.last_at = at;
    }

    /// The figures at `now`, given the counts read at `now` (the part since the last
    /// sample comes from them).
    ///
    /// A window takes the intervals that started within it (give or take half an
    /// interval), newest first, plus the time since the last sample; `seconds` says
    /// what it covers, so rates are exact for the counts they divide.
    pub(super) fn windows(&self, live: &Reading, now: Instant) -> Windows {
        let mut functions: Vec<FunctionWindows> = std::iter::repeat_with(FunctionWindows::default)
            .take(live.functions.len())
            .collect();
        let mut seconds = [0.0; 3];
        let live_seconds = now.saturating_duration_since(self.last_at).as_secs_f64();
        // Since the last sample: every window has it.
        for (f, (now_counts, before)) in functions
            .iter_mut()
            .zip(live.functions.iter().zip(&self.last))
        {
            let mut outcomes = [0u64; 4];
            for (k, slot) in outcomes.iter_mut().enumerate() {
                *slot = now_counts.outcomes[k].saturating_sub(before.outcomes[k]);
            }
            for tally in &mut f.tallies {
                tally.add_outcomes(&outcomes);
                for (b, &n) in now_counts.buckets.iter().enumerate() {
                    let delta = n.saturating_sub(before.buckets.get(b).copied().unwrap_or(0));
                    if delta > 0 {
                        tally.add_bucket(b, delta);
                    }
                }
            }
        }
        let mut cpu = [None; 3];
        let live_cpu = live
            .process("process_cpu_seconds_total")
            .zip(self.last_cpu)
            .map(|(now, before)| now - before);
        for w in 0..WINDOWS.len() {
            seconds[w] = live_seconds;
            cpu[w] = live_cpu;
        }
        let half = self.interval.as_secs_f64() / 2.0;
        for interval in self.intervals.iter().rev() {
            let age = now.saturating_duration_since(interval.start).as_secs_f64();
            for (w, (_, window)) in WINDOWS.iter().enumerate() {
                if age > window.as_secs_f64() + half {
                    continue;
                }
                seconds[w] = age;
                cpu[w] = cpu[w].zip(interval.cpu_seconds).map(|(a, b)| a + b);
                for change in &interval.changes {
                    let Some(f) = functions.get_mut(change.function as usize) else {
                        continue;
                    };
                    let tally = &mut f.tallies[w];
                    tally.add_outcomes(&change.outcomes.map(u64::from));
                    for &(b, n) in &change.buckets {
                        tally.add_bucket(usize::from(b), u64::from(n));
                    }
                }
            }
        }
        self.sparklines(&mut functions);
        Windows {
            cpu: std::array::from_fn(|w| {
                cpu[w]
                    .filter(|_| seconds[w] > 0.0)
                    .map(|used| used / seconds[w])
            }),
            seconds,
            functions,
            interval_seconds: self.interval.as_secs_f64(),
        }
    }

    /// Calls per second, in at most [`SPARK_POINTS`] bins of consecutive intervals.
    fn sparklines(&self, functions: &mut [FunctionWindows]) {
        let n = self.intervals.len();
        let bins = n.min(SPARK_POINTS);
        if bins == 0 {
            return;
        }
        let bin_of = |k: usize| k * bins / n;
        let mut lengths = vec![0.0f64; bins];
        for (k, interval) in self.intervals.iter().enumerate() {
            let length = interval.end.saturating_duration_since(interval.start);
            lengths[bin_of(k)] += length.as_secs_f64();
        }
        for (k, interval) in self.intervals.iter().enumerate() {
            let bin = bin_of(k);
            for change in &interval.changes {
                let Some(f) = functions.get_mut(change.function as usize) else {
                    continue;
                };
                if f.sparkline.is_empty() {
                    f.sparkline = vec![0.0; bins];
                }
                let calls: u64 = change.outcomes.iter().map(|&c| u64::from(c)).sum();
                f.sparkline[bin] += calls as f64 / lengths[bin].max(1e-9);
            }
        }
    }
}

/// The sampler thread and the ring it fills.
#[derive(Debug)]
pub(super) struct Sampler {
    ring: Arc<Mutex<Ring>>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Takes the first sample now and starts the thread.
    pub(super) fn start(interval: Duration) -> std::io::Result<Sampler> {
        let ring = Arc::new(Mutex::new(Ring::new(
            interval,
            reading::read(Scope::Sample),
            Instant::now(),
        )));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let (ring, stop) = (ring.clone(), stop.clone());
            std::thread::Builder::new()
                .name("flext-obs-status".into())
                .spawn(move || run(&ring, &stop, interval))?
        };
        Ok(Sampler {
            ring,
            stop,
            thread: Some(thread),
        })
    }

    /// The ring, for renders.
    pub(super) fn ring(&self) -> Arc<Mutex<Ring>> {
        self.ring.clone()
    }
}

fn run(ring: &Mutex<Ring>, stop: &(Mutex<bool>, Condvar), interval: Duration) {
    let (stopped, wake) = stop;
    let mut next = Instant::now() + interval;
    loop {
        let mut done = stopped.lock().unwrap_or_else(PoisonError::into_inner);
        while !*done {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            done = wake
                .wait_timeout(done, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if *done {
            return;
        }
        drop(done);
        let reading = reading::read(Scope::Sample);
        let at = Instant::now();
        ring.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sample(reading, at);
        crate::recent::expire_slow(crate::clock::unix_nanos());
        // A late tick (a suspended process) starts the schedule again from now rather
        // than sampling in a burst.
        next += interval;
        if next < at {
            next = at + interval;
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // seconds and rates of whole numbers, exact
mod tests {
    use super::*;

    fn reading(functions: &[([u64; 4], &[u64])], cpu: f64) -> Reading {
        Reading {
            functions: functions
                .iter()
                .map(|(outcomes, buckets)| Counts {
                    outcomes: *outcomes,
                    buckets: buckets.to_vec(),
                    ..Counts::default()
                })
                .collect(),
            process: vec![("process_cpu_seconds_total".into(), cpu)],
            ..Reading::default()
        }
    }

    #[test]
    fn windows_add_the_intervals_they_cover_and_the_time_since() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut ring = Ring::new(
            s(10),
            reading(&[([0; 4], &[0, 0, 0]), ([0; 4], &[0, 0, 0])], 1.0),
            t0,
        );
        // 5 calls, then 3 more and an error; the second function is never called.
        ring.sample(
            reading(&[([5, 0, 0, 0], &[0, 5, 0]), ([0; 4], &[0, 0, 0])], 2.0),
            t0 + s(10),
        );
        ring.sample(
            reading(&[([8, 1, 0, 0], &[0, 8, 1]), ([0; 4], &[0, 0, 0])], 3.0),
            t0 + s(20),
        );
        // 2 more since the last sample.
        let live = reading(&[([10, 1, 0, 0], &[0, 10, 1]), ([0; 4], &[0, 0, 0])], 3.5);
        let w = ring.windows(&live, t0 + s(25));
        assert_eq!(w.seconds, [25.0; 3]);
        let f = &w.functions[0];
        assert_eq!(f.tallies[0].outcomes, [10, 1, 0, 0]);
        assert_eq!(f.tallies[0].buckets, [0, 10, 1]);
        assert_eq!(f.sparkline, [0.5, 0.4]);
        assert!(w.functions[1].sparkline.is_empty());
        assert_eq!(w.functions[1].tallies[2].calls(), 0);
        // 2.5 CPU seconds in 25 s.
        assert_eq!(w.cpu[0], Some(0.1));

        // Eight minutes of quiet: the 1-minute window holds only them, the 15-minute
        // window still has the calls.
        for k in 3..=50 {
            ring.sample(live_like(&live), t0 + s(10 * k));
        }
        let w = ring.windows(&live, t0 + s(505));
        assert_eq!(w.functions[0].tallies[0].calls(), 0);
        assert!(
            w.seconds[0] >= 60.0 && w.seconds[0] <= 65.0,
            "{:?}",
            w.seconds
        );
        assert_eq!(w.functions[0].tallies[2].calls(), 11);
        assert_eq!(w.seconds[2], 505.0);
    }

    fn live_like(r: &Reading) -> Reading {
        Reading {
            functions: r.functions.clone(),
            process: r.process.clone(),
            ..Reading::default()
        }
    }

    #[test]
    fn the_ring_is_bounded() {
        let t0 = Instant::now();
        let mut ring = Ring::new(
            Duration::from_millis(100),
            reading(&[([0; 4], &[0])], 0.0),
            t0,
        );
        for k in 1..=1000u64 {
            let calls = k;
            ring.sample(
                reading(&[([calls, 0, 0, 0], &[calls])], 0.0),
                t0 + Duration::from_millis(100 * k),
            );
        }
        assert_eq!(ring.intervals.len(), MAX_INTERVALS);
        // One call per 100 ms interval: 10 per second in every point.
        let w = ring.windows(
            &reading(&[([1000, 0, 0, 0], &[1000])], 0.0),
            t0 + Duration::from_secs(100),
        );
        let spark = &w.functions[0].sparkline;
        assert_eq!(spark.len(), SPARK_POINTS);
        assert!(spark.iter().all(|v| (v - 10.0).abs() < 1e-6), "{spark:?}");
    }
}
