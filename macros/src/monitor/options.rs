//! `#[monitor(…)]` options: parsed into a typed form that keeps every token's span.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::{Expr, LitStr, Path, Token};

use crate::errors::Errors;
use crate::numbers::{Bounds, parse_bounds};

const KNOWN: &str = "`name`, `buckets`, `ok_if`, `error_if`, `crate` or `skip`";
const KEYS: &[&str] = &["name", "buckets", "ok_if", "error_if", "crate", "skip"];

/// Options of one `#[monitor]` attribute.
#[derive(Default, Clone)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) buckets: Option<Bounds>,
    pub(crate) ok_if: Option<Expr>,
    pub(crate) error_if: Option<Expr>,
    pub(crate) krate: Option<Path>,
    pub(crate) skip: Option<Span>,
}

impl Options {
    /// Method options over impl-block options.
    pub(crate) fn merged_over(self, outer: &Options) -> Options {
        let (ok_if, error_if) = if self.ok_if.is_some() || self.error_if.is_some() {
            (self.ok_if, self.error_if)
        } else {
            (outer.ok_if.clone(), outer.error_if.clone())
        };
        Options {
            name: self.name,
            buckets: self.buckets.or_else(|| outer.buckets.clone()),
            ok_if,
            error_if,
            krate: self.krate.or_else(|| outer.krate.clone()),
            skip: self.skip,
        }
    }
}

/// Parses attribute arguments, recording every problem in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let duplicate = |set: bool, errors: &mut Errors| {
            if set {
                errors.error_at(&meta.path, format!("duplicate `{key}` option"));
            }
        };
        match key.as_str() {
            "name" => {
                let lit: LitStr = meta.value()?.parse()?;
                duplicate(options.name.is_some(), errors);
                if lit.value().trim().is_empty() {
                    errors.error_at(&lit, "`name` must not be empty");
                }
                options.name = Some(lit);
            }
            "buckets" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(options.buckets.is_some(), errors);
                options.buckets = parse_bounds(&expr, errors);
            }
            "ok_if" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(options.ok_if.is_some(), errors);
                options.ok_if = Some(expr);
            }
            "error_if" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(options.error_if.is_some(), errors);
                options.error_if = Some(expr);
            }
            "crate" => {
                let value = meta.value()?;
                let path = if value.peek(LitStr) {
                    let lit: LitStr = value.parse()?;
                    lit.parse_with(Path::parse_mod_style)?
                } else {
                    Path::parse_mod_style(value)?
                };
                duplicate(options.krate.is_some(), errors);
                options.krate = Some(path);
            }
            "skip" => {
                duplicate(options.skip.is_some(), errors);
                options.skip = Some(meta.path.segments[0].ident.span());
            }
            _ => {
                let path = &meta.path;
                let shown = quote::quote!(#path).to_string().replace(' ', "");
                let hint = crate::errors::did_you_mean(&shown, KEYS)
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                errors.error_at(
                    &meta.path,
                    format!("unknown `#[monitor]` option `{shown}`: {hint}expected {KNOWN}"),
                );
                skip_value(meta.input)?;
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        errors.push(e);
    }
    if let (Some(_), Some(error_if)) = (&options.ok_if, &options.error_if) {
        errors.error_at(
            error_if,
            "`ok_if` and `error_if` cannot be used together: keep one",
        );
    }
    options
}

/// Consumes `= value` or `(…)` after an unknown key so parsing continues.
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

/// Is this attribute `#[monitor(…)]` (possibly by path, `#[flext_observability::monitor]`)?
pub(crate) fn is_monitor_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "monitor")
}

/// Arguments of a `#[monitor]` / `#[monitor(…)]` attribute.
pub(crate) fn attr_args(attr: &syn::Attribute) -> TokenStream {
    match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    }
}
