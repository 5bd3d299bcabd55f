//! `#[business_metric(…)]` on a function: each call records into declared metrics.
//!
//! Every entry is written as the recording call it stands for:
//!
//! ```text
//! #[business_metric(
//!     ETL_RUNS_TOTAL { pipeline: name, status: outcome }.inc(),          // outcome: "success" / "failure"
//!     ETL_RUN_DURATION_SECONDS { pipeline: name }.observe(elapsed),      // elapsed: the call, in seconds
//!     ETL_BATCH_ROWS { pipeline: name }.observe(batch.len()),            // from an argument, before the call
//!     ETL_ROWS_WRITTEN_TOTAL { pipeline: name }.inc_by(|r| r.written),   // from the Ok value, after the call
//! )]
//! ```
//!
//! Label values are evaluated before the call (the body may consume the arguments); when
//! all are literals (or `outcome`), the series live in `static` storage.

mod expand;
mod options;
mod validate;

use proc_macro2::TokenStream;

use crate::errors::{Errors, finish};
use crate::function::FnParts;

pub(crate) fn expand(args: TokenStream, function: &FnParts, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    // Where "no entries" is reported: the first argument, or the function's name.
    let args_span = args
        .clone()
        .into_iter()
        .next()
        .map_or_else(|| function.sig.ident.span(), |t| t.span());
    let parsed = options::parse(args, &mut errors);
    validate::function(function, &parsed, args_span, &mut errors);
    if !errors.is_empty() {
        return finish(errors, TokenStream::new(), input);
    }
    expand::function(function, &parsed)
}
