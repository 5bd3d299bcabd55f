//! Handles of business metric series: what recording goes through, and the values it
//! takes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::family::{Family, Series};

/// A value a counter can count: any unsigned integer.
pub trait Count: Copy {
    /// The value as `u64`.
    fn to_count(self) -> u64;
}

macro_rules! count_from {
    ($($t:ty),*) => {$(
        impl Count for $t {
            #[inline]
            fn to_count(self) -> u64 {
                u64::from(self)
            }
        }
    )*};
}
count_from!(u8, u16, u32, u64);

impl Count for usize {
    #[inline]
    fn to_count(self) -> u64 {
        // `usize` is at most 64 bits on every supported target.
        self as u64
    }
}

/// A value a gauge or histogram records: numbers, and [`Duration`] as seconds.
pub trait Measure: Copy {
    /// The value as `f64`.
    fn to_f64(self) -> f64;
}

macro_rules! measure_from {
    ($($t:ty),*) => {$(
        impl Measure for $t {
            #[inline]
            #[allow(clippy::cast_lossless)] // `as` for every type the macro lists
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
measure_from!(f64, f32, u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl Measure for Duration {
    #[inline]
    fn to_f64(self) -> f64 {
        self.as_secs_f64()
    }
}

/// Warns once when a `ratio` gauge is set outside 0–1: most likely a percentage. After
/// the warning, an out-of-range value costs one relaxed load: nothing is formatted,
/// locked or allocated.
#[inline]
pub(crate) fn check_ratio(family: &Family, value: f64) {
    if family.meta.unit == Some("ratio")
        && !(0.0..=1.0).contains(&value)
        && !family.ratio_warned.load(Ordering::Relaxed)
    {
        warn_ratio(family, value);
    }
}

#[cold]
#[inline(never)]
fn warn_ratio(family: &Family, value: f64) {
    if !family.ratio_warned.swap(true, Ordering::Relaxed) {
        crate::diag::warn(&format!(
            "gauge `{}` is a ratio but was set to {value}: record ratios from 0 to 1, not percentages",
            family.meta.name
        ));
    }
}

/// One series of a counter: copy it, keep it, record through it without a lookup.
#[derive(Clone, Copy, Debug)]
pub struct CounterSeries(pub(crate) &'static Series);

impl CounterSeries {
    /// Adds one.
    #[inline]
    pub fn inc(self) {
        self.0.counter_add(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(self, n: impl Count) {
        self.0.counter_add(n.to_count());
    }

    /// The current value.
    pub fn get(self) -> u64 {
        self.0.counter_value()
    }
}

/// One series of a gauge.
#[derive(Clone, Copy, Debug)]
pub struct GaugeSeries(pub(crate) &'static Series);

impl GaugeSeries {
    /// Sets the value.
    #[inline]
    pub fn set(self, value: impl Measure) {
        let value = value.to_f64();
        check_ratio(self.0.family, value);
        self.0.gauge_set(value);
    }

    /// Adds `delta`.
    #[inline]
    pub fn add(self, delta: impl Measure) {
        self.0.gauge_add(delta.to_f64());
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(self, delta: impl Measure) {
        self.0.gauge_add(-delta.to_f64());
    }

    /// The current value.
    pub fn get(self) -> f64 {
        self.0.gauge_value()
    }
}

/// One series of a histogram.
#[derive(Clone, Copy, Debug)]
pub struct HistogramSeries(pub(crate) &'static Series);

impl HistogramSeries {
    /// Records one observation.
    #[inline]
    pub fn observe(self, value: impl Measure) {
        self.0.observe(value.to_f64());
    }

    /// Number of observations so far.
    pub fn count(self) -> u64 {
        self.0.histogram_snapshot().0.iter().sum()
    }

    /// Sum of the observations so far.
    pub fn sum(self) -> f64 {
        self.0.histogram_snapshot().1
    }
}
