//! Code generation for `#[business_metric]` on a function. Infallible: everything was
//! validated before.
//!
//! ```text
//! fn f(args) -> R {
//!     let series_0 = [failure_series, success_series];  // label values, before the call
//!     let value_0 = batch.len();                         // argument values, before the call
//!     let guard = CallGuard::start(move |success, elapsed| { series_0[success].inc(); … });
//!     let ret: R = call(move || { body });               // or future(async move { body }).await
//!     guard.finish(outcome_of(&ret) == Ok);              // records what depends on the outcome
//!     if let Some(ok) = ok_value(&ret) { series_1.inc_by(apply(ok, |r| r.written)); }
//!     ret
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{ExprStruct, Ident, Path, Token, parse_quote};

use super::options::{OUTCOME, Parsed, Value, is_ident};
use crate::attr::{crate_or_default, private};
use crate::business::series::site;
use crate::function::FnParts;

/// The label struct with `outcome` replaced by the given literal.
fn with_outcome(labels: &ExprStruct, value: &str) -> ExprStruct {
    let mut labels = labels.clone();
    for field in &mut labels.fields {
        if is_ident(&field.expr, OUTCOME) {
            let span = syn::spanned::Spanned::span(&field.expr);
            let lit = syn::LitStr::new(value, span);
            field.expr = parse_quote!(#lit);
            if field.colon_token.is_none() {
                field.colon_token = Some(Token![:](span));
            }
        }
    }
    labels
}

fn handle(krate: &Path, labels: &ExprStruct, fixed: bool) -> TokenStream {
    if fixed {
        site(krate, labels)
    } else {
        quote!(#labels.series())
    }
}

/// The function with its body wrapped to record every entry.
pub(super) fn function(function: &FnParts, parsed: &Parsed) -> TokenStream {
    let krate = &crate_or_default(parsed.krate.clone());
    let private = private(krate);
    let mixed = |name: &str| Ident::new(name, Span::mixed_site());
    let success = mixed("flext_success");
    let elapsed = mixed("flext_elapsed");
    let guard = mixed("flext_guard");
    let ret = mixed("flext_ret");
    let ok_value = mixed("flext_ok_value");
    let ret_ref = mixed("flext_ret_ref");

    let mut before = TokenStream::new();
    let mut on_finish = TokenStream::new();
    let mut on_success = TokenStream::new();
    for (i, entry) in parsed.entries.iter().enumerate() {
        let h = mixed(&format!("flext_series_{i}"));
        let v = mixed(&format!("flext_value_{i}"));
        let method = &entry.method;
        // The receiver of the recording call: a resolved series, or the static itself.
        let receiver = match &entry.labels {
            Some(labels) if entry.has_outcome => {
                let failure = handle(krate, &with_outcome(labels, "failure"), entry.fixed);
                let succeeded = handle(krate, &with_outcome(labels, "success"), entry.fixed);
                before.extend(quote!(let #h = [#failure, #succeeded];));
                if matches!(entry.value, Value::Returned(_)) {
                    quote!(#h[1])
                } else {
                    quote!(#h[<::core::primitive::usize as ::core::convert::From<::core::primitive::bool>>::from(#success)])
                }
            }
            Some(labels) => {
                let series = handle(krate, labels, entry.fixed);
                before.extend(quote!(let #h = #series;));
                quote!(#h)
            }
            None => entry.path.to_token_stream(),
        };
        match &entry.value {
            Value::One => on_finish.extend(quote!(#receiver.#method();)),
            Value::Elapsed => on_finish.extend(quote!(#receiver.#method(#elapsed);)),
            Value::Argument(expr) => {
                before.extend(quote!(let #v = #expr;));
                on_finish.extend(quote!(#receiver.#method(#v);));
            }
            Value::Returned(closure) => on_success.extend(quote! {
                #receiver.#method(#private::apply(#ok_value, #closure));
            }),
        }
    }

    let is_async = function.sig.asyncness.is_some();
    function.rewrap(&private, |body| {
        let call = if is_async {
            let future = body.future();
            quote!(#future.await)
        } else {
            body.call()
        };
        quote! {
            #before
            let #guard = #private::CallGuard::start(
                move |#success: ::core::primitive::bool, #elapsed: ::core::primitive::f64| {
                    let _ = (#success, #elapsed);
                    #on_finish
                },
            );
            #[allow(unused_unsafe)]
            let #ret = #call;
            #guard.finish({
                #[allow(unused_imports)]
                use #private::{ViaAny as _, ViaResult as _};
                (&#ret).__flext_outcome() == #private::Outcome::Ok
            });
            let #ret_ref = &#ret;
            if let ::core::option::Option::Some(#ok_value) = {
                #[allow(unused_imports)]
                use #private::{OkAny as _, OkResult as _};
                // A local reference, not `(&ret)`: the `&&R` this borrows must outlive the block.
                #ret_ref.__flext_ok()
            } {
                let _ = #ok_value;
                #on_success
            }
            #ret
        }
    })
}
