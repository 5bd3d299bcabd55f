//! `#[business_metric(…)]` options of a declaration, parsed into a typed form that keeps
//! every token's span.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitInt, LitStr, Path, Token};

use crate::attr::{duplicate, parse_options};
use crate::errors::Errors;

const KNOWN: &str = "`labels(..)`, `unit`, `buckets`, `name`, `max_series`, `alert(..)` or `crate`";
const KEYS: &[&str] = &[
    "labels",
    "unit",
    "buckets",
    "name",
    "max_series",
    "alert",
    "crate",
];

/// Options of one declaration.
#[derive(Default)]
pub(crate) struct Options {
    /// Label identifiers as written (raw identifiers allowed: `r#type`).
    pub(crate) labels: Vec<Ident>,
    pub(crate) labels_key: Option<Path>,
    pub(crate) unit: Option<LitStr>,
    pub(crate) buckets: Option<Expr>,
    pub(crate) name: Option<LitStr>,
    pub(crate) max_series: Option<LitInt>,
    /// Every `alert(..)`, in order (checked against the metric's kind and labels).
    pub(crate) alerts: Vec<crate::alert::Spec>,
    pub(crate) krate: Option<Path>,
}

/// Parses attribute arguments, recording every problem in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    parse_options(args, errors, |key, meta, errors| {
        match key {
            "labels" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let idents: Punctuated<Ident, Token![,]> =
                    content.parse_terminated(Ident::parse_any, Token![,])?;
                duplicate(meta, options.labels_key.is_some(), ": keep one", errors);
                if idents.is_empty() {
                    errors.error_at(
                        &meta.path,
                        "`labels()` is empty: list the label names, or leave `labels` out",
                    );
                }
                options.labels = idents.into_iter().collect();
                options.labels_key = Some(meta.path.clone());
            }
            "unit" => {
                let lit: LitStr = meta.value()?.parse()?;
                duplicate(meta, options.unit.is_some(), ": keep one", errors);
                options.unit = Some(lit);
            }
            "buckets" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(meta, options.buckets.is_some(), ": keep one", errors);
                options.buckets = Some(expr);
            }
            "name" => {
                let lit: LitStr = meta.value()?.parse()?;
                duplicate(meta, options.name.is_some(), ": keep one", errors);
                options.name = Some(lit);
            }
            "max_series" => {
                let lit: LitInt = meta.value()?.parse()?;
                duplicate(meta, options.max_series.is_some(), ": keep one", errors);
                match lit.base10_parse::<usize>() {
                    Ok(0) => errors.error_at(
                        &lit,
                        "`max_series` must be at least 1 (leave it out for the runtime's default)",
                    ),
                    Ok(_) => {}
                    Err(e) => errors.error_at(&lit, format!("invalid `max_series`: {e}")),
                }
                options.max_series = Some(lit);
            }
            "alert" => options.alerts.push(crate::alert::parse(meta)?),
            "crate" => {
                let path = crate::attr::crate_path(meta.value()?)?;
                duplicate(meta, options.krate.is_some(), ": keep one", errors);
                options.krate = Some(path);
            }
            _ => {
                crate::attr::unknown_option(meta, errors, "business_metric", KEYS, KNOWN)?;
            }
        }
        Ok(())
    });
    options
}

/// The text of the doc comments: the first paragraph, lines joined by spaces. That is the
/// HELP text, which is one line in the exposition formats.
pub(crate) fn help_from_docs(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            for line in s.value().lines() {
                lines.push(line.trim().to_owned());
            }
        }
    }
    let mut help = String::new();
    for line in lines.iter().skip_while(|l| l.is_empty()) {
        if line.is_empty() {
            break;
        }
        if !help.is_empty() {
            help.push(' ');
        }
        help.push_str(line);
    }
    help
}
