//! A latency objective's threshold as a bucket bound: added to the function's bounds at
//! compile time when they lack it, so that the threshold's bucket always exists.
//!
//! `#[monitor(objective = …)]` evaluates these in `const` items: the array length comes
//! from [`merged_bounds_len`], the arrays from [`merged_bounds`] and
//! [`merged_bounds_ns`].

use super::Objective;

/// Where the threshold goes in `bounds`: `Ok(i)` if `bounds[i]` is it, `Err(i)` if it
/// belongs before `bounds[i]`.
const fn position(bounds: &[f64], threshold: f64) -> Result<usize, usize> {
    let mut i = 0;
    while i < bounds.len() {
        // Equal doubles, not equal nanoseconds: the bound's `le` text and the threshold
        // label are both written from these doubles, so they match exactly when equal.
        #[allow(clippy::float_cmp)] // exact equality is the point
        if bounds[i] == threshold {
            return Ok(i);
        }
        if bounds[i] > threshold {
            return Err(i);
        }
        i += 1;
    }
    Err(bounds.len())
}

/// How many bounds the function has once the objective's threshold is among them.
pub const fn merged_bounds_len(bounds: &[f64], objective: &Objective) -> usize {
    match objective.latency_threshold_secs() {
        Some(threshold) => match position(bounds, threshold) {
            Ok(_) => bounds.len(),
            Err(_) => bounds.len() + 1,
        },
        None => bounds.len(),
    }
}

/// `bounds` with the objective's threshold inserted in order, if it was missing.
///
/// # Panics
/// At compile time if `N` is not [`merged_bounds_len`] (the macro always passes it).
pub const fn merged_bounds<const N: usize>(bounds: &[f64], objective: &Objective) -> [f64; N] {
    assert!(N == merged_bounds_len(bounds, objective));
    let mut out = [0.0; N];
    let insert = match objective.latency_threshold_secs() {
        Some(threshold) => match position(bounds, threshold) {
            Ok(_) => None,
            Err(at) => Some((at, threshold)),
        },
        None => None,
    };
    let (mut from, mut to) = (0, 0);
    while to < N {
        if let Some((at, threshold)) = insert
            && to == at
            && from == at
        {
            out[to] = threshold;
            to += 1;
            continue;
        }
        out[to] = bounds[from];
        from += 1;
        to += 1;
    }
    out
}

/// The nanosecond bounds matching [`merged_bounds`]: `bounds_ns` with the threshold's
/// exact nanoseconds inserted at the same place.
///
/// # Panics
/// At compile time if `N` is not [`merged_bounds_len`] or `bounds_ns` does not pair
/// with `bounds`.
pub const fn merged_bounds_ns<const N: usize>(
    bounds: &[f64],
    bounds_ns: &[u64],
    objective: &Objective,
) -> [u64; N] {
    assert!(N == merged_bounds_len(bounds, objective) && bounds.len() == bounds_ns.len());
    let mut out = [0u64; N];
    let insert = match objective.latency_target() {
        Some((threshold, _)) => match position(bounds, threshold.as_secs_f64()) {
            Ok(_) => None,
            Err(at) => Some((at, threshold.as_nanos())),
        },
        None => None,
    };
    let (mut from, mut to) = (0, 0);
    while to < N {
        if let Some((at, nanos)) = insert
            && to == at
            && from == at
        {
            out[to] = nanos;
            to += 1;
            continue;
        }
        out[to] = bounds_ns[from];
        from += 1;
        to += 1;
    }
    out
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the bounds are exact copies
mod tests {
    use super::*;
    use crate::objectives::{ObjectiveLatency, ObjectivePercentile};

    const fn with(latency: ObjectiveLatency) -> Objective {
        Objective::new("t").latency(latency, ObjectivePercentile::P99)
    }

    #[test]
    fn present_threshold_keeps_bounds() {
        const O: Objective = with(ObjectiveLatency::Ms250);
        const B: &[f64] = &[0.1, 0.25, 1.0];
        assert_eq!(merged_bounds_len(B, &O), 3);
        assert_eq!(merged_bounds::<3>(B, &O), [0.1, 0.25, 1.0]);
        assert_eq!(
            merged_bounds_ns::<3>(B, &[100_000_000, 250_000_000, 1_000_000_000], &O),
            [100_000_000, 250_000_000, 1_000_000_000]
        );
    }

    #[test]
    fn missing_threshold_is_inserted_in_order() {
        const NS: &[u64] = &[100_000_000, 1_000_000_000];
        for (latency, bounds, ns) in [
            (
                ObjectiveLatency::from_millis(300),
                [0.1, 0.3, 1.0],
                [100_000_000, 300_000_000, 1_000_000_000],
            ),
            (
                ObjectiveLatency::from_micros(50),
                [0.000_05, 0.1, 1.0],
                [50_000, 100_000_000, 1_000_000_000],
            ),
            (
                ObjectiveLatency::Ms5000,
                [0.1, 1.0, 5.0],
                [100_000_000, 1_000_000_000, 5_000_000_000],
            ),
        ] {
            let o = with(latency);
            assert_eq!(merged_bounds_len(&[0.1, 1.0], &o), 3);
            assert_eq!(merged_bounds::<3>(&[0.1, 1.0], &o), bounds);
            assert_eq!(merged_bounds_ns::<3>(&[0.1, 1.0], NS, &o), ns);
        }
    }

    #[test]
    fn success_only_objective_keeps_bounds() {
        let o = Objective::new("s").success_rate(ObjectivePercentile::P99);
        assert_eq!(merged_bounds_len(&[0.1, 1.0], &o), 2);
        assert_eq!(merged_bounds::<2>(&[0.1, 1.0], &o), [0.1, 1.0]);
    }

    #[test]
    fn default_buckets_hold_every_autometrics_threshold() {
        for latency in [
            ObjectiveLatency::Ms5,
            ObjectiveLatency::Ms10,
            ObjectiveLatency::Ms25,
            ObjectiveLatency::Ms50,
            ObjectiveLatency::Ms75,
            ObjectiveLatency::Ms100,
            ObjectiveLatency::Ms250,
            ObjectiveLatency::Ms500,
            ObjectiveLatency::Ms750,
            ObjectiveLatency::Ms1000,
            ObjectiveLatency::Ms2500,
            ObjectiveLatency::Ms5000,
            ObjectiveLatency::Ms7500,
            ObjectiveLatency::Ms10000,
        ] {
            let buckets = crate::model::DEFAULT_BUCKETS;
            assert_eq!(merged_bounds_len(buckets, &with(latency)), buckets.len());
        }
    }
}
