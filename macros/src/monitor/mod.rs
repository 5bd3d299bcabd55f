//! `#[monitor]`: parse the item, validate options, expand.

mod expand;
mod options;

use proc_macro2::{Group, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, ImplItem, Item, ItemImpl, Signature, Token, Type, Visibility};

use crate::errors::{Errors, finish, item_keyword};
use options::Options;

/// A function as written: signature parsed, body kept as tokens so that bodies syn
/// cannot parse still get instrumented (and rust-analyzer keeps working on them).
pub(crate) struct FnParts {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) defaultness: Option<Token![default]>,
    pub(crate) sig: Signature,
    /// `#![…]` at the top of the body: they must stay at the top of the function's body,
    /// not move into the closure or async block that wraps the statements.
    pub(crate) inner: Vec<Attribute>,
    /// The statements, without the inner attributes.
    pub(crate) body: Group,
}

/// Splits `{ #![…] statements }` into its inner attributes and a group of the rest.
fn split_inner(body: &Group) -> (Vec<Attribute>, Group) {
    let parser = |input: ParseStream<'_>| {
        let inner = input.call(Attribute::parse_inner)?;
        let rest: TokenStream = input.parse()?;
        Ok((inner, rest))
    };
    match syn::parse::Parser::parse2(parser, body.stream()) {
        Ok((inner, rest)) if !inner.is_empty() => {
            let mut group = Group::new(proc_macro2::Delimiter::Brace, rest);
            group.set_span(body.span());
            (inner, group)
        }
        _ => (Vec::new(), body.clone()),
    }
}

impl Parse for FnParts {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let defaultness = input.parse()?;
        let sig: Signature = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected a function body"));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function body"));
        }
        let (inner, body) = split_inner(&body);
        Ok(FnParts {
            attrs,
            vis,
            defaultness,
            sig,
            inner,
            body,
        })
    }
}

