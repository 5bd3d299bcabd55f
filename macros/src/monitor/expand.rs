//! Code generation for `#[monitor]`. Infallible: everything was validated before.
//!
//! ```text
//! fn f(args) -> R {
//!     let guard = {
//!         static META: MonitorMeta = …;         // names, bounds, source location
//!         static COUNTERS: SiteCounters<NB> = …; // per-thread counters, all zero
//!         static SITE: MonitorSite<NB> = …;     // bounds and a reference to both
//!         inventory::submit! { MonitorEntry::new(&SITE) }
//!         static ALERTS: [DeclaredAlert; N] = …; // with `alert(..)`: constant data and
//!         inventory::submit! { AlertEntry { … } } // a registration, no per-call work
//!         SITE.start()                          // in-flight +1, clock read
//!     };
//!     let ret: R = call(move || { body });      // `return` and `?` stay in the body
//!     guard.finish(outcome_of(&ret));           // clock read, result, bucket, sum
//!     ret
//! }
//! ```
//!
//! Async functions use `future(async move { body }).await` instead of the closure, and
//! functions already rewritten by `#[async_trait]` get their boxed future instrumented.
//! A panic or a dropped future drops the guard unfinished, which records it as such.
//!
//! With a span (the default), `SITE.start()` becomes `SITE.start_span(span!(…))` (entered
//! for the whole sync call) or `SITE.start_span_async(span!(…))` with the body polled
//! through `guard.run(…)`, and `finish` becomes `finish_traced(outcome, describe)`, where
//! `describe` gives the error's type and message only for an error in an enabled span.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Block, Expr, Ident, ImplItem, Stmt};

use super::options::{Field, Options, Sigil};
use super::{ImplBlock, Method};
use crate::alert::Alert;
use crate::attr::{crate_or_default, private};
use crate::function::{FnParts, arg_names};

/// How a call starts: without a span, or with one entered for the whole call (sync) or
/// at each poll (async).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    Metrics,
    Sync,
    Async,
}

/// The block with every method to instrument rewritten.
pub(crate) fn impl_block(block: ImplBlock) -> TokenStream {
    let ImplBlock { mut item, items } = block;
    item.items = items
        .into_iter()
        .map(|method| match method {
            Method::AsWritten(item) => item,
            Method::Instrumented {
                function,
                options,
                label,
                alerts,
            } => ImplItem::Verbatim(self::function(&function, &options, &label, &alerts)),
        })
        .collect();
    item.into_token_stream()
}

