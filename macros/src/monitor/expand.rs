//! Code generation for `#[monitor]`. Infallible: everything was validated before.
//!
//! ```text
//! fn f(args) -> R {
//!     let guard = {
//!         static META: MonitorMeta = …;         // names, bounds, source location
//!         static SITE: MonitorSite<NB> = …;     // per-thread counters, all zero
//!         inventory::submit! { MonitorEntry::new(&SITE) }
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

use proc_macro2::{Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{Block, Expr, Ident, ReturnType, Stmt, Type, parse_quote, parse_quote_spanned};

use super::FnParts;
use super::options::Options;

pub(crate) fn function(function: FnParts, options: &Options, label: &str) -> TokenStream {
    let krate: syn::Path = options
        .krate
        .clone()
        .unwrap_or_else(|| parse_quote!(::flext_observability));
    let private = quote!(#krate::__private);
    let span = function.sig.ident.span();
    let guard = Ident::new("flext_guard", Span::mixed_site());
    let ret = Ident::new("flext_ret", Span::mixed_site());

    let start = start_call(&private, options, label, span);
    let classify = classify_call(&private, options, &ret);

    let FnParts {
        attrs,
        vis,
        defaultness,
        sig,
        body,
    } = function;

    let is_unsafe = matches!(sig.safety, syn::Safety::Unsafe(_));
    let inner = if is_unsafe {
        quote!({ unsafe #body })
    } else {
        body.to_token_stream()
    };
    let never = matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
    let ret_ty = return_annotation(&sig.output);
    let turbofish = ret_ty.as_ref().map(|ty| quote!(::<#ty, _>));

    let instrumented = if never {
        // Never returns: only a panic can end it, and the guard's drop records that.
        quote! {
            let #guard = #start;
            #[allow(unused_unsafe)]
            #private::call(move || -> ! #inner)
        }
    } else if sig.asyncness.is_some() {
        quote! {
            let #guard = #start;
            #[allow(unused_unsafe)]
            let #ret = #private::future #turbofish (async move #inner).await;
            #guard.finish(#classify);
            #ret
        }
    } else if let Some((boxing, future_body)) = async_trait_future(&body) {
        quote! {
            #boxing(async move {
                let #guard = #start;
                let #ret = (async move #future_body).await;
                #guard.finish(#classify);
                #ret
            })
        }
    } else {
        quote! {
            let #guard = #start;
            #[allow(unused_unsafe)]
            let #ret = #private::call #turbofish (move || #inner);
            #guard.finish(#classify);
            #ret
        }
    };
    let body = Group::new(proc_macro2::Delimiter::Brace, instrumented);
    quote! {
        #(#attrs)*
        #vis #defaultness #sig #body
    }
}

/// A block that declares the function's statics, registers them, and starts a call.
fn start_call(private: &TokenStream, options: &Options, label: &str, span: Span) -> TokenStream {
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

    // The statics live in a block that only yields the guard: user code cannot see or
    // collide with them.
    let start = quote_spanned! {span=>
        {
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
            };
            static FLEXT_OBSERVABILITY_SITE: #private::MonitorSite<#nb> =
                #private::MonitorSite::new(&FLEXT_OBSERVABILITY_META);
            #private::inventory::submit! {
                #private::MonitorEntry::new(&FLEXT_OBSERVABILITY_SITE)
            }
            FLEXT_OBSERVABILITY_SITE.start()
        }
    };

    start
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

/// The declared return type with every `impl Trait` replaced by `_`, for a `let`
/// annotation; `None` for `!`, which cannot annotate a binding on stable Rust.
fn return_annotation(output: &ReturnType) -> Option<Type> {
    match output {
        ReturnType::Default => Some(parse_quote!(())),
        ReturnType::Type(_, ty) => {
            if matches!(**ty, Type::Never(_)) {
                None
            } else {
                let mut ty = (**ty).clone();
                erase_impl_trait(&mut ty);
                Some(ty)
            }
        }
    }
}

fn erase_impl_trait(ty: &mut Type) {
    match ty {
        Type::ImplTrait(it) => {
            let span = syn::spanned::Spanned::span(&*it);
            *ty = parse_quote_spanned!(span=> _);
        }
        Type::Array(a) => erase_impl_trait(&mut a.elem),
        Type::Group(g) => erase_impl_trait(&mut g.elem),
        Type::Paren(p) => erase_impl_trait(&mut p.elem),
        Type::Ptr(p) => erase_impl_trait(&mut p.elem),
        Type::Reference(r) => erase_impl_trait(&mut r.elem),
        Type::Slice(s) => erase_impl_trait(&mut s.elem),
        Type::Tuple(t) => t.elems.iter_mut().for_each(erase_impl_trait),
        Type::Path(p) => {
            if let Some(q) = &mut p.qself {
                erase_impl_trait(&mut q.ty);
            }
            for segment in &mut p.path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            erase_impl_trait(t);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Recognises the body `#[async_trait]` produces, `Box::pin(async move { … })`, and
/// returns the boxing call and the future's block.
fn async_trait_future(body: &Group) -> Option<(TokenStream, Block)> {
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
