//! What `#[business_metric]` on a function expands to around the call.
//!
//! ```text
//! let h0 = [RUNS { pipeline, status: "failure" }.series(), RUNS { pipeline, status: "success" }.series()];
//! let guard = CallGuard::start(move |success, elapsed| { h0[success as usize].inc(); … });
//! let ret: R = call(move || body);
//! guard.finish(outcome_of(&ret) == Outcome::Ok);     // records outcome, duration, argument values
//! if let Some(ok) = (&ret).__flext_ok() { ROWS { .. }.series().inc_by(apply(ok, |r| r.rows)); }
//! ret
//! ```
//!
//! A panic or a dropped future drops the guard unfinished, which records a failure.

use crate::clock;

/// Records a call when finished, or a failure when dropped unfinished (panic, dropped
/// future). `F` receives whether the call succeeded and its duration in seconds.
#[must_use]
pub struct CallGuard<F: FnOnce(bool, f64)> {
    start: u64,
    record: Option<F>,
}

impl<F: FnOnce(bool, f64)> std::fmt::Debug for CallGuard<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallGuard").finish_non_exhaustive()
    }
}

impl<F: FnOnce(bool, f64)> CallGuard<F> {
    /// Reads the clock.
    #[inline]
    pub fn start(record: F) -> Self {
        CallGuard {
            start: clock::raw(),
            record: Some(record),
        }
    }

    /// Records the call with its outcome.
    #[inline]
    pub fn finish(mut self, success: bool) {
        self.record(success);
    }

    #[inline]
    fn record(&mut self, success: bool) {
        if let Some(record) = self.record.take() {
            let nanos = clock::nanos_between(self.start, clock::raw());
            record(success, nanos as f64 / 1e9);
        }
    }
}

impl<F: FnOnce(bool, f64)> Drop for CallGuard<F> {
    fn drop(&mut self) {
        self.record(false);
    }
}

/// The success value of a `Result` (autoref specialisation, preferred).
pub trait OkResult {
    /// The `Ok` type.
    type Ok;
    #[doc(hidden)]
    fn __flext_ok(&self) -> Option<&Self::Ok>;
}

impl<T, E> OkResult for Result<T, E> {
    type Ok = T;
    #[inline]
    fn __flext_ok(&self) -> Option<&T> {
        self.as_ref().ok()
    }
}

/// Every other return value is a success value.
pub trait OkAny {
    /// The return type.
    type Ok: ?Sized;
    #[doc(hidden)]
    fn __flext_ok(&self) -> Option<&Self::Ok>;
}

impl<T: ?Sized> OkAny for &T {
    type Ok = T;
    #[inline]
    fn __flext_ok(&self) -> Option<&T> {
        Some(*self)
    }
}

/// Calls `f` with `value`: a closure passed here gets its argument type from `value`, so
/// `|report| report.rows` needs no annotation.
#[inline]
pub fn apply<T: ?Sized, V>(value: &T, f: impl FnOnce(&T) -> V) -> V {
    f(value)
}
