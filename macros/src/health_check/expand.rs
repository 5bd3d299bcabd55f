//! Code generation for `#[health_check]`. Infallible: everything was validated before.
//!
//! The function is emitted unchanged; next to it, hidden in a `const _` block:
//!
//! ```text
//! const _: () = {
//!     fn bind(resources, missing) -> Option<BoundCheck> {
//!         let r0 = resources.get::<Pool>(missing);      // one per parameter, by type
//!         let r0 = r0?;                                 // after all lookups: all missing named
//!         Some(BoundCheck::blocking(move || into_health(check(&*r0))))
//!         // async: BoundCheck::asynchronous(move || { let r0 = r0.clone();
//!         //            check_future(async move { into_health(check(&*r0).await) }) })
//!     }
//!     static META: HealthCheckMeta = HealthCheckMeta { name, kind, …, bind };
//!     inventory::submit! { HealthCheckEntry::new(&META) }
//! };
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ReturnType, Signature, Type, parse_quote};

use super::options::{DurationOption, Kind, Options};
use crate::attr::{crate_or_default, private};
use crate::function::erase_lifetimes;

pub(crate) fn registration(sig: &Signature, options: &Options, name: &str) -> TokenStream {
    let private = private(&crate_or_default(options.krate.clone()));
    let span = sig.ident.span();
    let resources = syn::Ident::new("resources", Span::mixed_site());
    let missing = syn::Ident::new("missing", Span::mixed_site());
    let params = Parameters::new(sig, &private, &resources, &missing);
    let Parameters {
        lookups, unwraps, ..
    } = &params;
    let work = work(sig, &private, &params);

    let kind = match options.kind.map_or(Kind::Readiness, |(_, k)| k) {
        Kind::Readiness => quote!(Readiness),
        Kind::Liveness => quote!(Liveness),
        Kind::Startup => quote!(Startup),
    };
    let critical = options.critical.is_some_and(|(_, c)| c);
    let groups = options.groups.iter().flatten();
    let interval = optional_duration(options.interval.as_ref());
    let timeout = optional_duration(options.timeout.as_ref());
    let failure_threshold = options.failure_threshold.as_ref().map_or(0, |c| c.value);
    let success_threshold = options.success_threshold.as_ref().map_or(0, |c| c.value);

    quote_spanned! {span=>
        #[doc(hidden)]
        const _: () = {
            // Without parameters nothing can be missing: the `Option` is always `Some`.
            #[allow(clippy::unnecessary_wraps)]
            fn __flext_observability_bind(
                #resources: &#private::Resources,
                #missing: &mut #private::Missing,
            ) -> ::core::option::Option<#private::BoundCheck> {
                #(#lookups)*
                #(#unwraps)*
                ::core::option::Option::Some(#work)
            }
            static __FLEXT_OBSERVABILITY_HEALTH_CHECK: #private::HealthCheckMeta =
                #private::HealthCheckMeta {
                    name: #name,
                    module: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    kind: #private::HealthKind::#kind,
                    critical: #critical,
                    groups: &[#(#groups),*],
                    interval: #interval,
                    timeout: #timeout,
                    failure_threshold: #failure_threshold,
                    success_threshold: #success_threshold,
                    bind: __flext_observability_bind,
                };
            #private::inventory::submit! {
                #private::HealthCheckEntry::new(&__FLEXT_OBSERVABILITY_HEALTH_CHECK)
            }
        };
    }
}

/// How each parameter is looked up, unwrapped, captured and passed.
#[derive(Default)]
struct Parameters {
    lookups: Vec<TokenStream>,
    unwraps: Vec<TokenStream>,
    reclones: Vec<TokenStream>,
    arguments: Vec<TokenStream>,
}

impl Parameters {
    fn new(
        sig: &Signature,
        private: &TokenStream,
        resources: &syn::Ident,
        missing: &syn::Ident,
    ) -> Self {
        let mut params = Parameters::default();
        for (i, input) in sig.inputs.iter().enumerate() {
            let FnArg::Typed(typed) = input else { continue };
            let var = format_ident!("flext_resource_{}", i, span = Span::mixed_site());
            let (resource, by_ref) = match &*typed.ty {
                Type::Reference(r) => (erase_lifetimes(&r.elem), true),
                other => (erase_lifetimes(other), false),
            };
            let ty_span = typed.ty.span();
            // Spanned at the parameter's type: a type that cannot be shared across
            // threads, or cloned, is reported there.
            params.lookups.push(quote_spanned! {ty_span=>
                let #var = #resources.get::<#resource>(#missing);
            });
            params.unwraps.push(quote! { let #var = #var?; });
            params
                .reclones
                .push(quote! { let #var = ::core::clone::Clone::clone(&#var); });
            params.arguments.push(if by_ref {
                quote!(&*#var)
            } else {
                let cloned = respan(quote!(#private::cloned), ty_span);
                quote_spanned!(ty_span=> #cloned::<#resource>(&#var))
            });
        }
        params
    }
}

/// The `BoundCheck` that calls the function with its parameters.
fn work(sig: &Signature, private: &TokenStream, params: &Parameters) -> TokenStream {
    let span = sig.ident.span();
    let function = &sig.ident;
    let value = syn::Ident::new("flext_value", Span::mixed_site());
    let Parameters {
        reclones,
        arguments,
        ..
    } = params;
    let (ret_ty, ret_span): (Type, Span) = match &sig.output {
        ReturnType::Type(_, ty) => (erase_lifetimes(ty), ty.span()),
        ReturnType::Default => (parse_quote!(()), span),
    };
    // Spanned at the return type: an unsupported return type is reported there.
    let convert = quote_spanned!(ret_span=> #private::into_health::<#ret_ty>(#value));
    if let Some(asyncness) = &sig.asyncness {
        // Spanned at `async`: a future that is not `Send` is reported there.
        let check_future = respan(quote!(#private::check_future), asyncness.span());
        quote_spanned! {span=>
            #private::BoundCheck::asynchronous(move || {
                #(#reclones)*
                #check_future(async move {
                    let #value = #function(#(#arguments),*).await;
                    #convert
                })
            })
        }
    } else {
        quote_spanned! {span=>
            #private::BoundCheck::blocking(move || {
                let #value = #function(#(#arguments),*);
                #convert
            })
        }
    }
}

/// `tokens` with every span set to `span`, so an error about them points at user code.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut respanned =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                tree = respanned.into();
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

fn optional_duration(option: Option<&DurationOption>) -> TokenStream {
    let Some(duration) = option else {
        return quote!(::core::option::Option::None);
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    // validated: positive and far below u64::MAX nanoseconds
    let nanos = (duration.seconds * 1e9).round() as u64;
    quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#nanos)))
}
