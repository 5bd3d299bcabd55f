//! The `metrics` crate recorder: `metrics::counter!`, `gauge!` and `histogram!` written
//! anywhere in the process land in the same exposition as `#[monitor]`.
//!
//! Names are made valid (`http.requests` → `http_requests`), counters gain `_total`, and
//! each family is capped in series (see [`crate::dynamic`]).

mod source;
pub(crate) mod store;