impl ToTokens for FnParts {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.defaultness.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        let inner = &self.inner;
        let stmts = self.body.stream();
        let mut body = Group::new(proc_macro2::Delimiter::Brace, quote!(#(#inner)* #stmts));
        body.set_span(self.body.span());
        body.to_tokens(tokens);
    }
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = options::parse(args, &mut errors);

    if let Ok(function) = syn::parse2::<FnParts>(input.clone()) {
        if let Some(skip) = options.skip {
            errors.error_span(
                skip,
                "`skip` only applies to a method of an impl block that carries `#[monitor]`",
            );
        }
        validate_fn(&function, &mut errors);
        validate_span_options(&options, &function.sig, &mut errors);
        if !errors.is_empty() {
            return finish(errors, TokenStream::new(), input);
        }
        let label = match &options.name {
            Some(name) => name.value(),
            None => function.sig.ident.unraw().to_string(),
        };
        return expand::function(function, &options, &label);
    }
    match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Impl(item)) => {
            let output = impl_block(item, &options, &mut errors);
            finish(errors, output, input)
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

fn impl_block(mut item: ItemImpl, outer: &Options, errors: &mut Errors) -> TokenStream {
    if let Some(name) = &outer.name {
        errors.error_at(
            name,
            "`name` applies to one function: put `#[monitor(name = \"…\")]` on the method",
        );
    }
    if let Some(skip) = outer.skip {
        errors.error_span(
            skip,
            "`skip` applies to methods, not to the whole impl block",
        );
    }
    if let Some((span, _)) = &outer.skip_args {
        errors.error_span(
            *span,
            "`skip(..)` names arguments of one function: put it on the method",
        );
    }
    if let Some((span, _)) = &outer.fields {
        errors.error_span(
            *span,
            "`fields(..)` applies to one function: put it on the method",
        );
    }
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
            items.push(impl_item);
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
        let options = own.merged_over(outer);
        if !skip {
            validate_span_options(&options, &method.sig, errors);
        }
        // `const fn` methods cannot read a clock; the impl-level attribute instruments
        // everything that can be instrumented.
        if skip || method.sig.constness.is_some() {
            items.push(ImplItem::Fn(method));
            continue;
        }
        let label = match &options.name {
            Some(name) => name.value(),
            None => format!("{prefix}::{}", method.sig.ident.unraw()),
        };
        // syn keeps a method's inner attributes among its attributes.
        let (inner, attrs): (Vec<Attribute>, Vec<Attribute>) = method
            .attrs
            .into_iter()
            .partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
        let parts = FnParts {
            attrs,
            inner,
            vis: method.vis,
            defaultness: method.modifiers.defaultness,
            sig: method.sig,
            body: Group::new(
                proc_macro2::Delimiter::Brace,
                method
                    .block
                    .stmts
                    .iter()
                    .map(ToTokens::to_token_stream)
                    .collect(),
            ),
        };
        let expanded = expand::function(parts, &options, &label);
        match syn::parse2::<ImplItem>(expanded) {
            Ok(new_item) => items.push(new_item),
            Err(e) => errors.push(e),
        }
    }
    item.items = items;
    item.into_token_stream()
}

fn validate_fn(function: &FnParts, errors: &mut Errors) {
    if let Some(constness) = &function.sig.constness {
        errors.error_at(
            constness,
            "`#[monitor]` cannot instrument a `const fn`: a clock cannot be read at compile time",
        );
    }
    if let Some(variadic) = &function.sig.variadic {
        errors.error_at(
            variadic,
            "`#[monitor]` cannot instrument a C-variadic function",
        );
    }
}

/// Names of the arguments bound to a plain identifier (`x`, `mut x`), `self` excluded.
pub(crate) fn arg_names(sig: &Signature) -> Vec<syn::Ident> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(pat) => match &*pat.pat {
                syn::Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Span options: recorded arguments exist, `skip(..)` narrows `args`, options that need
/// a span are not combined with `span = false`, keys are unique.
fn validate_span_options(options: &Options, sig: &Signature, errors: &mut Errors) {
    let args = arg_names(sig);
    let is_arg = |ident: &syn::Ident| args.iter().any(|a| a.unraw() == ident.unraw());
    if !options.span_enabled() {
        let off = options.span.as_ref().map(ToTokens::to_token_stream);
        for (present, what) in [
            (options.level.is_some(), "`level`"),
            (options.args.is_some(), "`args`"),
            (options.fields.is_some(), "`fields(..)`"),
            (options.skip_args.is_some(), "`skip(..)`"),
        ] {
            if present {
                errors.error_at(
                    &off,
                    format!("{what} has no effect with `span = false`: remove one of them"),
                );
                break;
            }
        }
    }
    if let Some((span, names)) = &options.skip_args {
        if options.args.is_none() {
            errors.error_span(
                *span,
                "no argument is recorded unless asked: `skip(..)` narrows `args`, so add `args` or remove `skip(..)`",
            );
        }
        for name in names {
            if !is_arg(name) {
                errors.error_at(
                    name,
                    format!(
                        "`skip` names `{}`, which is not an argument of this function",
                        name.unraw()
                    ),
                );
            }
        }
    }
    if let Some((_, fields)) = &options.fields {
        let mut seen: Vec<String> = Vec::new();
        for field in fields {
            let key = field.key_string();
            if field.value.is_none() && (field.key.len() > 1 || !is_arg(&field.key[0])) {
                {
                    errors.error_at(
                        &field.key[0],
                        format!("`{key}` is not an argument of this function: record a value with `{key} = expr`"),
                    );
                }
            }
            if RESERVED_FIELDS.contains(&key.as_str()) {
                errors.error_at(
                    &field.key[0],
                    format!("field `{key}` is set by `#[monitor]` itself: choose another key"),
                );
            } else if seen.contains(&key) {
                errors.error_at(&field.key[0], format!("duplicate field `{key}`"));
            }
            seen.push(key);
        }
    }
}

/// Fields every monitored span declares.
pub(crate) const RESERVED_FIELDS: &[&str] = &[
    "code.function",
    "code.namespace",
    "code.filepath",
    "code.lineno",
    "otel.status_code",
    "otel.status_description",
    "error.type",
];

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
