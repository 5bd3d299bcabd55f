//! Past values of the counters a window needs, so that an increase over 5 minutes or 3
//! days can be computed at each evaluation: counter values only, kept at a spacing that
//! grows with their age (about 1/64 of it), so a 3-day window costs some 800 samples,
//! not one per evaluation.
//!
//! The increase over a window is the current value minus the last value recorded at or
//! before the window's start (the oldest one while the process is younger than the
//! window): what `increase()` gives over scrapes of the same process, without
//! Prometheus' extrapolation to the window's edges, which changes a rate's scale but not
//! a ratio of two rates over the same window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The spacing a sample of age `a` may have with its neighbours: `a / RESOLUTION`.
const RESOLUTION: u32 = 64;

/// One counter (or several read together, such as errors and calls, or the buckets of a
/// histogram) over time.
#[derive(Debug, Default)]
pub(super) struct History {
    samples: VecDeque<(Instant, Vec<f64>)>,
}

impl History {
    /// Records `values` read at `now`, keeping what windows up to `longest` need.
    pub(super) fn record(&mut self, now: Instant, values: Vec<f64>, longest: Duration) {
        if let Some((_, last)) = self.samples.back()
            && last.len() != values.len()
        {
            // The series changed shape (a histogram's buckets): start again.
            self.samples.clear();
        }
        self.samples.push_back((now, values));
        // Drop what no window reaches: keep one sample at or before `now - longest`.
        while self.samples.len() > 2 && now.duration_since(self.samples[1].0) >= longest {
            self.samples.pop_front();
        }
        self.thin(now);
    }

    /// Removes samples whose neighbours are closer than their age allows.
    fn thin(&mut self, now: Instant) {
        let mut i = 1;
        while i + 1 < self.samples.len() {
            let (older, newer) = (self.samples[i - 1].0, self.samples[i + 1].0);
            let allowed = now.duration_since(newer) / RESOLUTION;
            if newer.duration_since(older) <= allowed {
                let _ = self.samples.remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// The latest values.
    #[cfg(test)]
    fn latest(&self) -> Option<&[f64]> {
        self.samples.back().map(|(_, v)| v.as_slice())
    }

    /// How much each value grew over the `window` before the latest sample; `None`
    /// with a single sample (no window yet). A value that went down (a counter reset)
    /// counts from zero, as `increase()` does.
    pub(super) fn increase(&self, window: Duration) -> Option<Vec<f64>> {
        let (now, current) = self.samples.back()?;
        let start = now.checked_sub(window);
        let base = match start {
            Some(start) => self
                .samples
                .iter()
                .rev()
                .find(|(t, _)| *t <= start)
                .or_else(|| self.samples.front())?,
            None => self.samples.front()?,
        };
        if std::ptr::eq(base, self.samples.back()?) {
            return None;
        }
        Some(
            current
                .iter()
                .zip(&base.1)
                .map(|(c, b)| if c >= b { c - b } else { *c })
                .collect(),
        )
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.samples.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)] // exact small counts
    use super::*;

    #[test]
    fn increases_over_windows() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record(t0, vec![0.0, 0.0], Duration::from_mins(1));
        assert_eq!(h.increase(Duration::from_secs(10)), None);
        for s in 1..=30u32 {
            // One error and ten calls per second.
            h.record(
                t0 + Duration::from_secs(u64::from(s)),
                vec![f64::from(s), f64::from(s * 10)],
                Duration::from_mins(1),
            );
        }
        assert_eq!(h.increase(Duration::from_secs(10)), Some(vec![10.0, 100.0]));
        // Younger than the window: everything since the first sample.
        assert_eq!(h.increase(Duration::from_mins(10)), Some(vec![30.0, 300.0]));
        assert_eq!(h.latest(), Some(&[30.0, 300.0][..]));
    }

    #[test]
    fn resets_count_from_zero() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record(t0, vec![10.0], Duration::from_mins(1));
        h.record(
            t0 + Duration::from_secs(1),
            vec![3.0],
            Duration::from_mins(1),
        );
        assert_eq!(h.increase(Duration::from_mins(1)), Some(vec![3.0]));
    }

    #[test]
    fn three_days_stay_small_and_accurate() {
        let t0 = Instant::now();
        let mut h = History::default();
        let longest = Duration::from_hours(72);
        let step = 10u64;
        for i in 0..=4 * 86_400 / step {
            // One call per second, read every 10 s.
            let secs = i * step;
            h.record(t0 + Duration::from_secs(secs), vec![secs as f64], longest);
        }
        assert!(h.len() < 1_000, "{} samples", h.len());
        for window in [300u64, 3600, 86_400, 3 * 86_400] {
            let inc = h.increase(Duration::from_secs(window)).unwrap()[0];
            // The base sample is at most window/64 (or one step) before the window's start.
            let most = window as f64 + (window as f64 / 64.0).max(step as f64);
            assert!(inc >= window as f64 && inc <= most, "{window}: {inc}");
        }
    }
}
