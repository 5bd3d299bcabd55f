//! Every semantic rule of `#[business_metric]` on a function that is not about one entry:
//! something to record, a signature it can wrap, parameters that do not take the names
//! of the call's outcome and duration.

use proc_macro2::Span;
use syn::{FnArg, Pat};

use super::options::{ELAPSED, OUTCOME, Parsed};
use crate::errors::Errors;
use crate::function::{FnParts, Refusals, refuse};

const REFUSALS: Refusals = Refusals {
    const_fn: Some("`#[business_metric]` cannot record from a `const fn`: remove `const`"),
    unsafe_fn: None,
    variadic: "`#[business_metric]` cannot record from a C-variadic function",
};

/// `args_span` is where a missing list of entries is reported.
pub(super) fn function(function: &FnParts, parsed: &Parsed, args_span: Span, errors: &mut Errors) {
    // Only when the entries parsed: an entry with an error is not recorded either.
    if parsed.entries.is_empty() && errors.is_empty() {
        errors.error_span(
            args_span,
            "list what each call records, such as `#[business_metric(ETL_RUNS_TOTAL { status: outcome }.inc())]`",
        );
    }
    refuse(&function.sig, &REFUSALS, errors);
    parameter_names(function, parsed, errors);
}

fn parameter_names(function: &FnParts, parsed: &Parsed, errors: &mut Errors) {
    for input in &function.sig.inputs {
        let FnArg::Typed(arg) = input else { continue };
        let Pat::Ident(pat) = &*arg.pat else { continue };
        for (name, used) in [
            (OUTCOME, parsed.uses_outcome),
            (ELAPSED, parsed.uses_elapsed),
        ] {
            if used.is_some() && pat.ident == name {
                errors.error_at(
                    &pat.ident,
                    format!("this parameter is named `{name}`, which `#[business_metric]` uses for the call's {name}: rename the parameter"),
                );
            }
        }
    }
}
