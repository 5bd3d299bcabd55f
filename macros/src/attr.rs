//! What every macro's option parser shares: the loop over `key = value` options,
//! duplicate and unknown keys (reported with a suggestion, their value skipped so
//! parsing goes on), and `crate = path` with the crate generated code names without it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Expr, LitStr, Path, Token, parse_quote};

use crate::errors::{Errors, did_you_mean};

/// The facade crate, as `crate = path` gives it or at its own name.
pub(crate) fn crate_or_default(krate: Option<Path>) -> Path {
    krate.unwrap_or_else(|| parse_quote!(::flext_observability))
}

/// `krate::__private`: everything generated code refers to lives there.
pub(crate) fn private(krate: &Path) -> TokenStream {
    quote!(#krate::__private)
}

/// Parses `key = value`, `key(…)` and bare `key` options, handing each to `option` with
/// its key (empty for a path that is not one identifier). A syntax error ends parsing
/// and is recorded.
pub(crate) fn parse_options(
    args: TokenStream,
    errors: &mut Errors,
    mut option: impl FnMut(&str, &ParseNestedMeta<'_>, &mut Errors) -> syn::Result<()>,
) {
    let parser = syn::meta::parser(|meta| option(&option_key(&meta), &meta, errors));
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errors.push(e);
    }
}

fn option_key(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Reports an option given `again`, on its key; `hint` ends the message.
pub(crate) fn duplicate(meta: &ParseNestedMeta<'_>, again: bool, hint: &str, errors: &mut Errors) {
    if again {
        let key = option_key(meta);
        errors.error_at(&meta.path, format!("duplicate `{key}` option{hint}"));
    }
}

/// `crate = path` or `crate = "path"`.
pub(crate) fn crate_path(value: ParseStream<'_>) -> syn::Result<Path> {
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        lit.parse_with(Path::parse_mod_style)
    } else {
        Path::parse_mod_style(value)
    }
}

/// Reports an unknown option of `#[attribute]`, suggesting the closest of `keys` and
/// listing `known`, and consumes its value.
pub(crate) fn unknown_option(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
    attribute: &str,
    keys: &[&str],
    known: &str,
) -> syn::Result<()> {
    let path = &meta.path;
    let shown = quote::quote!(#path).to_string().replace(' ', "");
    let hint = did_you_mean(&shown, keys)
        .map(|k| format!("did you mean `{k}`? "))
        .unwrap_or_default();
    errors.error_at(
        path,
        format!("unknown `#[{attribute}]` option `{shown}`: {hint}expected {known}"),
    );
    skip_value(meta.input)
}

/// Consumes `= value` or `(…)` after an unknown key.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<Expr>()?;
    } else if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}