pub(crate) fn function(
    function: &FnParts,
    options: &Options,
    label: &str,
    alerts: &[Alert],
) -> TokenStream {
    let private = private(&crate_or_default(options.krate.clone()));
    let span = function.sig.ident.span();
    let guard = Ident::new("flext_guard", Span::mixed_site());
    let ret = Ident::new("flext_ret", Span::mixed_site());

    let classify = classify_call(&private, options, &ret);
    let span_expr = options
        .span_enabled()
        .then(|| span_expr(&private, options, label, &function.sig, span));
    let traced = span_expr.is_some();
    let async_trait = async_trait_future(&function.body);
    let mode = match (
        &span_expr,
        function.sig.asyncness.is_some() || async_trait.is_some(),
    ) {
        (None, _) => Start::Metrics,
        (Some(_), false) => Start::Sync,
        (Some(_), true) => Start::Async,
    };
    let alert_statics = crate::alert::statics(
        alerts,
        &quote!(#private::AlertSubject::Function {
            function: #label,
            module: ::core::module_path!(),
        }),
        &private,
    );
    let start = start_call(
        &private,
        options,
        label,
        span,
        span_expr.as_ref(),
        mode,
        &alert_statics,
    );
    let finish = if traced {
        // Error details are computed only for an error inside an enabled span.
        quote!(finish_traced(#classify, &|| {
            #[allow(unused_imports)]
            use #private::{DescribeAny as _, DescribeDebug as _, DescribeDisplay as _};
            (&&&#private::Describe(&#ret)).__flext_describe()
        }))
    } else {
        quote!(finish(#classify))
    };

    let is_async = function.sig.asyncness.is_some();
    function.rewrap(&private, |body| {
        if body.returns_never() {
            // Never returns: only a panic can end it, and the guard's drop records that.
            let call = body.call();
            quote! {
                let #guard = #start;
                #[allow(unused_unsafe)]
                #call
            }
        } else if is_async {
            let future = body.future();
            let future = if traced {
                quote!(#guard.run(#future))
            } else {
                future
            };
            quote! {
                let #guard = #start;
                #[allow(unused_unsafe)]
                let #ret = #future.await;
                #guard.#finish;
                #ret
            }
        } else if let Some((boxing, future_body)) = async_trait {
            let future = quote!(async move #future_body);
            let future = if traced {
                quote!(#guard.run(#future))
            } else {
                quote!((#future))
            };
            quote! {
                #boxing(async move {
                    let #guard = #start;
                    let #ret = #future.await;
                    #guard.#finish;
                    #ret
                })
            }
        } else {
            let call = body.call();
            quote! {
                let #guard = #start;
                #[allow(unused_unsafe)]
                let #ret = #call;
                #guard.#finish;
                #ret
            }
        }
    })
}

/// A block that declares the function's statics, registers them, and starts a call.
fn start_call(
    private: &TokenStream,
    options: &Options,
    label: &str,
    span: Span,
    span_expr: Option<&TokenStream>,
    mode: Start,
    alert_statics: &TokenStream,
) -> TokenStream {
    // The usual span (no `args`, no `fields`): its callsite statics sit beside the
    // counters and one shared function builds it (see `__private::monitor_span`).
    let lean = options.args.is_none() && options.fields.as_ref().is_none_or(|(_, f)| f.is_empty());
    let lean_expr;
    let (span_statics, span_expr) = match span_expr {
        Some(_) if lean => {
            let (statics, expr) = lean_span(private, options, label, span);
            lean_expr = expr;
            (statics, Some(&lean_expr))
        }
        other => (TokenStream::new(), other),
    };
    let started = match (mode, span_expr) {
        (Start::Sync, Some(s)) => quote_spanned!(span=> FLEXT_OBSERVABILITY_SITE.start_span(#s)),
        (Start::Async, Some(s)) => {
            quote_spanned!(span=> FLEXT_OBSERVABILITY_SITE.start_span_async(#s))
        }
        _ => quote_spanned!(span=> FLEXT_OBSERVABILITY_SITE.start()),
    };
    let (bounds, bounds_ns, nb) = match &options.buckets {
        Some(b) => {
            let seconds = &b.seconds;
            let nanos = b.nanos();
            let nb = seconds.len() + 1;
            (
                quote!(&[#(#seconds),*]),
                quote!(&[#(#nanos),*]),
                quote!(#nb),
            )
        }
        None => (
            quote!(#private::DEFAULT_BOUNDS),
            quote!(#private::DEFAULT_BOUNDS_NS),
            quote!({ #private::DEFAULT_NB }),
        ),
    };
    let (objective_items, bounds, bounds_ns, nb, objective) = match &options.objective {
        Some(expr) => objective_statics(private, expr, &bounds, &bounds_ns),
        None => (
            TokenStream::new(),
            bounds,
            bounds_ns,
            nb,
            quote!(::core::option::Option::None),
        ),
    };

    // The statics live in a block that only yields the guard: user code cannot see or
    // collide with them.
    let start = quote_spanned! {span=>
        {
            #objective_items
            static FLEXT_OBSERVABILITY_META: #private::MonitorMeta = #private::MonitorMeta {
                function: #label,
                module: ::core::module_path!(),
                file: ::core::file!(),
                line: ::core::line!(),
                bounds: #bounds,
                bounds_ns: #bounds_ns,
                crate_name: match ::core::option_env!("CARGO_PKG_NAME") {
                    ::core::option::Option::Some(name) => name,
                    ::core::option::Option::None => "",
                },
                crate_version: match ::core::option_env!("CARGO_PKG_VERSION") {
                    ::core::option::Option::Some(version) => version,
                    ::core::option::Option::None => "",
                },
                // Read here, in the user's crate: vergen's variables reach only the crate
                // whose build script sets them.
                commit: match ::core::option_env!("AUTOMETRICS_COMMIT") {
                    ::core::option::Option::Some(commit) => commit,
                    ::core::option::Option::None => match ::core::option_env!("VERGEN_GIT_SHA") {
                        ::core::option::Option::Some(commit) => commit,
                        ::core::option::Option::None => "",
                    },
                },
                branch: match ::core::option_env!("AUTOMETRICS_BRANCH") {
                    ::core::option::Option::Some(branch) => branch,
                    ::core::option::Option::None => match ::core::option_env!("VERGEN_GIT_BRANCH") {
                        ::core::option::Option::Some(branch) => branch,
                        ::core::option::Option::None => "",
                    },
                },
                repository: match ::core::option_env!("CARGO_PKG_REPOSITORY") {
                    ::core::option::Option::Some(url) => url,
                    ::core::option::Option::None => "",
                },
                objective: #objective,
            };
            // All zero, in a static of its own: `.bss`, no bytes in the executable.
            static FLEXT_OBSERVABILITY_COUNTERS: #private::SiteCounters<#nb> =
                #private::SiteCounters::new();
            static FLEXT_OBSERVABILITY_SITE: #private::MonitorSite<#nb> =
                #private::MonitorSite::new(&FLEXT_OBSERVABILITY_META, &FLEXT_OBSERVABILITY_COUNTERS);
            #private::inventory::submit! {
                #private::MonitorEntry::new(&FLEXT_OBSERVABILITY_SITE)
            }
            #span_statics
            #alert_statics
            #started
        }
    };

    start
}

/// The objective as a `const` (so the compiler checks its type on the user's tokens and
/// evaluates it at compile time), and the bounds with its latency threshold added when
/// missing: items to put before the site's statics, then the bounds, their nanoseconds,
/// the storage width and the `objective` field.
fn objective_statics(
    private: &TokenStream,
    expr: &Expr,
    bounds: &TokenStream,
    bounds_ns: &TokenStream,
) -> (
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
) {
    let span = syn::spanned::Spanned::span(expr);
    let items = quote_spanned! {span=>
        const FLEXT_OBSERVABILITY_OBJECTIVE: #private::Objective = #expr;
        // Imported so that the whole call carries the objective's span: a failed check
        // points at `objective = …`, not at the attribute.
        use #private::check_objective as flext_observability_check_objective;
        const _: () = flext_observability_check_objective(&FLEXT_OBSERVABILITY_OBJECTIVE);
        const FLEXT_OBSERVABILITY_BASE: &[::core::primitive::f64] = #bounds;
        const FLEXT_OBSERVABILITY_BASE_NS: &[::core::primitive::u64] = #bounds_ns;
        const FLEXT_OBSERVABILITY_NBOUNDS: ::core::primitive::usize =
            #private::merged_bounds_len(FLEXT_OBSERVABILITY_BASE, &FLEXT_OBSERVABILITY_OBJECTIVE);
        static FLEXT_OBSERVABILITY_BOUNDS: [::core::primitive::f64; FLEXT_OBSERVABILITY_NBOUNDS] =
            #private::merged_bounds(FLEXT_OBSERVABILITY_BASE, &FLEXT_OBSERVABILITY_OBJECTIVE);
        static FLEXT_OBSERVABILITY_BOUNDS_NS: [::core::primitive::u64; FLEXT_OBSERVABILITY_NBOUNDS] =
            #private::merged_bounds_ns(
                FLEXT_OBSERVABILITY_BASE,
                FLEXT_OBSERVABILITY_BASE_NS,
                &FLEXT_OBSERVABILITY_OBJECTIVE,
            );
    };
    (
        items,
        quote!(&FLEXT_OBSERVABILITY_BOUNDS),
        quote!(&FLEXT_OBSERVABILITY_BOUNDS_NS),
        quote!({ FLEXT_OBSERVABILITY_NBOUNDS + 1 }),
        quote!(::core::option::Option::Some(FLEXT_OBSERVABILITY_OBJECTIVE)),
    )
}

/// The statics of a span without `args`/`fields` and the expression that builds it from
/// them (`__private::monitor_span`).
fn lean_span(
    private: &TokenStream,
    options: &Options,
    label: &str,
    span: Span,
) -> (TokenStream, TokenStream) {
    let level = Ident::new(options.level.as_ref().map_or("INFO", |l| l.level), span);
    let expr = quote_spanned! {span=>
        #private::monitor_span(
            &FLEXT_OBSERVABILITY_CALLSITE,
            #private::tracing::Level::#level,
            &FLEXT_OBSERVABILITY_META,
        )
    };
    let statics = quote_spanned! {span=>
        static FLEXT_OBSERVABILITY_CALLSITE: #private::tracing::callsite::DefaultCallsite =
            #private::tracing::callsite::DefaultCallsite::new(&FLEXT_OBSERVABILITY_SPAN);
        static FLEXT_OBSERVABILITY_SPAN: #private::tracing::Metadata<'static> =
            #private::tracing::Metadata::new(
                #label,
                ::core::module_path!(),
                #private::tracing::Level::#level,
                ::core::option::Option::Some(::core::file!()),
                ::core::option::Option::Some(::core::line!()),
                ::core::option::Option::Some(::core::module_path!()),
                #private::tracing::field::FieldSet::new(
                    #private::SPAN_FIELDS,
                    #private::tracing::callsite::Identifier(&FLEXT_OBSERVABILITY_CALLSITE),
                ),
                #private::tracing::metadata::Kind::SPAN,
            );
    };
    (statics, expr)
}

/// The outcome of the call held in `ret`.
fn classify_call(private: &TokenStream, options: &Options, ret: &Ident) -> TokenStream {
    if let Some(ok_if) = &options.ok_if {
        quote!(#private::outcome_from(!(#ok_if)(&#ret)))
    } else if let Some(error_if) = &options.error_if {
        quote!(#private::outcome_from((#error_if)(&#ret)))
    } else {
        quote!({
            #[allow(unused_imports)]
            use #private::{ViaAny as _, ViaResult as _};
            (&#ret).__flext_outcome()
        })
    }
}

/// `tracing::span!(…)` with a static callsite: when no subscriber wants it, creating it
/// costs one atomic load of the global max level.
fn span_expr(
    private: &TokenStream,
    options: &Options,
    label: &str,
    sig: &syn::Signature,
    span: Span,
) -> TokenStream {
    let level = Ident::new(options.level.as_ref().map_or("INFO", |l| l.level), span);
    let mut fields: Vec<TokenStream> = Vec::new();
    let explicit: Vec<String> = options
        .fields
        .iter()
        .flat_map(|(_, f)| f.iter().map(Field::key_string))
        .collect();
    if options.args.is_some() {
        let skipped: Vec<String> = options
            .skip_args
            .iter()
            .flat_map(|(_, names)| names.iter().map(|n| n.unraw().to_string()))
            .collect();
        for arg in arg_names(sig) {
            let name = arg.unraw().to_string();
            if skipped.contains(&name) || explicit.contains(&name) {
                continue;
            }
            let key = Ident::new(&name, arg.span());
            // Wrapped here, spanned on the argument, so a missing `Debug` is reported on
            // the argument itself.
            fields.push(quote_spanned!(arg.span()=> #key = #private::debug_field(&#arg)));
        }
    }
    for field in options.fields.iter().flat_map(|(_, f)| f) {
        let key = &field.key;
        let value = match &field.value {
            Some(expr) => quote!(#expr),
            None => key[0].to_token_stream(),
        };
        let value_span = syn::spanned::Spanned::span(&value);
        let value = match field.sigil {
            Sigil::Display => {
                quote_spanned!(value_span=> #private::display_field(&(#value)))
            }
            Sigil::Debug => quote_spanned!(value_span=> #private::debug_field(&(#value))),
            Sigil::Value => quote!((#value)),
        };
        fields.push(quote!(#(#key).* = #value));
    }
    quote_spanned! {span=>
        #private::tracing::span!(
            target: ::core::module_path!(),
            #private::tracing::Level::#level,
            #label,
            code.function = #label,
            code.namespace = ::core::module_path!(),
            code.filepath = ::core::file!(),
            code.lineno = ::core::line!(),
            otel.status_code = #private::tracing::field::Empty,
            otel.status_description = #private::tracing::field::Empty,
            error.type = #private::tracing::field::Empty
            #(, #fields)*
        )
    }
}

/// Recognises the body `#[async_trait]` produces, `Box::pin(async move { … })`, and
/// returns the boxing call and the future's block.
fn async_trait_future(body: &proc_macro2::Group) -> Option<(TokenStream, Block)> {
    let stmts = syn::parse::Parser::parse2(Block::parse_within, body.stream()).ok()?;
    let [Stmt::Expr(Expr::Call(call), None)] = stmts.as_slice() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = func
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    let Expr::Async(future) = &call.args[0] else {
        return None;
    };
    future.capture?;
    Some((func.to_token_stream(), future.block.clone()))
}
