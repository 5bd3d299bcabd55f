//! `#[monitor]`: parse the item and the options, validate every function, expand.

mod expand;
mod options;
mod validate;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{ImplItem, Item, ItemImpl, Type};

use crate::alert;
use crate::errors::{Errors, finish, item_keyword};
use crate::function::FnParts;
use options::Options;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = options::parse(args, &mut errors);

    if let Ok(function) = syn::parse2::<FnParts>(input.clone()) {
        validate::free_function(&options, &function, &mut errors);
        if !errors.is_empty() {
            return finish(errors, TokenStream::new(), input);
        }
        let label = match &options.name {
            Some(name) => name.value(),
            None => function.sig.ident.unraw().to_string(),
        };
        let alerts = alert::check(
            &options.alerts,
            &alert::Subject::Function {
                label: &label,
                largest_bound: largest_bound(&options),
            },
            &mut errors,
        );
        if !errors.is_empty() {
            return finish(errors, TokenStream::new(), input);
        }
        return expand::function(&function, &options, &label, &alerts);
    }
    match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) => {
            let block = impl_block(item, &options, &mut errors);
            if !errors.is_empty() {
                return finish(errors, TokenStream::new(), input);
            }
            expand::impl_block(block)
        }
        Ok(other) => {
            errors.error_at(
                item_keyword(&other),
                "`#[monitor]` applies to functions and impl blocks",
            );
            finish(errors, TokenStream::new(), input)
        }
        // Not an item syn understands: hand it back untouched and let rustc report it.
        Err(_) => input,
    }
}

/// An impl block whose every method has been checked: each item is kept as written or
/// instrumented with its merged options.
pub(crate) struct ImplBlock {
    /// The block with its items taken out.
    pub(crate) item: ItemImpl,
    pub(crate) items: Vec<Method>,
}

// A few of these live for one expansion: boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Method {
    AsWritten(ImplItem),
    /// A method to instrument, with the options that apply to it.
    Instrumented {
        function: FnParts,
        options: Options,
        label: String,
        alerts: Vec<alert::Alert>,
    },
}

/// Reads every method's own `#[monitor(…)]` (removing it), merges it over the block's
/// options and validates the result, so that expanding the block cannot fail.
fn impl_block(mut item: ItemImpl, outer: &Options, errors: &mut Errors) -> ImplBlock {
    validate::impl_options(outer, errors);
    let type_name = type_label(&item.self_ty);
    let prefix = match &item.trait_ {
        Some((path, _)) => {
            let trait_name = path
                .segments
                .last()
                .map(|s| s.ident.unraw().to_string())
                .unwrap_or_default();
            format!("<{type_name} as {trait_name}>")
        }
        None => type_name,
    };
    let mut items = Vec::with_capacity(item.items.len());
    for impl_item in std::mem::take(&mut item.items) {
        let ImplItem::Fn(mut method) = impl_item else {
            items.push(Method::AsWritten(impl_item));
            continue;
        };
        // The method's own `#[monitor(…)]`, consumed here.
        let mut own = Options::default();
        method.attrs.retain(|attr| {
            if options::is_monitor_attr(attr) {
                own = options::parse(options::attr_args(attr), errors);
                false
            } else {
                true
            }
        });
        let skip = own.skip.is_some();
        if skip && let Some(first) = own.alerts.first() {
            errors.error_span(first.span, validate::SKIP_WITH_ALERT);
        }
        let options = own.merged_over(outer);
        if !skip {
            validate::span_options(&options, &method.sig, errors);
        }
        // `const fn` methods cannot read a clock; the impl-level attribute instruments
        // everything that can be instrumented.
        if skip || method.sig.constness.is_some() {
            items.push(Method::AsWritten(ImplItem::Fn(method)));
            continue;
        }
        let label = match &options.name {
            Some(name) => name.value(),
            None => format!("{prefix}::{}", method.sig.ident.unraw()),
        };
        let alerts = alert::check(
            &options.alerts,
            &alert::Subject::Function {
                label: &label,
                largest_bound: largest_bound(&options),
            },
            errors,
        );
        items.push(Method::Instrumented {
            function: FnParts::from(method),
            options,
            label,
            alerts,
        });
    }
    ImplBlock { item, items }
}

/// `Repo` for `Repo<T>`, `crate::db::Repo`; the tokens, without spaces, otherwise.
fn type_label(ty: &Type) -> String {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .map(|s| s.ident.unraw().to_string())
            .unwrap_or_default(),
        Type::Reference(r) => type_label(&r.elem),
        Type::Paren(p) => type_label(&p.elem),
        Type::Group(g) => type_label(&g.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

/// The largest bound of the function's duration histogram, when the macro knows it:
/// its `buckets`, else the defaults (10 s); not with an objective, whose latency
/// threshold joins the bounds at compile time.
fn largest_bound(options: &options::Options) -> Option<f64> {
    if options.objective.is_some() {
        return None;
    }
    Some(
        options
            .buckets
            .as_ref()
            .and_then(|b| b.seconds.last().copied())
            .unwrap_or(DEFAULT_LARGEST_BOUND),
    )
}

/// The largest of the runtime's default duration buckets (`model::DEFAULT_BUCKETS`).
const DEFAULT_LARGEST_BOUND: f64 = 10.0;
