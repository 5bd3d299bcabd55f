//! The figures of one function over a window: rate, error ratio, quantiles, and what is
//! left of an objective's error budget. Pure functions over counts, so that they are
//! tested against hand-computed values.

use std::time::Duration;

use crate::monitor::site::Outcome;

/// The windows the page shows, with their names.
pub(super) const WINDOWS: [(&str, Duration); 3] = [
    ("1m", Duration::from_mins(1)),
    ("5m", Duration::from_mins(5)),
    ("15m", Duration::from_mins(15)),
];

/// The quantiles the page shows.
pub(super) const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)];

/// Calls counted over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Tally {
    /// By [`Outcome`].
    pub(super) outcomes: [u64; 4],
    /// Per bucket, not cumulative.
    pub(super) buckets: Vec<u64>,
}

impl Tally {
    pub(super) fn calls(&self) -> u64 {
        self.outcomes.iter().sum()
    }

    pub(super) fn add_outcomes(&mut self, outcomes: &[u64; 4]) {
        for (total, n) in self.outcomes.iter_mut().zip(outcomes) {
            *total = total.saturating_add(*n);
        }
    }

    pub(super) fn add_bucket(&mut self, bucket: usize, n: u64) {
        if self.buckets.len() <= bucket {
            self.buckets.resize(bucket + 1, 0);
        }
        self.buckets[bucket] = self.buckets[bucket].saturating_add(n);
    }

    /// Bad and counted calls as a success-rate objective counts them: cancelled calls
    /// are left out ([`Outcome::success_rate_event`]).
    pub(super) fn success_events(&self) -> (u64, u64) {
        let mut bad = 0;
        let mut total = 0;
        for outcome in Outcome::ALL {
            if let Some(good) = outcome.success_rate_event() {
                total += self.outcomes[outcome as usize];
                if !good {
                    bad += self.outcomes[outcome as usize];
                }
            }
        }
        (bad, total)
    }

    /// Errors and panics over the calls a success rate counts; `None` without any.
    pub(super) fn error_ratio(&self) -> Option<f64> {
        let (bad, total) = self.success_events();
        crate::objectives::error_ratio(bad as f64, total as f64)
    }
}

/// The `q` quantile of a histogram, as Prometheus' `histogram_quantile` estimates it:
/// linear within the bucket that holds the rank, from 0 for the first bucket; the
/// highest finite bound when the rank falls above it. `None` without observations.
pub(super) fn quantile(q: f64, bounds: &[f64], counts: &[u64]) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 || bounds.is_empty() {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, &count) in counts.iter().enumerate() {
        let cumulative = below + count;
        if cumulative as f64 >= rank && count > 0 {
            let Some(&end) = bounds.get(i) else {
                return bounds.last().copied();
            };
            let start = if i == 0 { 0.0 } else { bounds[i - 1] };
            if i == 0 && end <= 0.0 {
                return Some(end);
            }
            return Some(start + (end - start) * ((rank - below as f64) / count as f64));
        }
        below = cumulative;
    }
    bounds.last().copied()
}

/// What is left of an error budget: `1 - bad_ratio / budget` (1 untouched, 0 spent,
/// below 0 overspent); `None` without calls.
pub(super) fn budget_left(bad: u64, total: u64, budget: f64) -> Option<f64> {
    let ratio = crate::objectives::error_ratio(bad as f64, total as f64)?;
    Some(1.0 - ratio / budget)
}

/// Calls above the bucket of a latency threshold, and all calls, from per-bucket
/// counts.
pub(super) fn slower_than(threshold_bucket: usize, buckets: &[u64]) -> (u64, u64) {
    let total: u64 = buckets.iter().sum();
    let within: u64 = buckets.iter().take(threshold_bucket + 1).sum();
    (total - within, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_as_prometheus_does() {
        let bounds = [0.01, 0.025, 0.05];
        // 10 calls between 10 and 25 ms: the median is halfway through that bucket.
        assert_eq!(quantile(0.5, &bounds, &[0, 10, 0, 0]), Some(0.0175));
        // p99 of 100 calls, 98 under 10 ms and 2 in (10, 25]: rank 99 is the first of
        // those 2.
        let p99 = quantile(0.99, &bounds, &[98, 2, 0, 0]).unwrap();
        assert!((p99 - 0.0175).abs() < 1e-12, "{p99}");
        // In the first bucket: from 0.
        assert_eq!(quantile(0.5, &bounds, &[4, 0, 0, 0]), Some(0.005));
        // Above the highest bound: that bound.
        assert_eq!(quantile(0.5, &bounds, &[0, 0, 0, 3]), Some(0.05));
        assert_eq!(quantile(0.5, &bounds, &[0, 0, 0, 0]), None);
    }

    #[test]
    fn error_ratio_and_budget_leave_cancelled_calls_out() {
        let tally = Tally {
            // ok, error, panic, cancelled
            outcomes: [997, 2, 1, 50],
            buckets: vec![],
        };
        assert_eq!(tally.calls(), 1050);
        assert_eq!(tally.success_events(), (3, 1000));
        assert_eq!(tally.error_ratio(), Some(0.003));
        // 0.3 % errors against a 1 % budget: 70 % of it left.
        let left = budget_left(3, 1000, 0.01).unwrap();
        assert!((left - 0.7).abs() < 1e-12, "{left}");
        // Overspent: negative.
        assert!(budget_left(3, 100, 0.01).unwrap() < 0.0);
        assert_eq!(budget_left(0, 0, 0.01), None);
        assert_eq!(Tally::default().error_ratio(), None);
    }

    #[test]
    fn calls_slower_than_a_threshold_bucket() {
        assert_eq!(slower_than(1, &[5, 3, 2, 1]), (3, 11));
        assert_eq!(slower_than(3, &[5, 3, 2, 1]), (0, 11));
    }
}
