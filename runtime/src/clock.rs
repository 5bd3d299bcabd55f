//! The clock shared by every monitored call.
//!
//! `quanta` reads the TSC (`x86_64`) or the virtual counter (`aarch64`) where it is invariant
//! and falls back to the monotonic clock elsewhere. A call takes two raw reads and scales
//! only their difference, once.

use std::sync::OnceLock;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn clock() -> &'static quanta::Clock {
    match CLOCK.get() {
        Some(clock) => clock,
        None => init(),
    }
}

/// Calibrates the clock; `install()` calls it so the first monitored call does not pay.
#[cold]
#[inline(never)]
pub(crate) fn init() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn raw() -> u64 {
    clock().raw()
}

#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn nanos_between(start: u64, end: u64) -> u64 {
    clock().delta_as_nanos(start, end)
}

/// Wall-clock time in nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
