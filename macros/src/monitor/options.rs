//! `#[monitor(…)]` options: parsed into a typed form that keeps every token's span.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitBool, LitStr, Path, Token};

use crate::attr::{duplicate, parse_options};
use crate::errors::Errors;
use crate::numbers::{Bounds, parse_bounds};

const KNOWN: &str = "`name`, `buckets`, `objective`, `alert(..)`, `ok_if`, `error_if`, `level`, `span`, `args`, `skip(..)`, `fields(..)`, `crate` or `skip`";
const KEYS: &[&str] = &[
    "name",
    "buckets",
    "objective",
    "alert",
    "ok_if",
    "error_if",
    "crate",
    "skip",
    "level",
    "span",
    "args",
    "fields",
];

/// How a recorded value is formatted: `%` (Display), `?` (Debug), or as a `tracing` value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sigil {
    Display,
    Debug,
    Value,
}

/// One entry of `fields(..)`: `key = value`, `key = %value`, `arg`, `%arg`, `?arg`.
#[derive(Clone)]
pub(crate) struct Field {
    /// Dotted key (`user.id`), each segment spanned as written.
    pub(crate) key: Vec<Ident>,
    pub(crate) sigil: Sigil,
    /// `None` for a bare argument name: the argument itself is recorded.
    pub(crate) value: Option<Expr>,
}

impl Field {
    pub(crate) fn key_string(&self) -> String {
        self.key
            .iter()
            .map(|i| i.unraw().to_string())
            .collect::<Vec<_>>()
            .join(".")
    }
}

fn parse_sigil(input: ParseStream<'_>) -> syn::Result<Sigil> {
    if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Ok(Sigil::Display)
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Ok(Sigil::Debug)
    } else {
        Ok(Sigil::Value)
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let bare_sigil = parse_sigil(input)?;
        let mut key = vec![input.call(Ident::parse_any)?];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            key.push(input.call(Ident::parse_any)?);
        }
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            let sigil = parse_sigil(input)?;
            let value: Expr = input.parse()?;
            if bare_sigil != Sigil::Value {
                return Err(syn::Error::new(
                    key[0].span(),
                    "put `%` or `?` after `=`: `key = %value`",
                ));
            }
            return Ok(Field {
                key,
                sigil,
                value: Some(value),
            });
        }
        Ok(Field {
            key,
            // A bare argument is recorded with `Debug` unless `%` asks for `Display`.
            sigil: if bare_sigil == Sigil::Value {
                Sigil::Debug
            } else {
                bare_sigil
            },
            value: None,
        })
    }
}

/// The `tracing` level of the span.
#[derive(Clone)]
pub(crate) struct LevelOpt {
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub(crate) level: &'static str,
}

/// Options of one `#[monitor]` attribute.
#[derive(Default, Clone)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) buckets: Option<Bounds>,
    /// `objective = PATH`: a `const` `Objective` (checked by the compiler, not here).
    pub(crate) objective: Option<Expr>,
    /// Every `alert(..)`, in order (checked once the function's label is known).
    pub(crate) alerts: Vec<crate::alert::Spec>,
    pub(crate) ok_if: Option<Expr>,
    pub(crate) error_if: Option<Expr>,
    pub(crate) krate: Option<Path>,
    /// Bare `skip`: leave this method of a monitored impl block alone.
    pub(crate) skip: Option<Span>,
    pub(crate) level: Option<LevelOpt>,
    /// `span = false` turns the span off (metrics only).
    pub(crate) span: Option<LitBool>,
    /// `args`: record every argument (with `Debug`).
    pub(crate) args: Option<Span>,
    /// `skip(a, b)`: arguments `args` leaves out.
    pub(crate) skip_args: Option<(Span, Vec<Ident>)>,
    pub(crate) fields: Option<(Span, Vec<Field>)>,
}

impl Options {
    /// Method options over impl-block options.
    pub(crate) fn merged_over(self, outer: &Options) -> Options {
        let off = self.span.as_ref().is_some_and(|b| !b.value);
        let (ok_if, error_if) = if self.ok_if.is_some() || self.error_if.is_some() {
            (self.ok_if, self.error_if)
        } else {
            (outer.ok_if.clone(), outer.error_if.clone())
        };
        Options {
            name: self.name,
            buckets: self.buckets.or_else(|| outer.buckets.clone()),
            objective: self.objective.or_else(|| outer.objective.clone()),
            // The block's alerts watch each of its methods, beside the method's own.
            alerts: self
                .alerts
                .into_iter()
                .chain(outer.alerts.iter().cloned())
                .collect(),
            ok_if,
            error_if,
            krate: self.krate.or_else(|| outer.krate.clone()),
            skip: self.skip,
            // A method that turns its span off does not inherit span options.
            level: if off {
                self.level
            } else {
                self.level.or_else(|| outer.level.clone())
            },
            span: self.span.or_else(|| outer.span.clone()),
            args: if off {
                self.args
            } else {
                self.args.or(outer.args)
            },
            skip_args: self.skip_args,
            fields: self.fields,
        }
    }

    /// Whether calls open a span (the default).
    pub(crate) fn span_enabled(&self) -> bool {
        self.span.as_ref().is_none_or(|b| b.value)
    }
}

fn level_of(lit: &LitStr) -> Option<&'static str> {
    match lit.value().to_ascii_lowercase().as_str() {
        "trace" => Some("TRACE"),
        "debug" => Some("DEBUG"),
        "info" => Some("INFO"),
        "warn" => Some("WARN"),
        "error" => Some("ERROR"),
        _ => None,
    }
}

/// Parses attribute arguments, recording every problem in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    parse_options(args, errors, |key, meta, errors| {
        match key {
            "name" => {
                let lit: LitStr = meta.value()?.parse()?;
                duplicate(meta, options.name.is_some(), "", errors);
                if lit.value().trim().is_empty() {
                    errors.error_at(&lit, "`name` must not be empty");
                }
                options.name = Some(lit);
            }
            "buckets" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(meta, options.buckets.is_some(), "", errors);
                options.buckets = parse_bounds(&expr, errors);
            }
            "objective" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(meta, options.objective.is_some(), "", errors);
                if let Expr::Lit(lit) = &expr {
                    errors.error_at(
                        lit,
                        "`objective` takes a `const` objective, not a literal: \
                         `const API: Objective = Objective::new(\"api\").success_rate(ObjectivePercentile::P99);` \
                         then `#[monitor(objective = API)]`",
                    );
                } else {
                    options.objective = Some(expr);
                }
            }
            "alert" => options.alerts.push(crate::alert::parse(meta)?),
            "ok_if" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(meta, options.ok_if.is_some(), "", errors);
                options.ok_if = Some(expr);
            }
            "error_if" => {
                let expr: Expr = meta.value()?.parse()?;
                duplicate(meta, options.error_if.is_some(), "", errors);
                options.error_if = Some(expr);
            }
            "crate" => {
                let path = crate::attr::crate_path(meta.value()?)?;
                duplicate(meta, options.krate.is_some(), "", errors);
                options.krate = Some(path);
            }
            "skip" | "level" | "span" | "args" | "fields" => {
                span_option(key, meta, &mut options, errors)?;
            }
            _ => {
                crate::attr::unknown_option(meta, errors, "monitor", KEYS, KNOWN)?;
            }
        }
        Ok(())
    });
    if let (Some(_), Some(error_if)) = (&options.ok_if, &options.error_if) {
        errors.error_at(
            error_if,
            "`ok_if` and `error_if` cannot be used together: keep one",
        );
    }
    options
}

/// The span options: `skip`, `skip(..)`, `level`, `span`, `args`, `fields(..)`.
fn span_option(
    key: &str,
    meta: &syn::meta::ParseNestedMeta<'_>,
    options: &mut Options,
    errors: &mut Errors,
) -> syn::Result<()> {
    match key {
        "skip" if meta.input.peek(syn::token::Paren) => {
            let content;
            syn::parenthesized!(content in meta.input);
            let names =
                Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
            duplicate(meta, options.skip_args.is_some(), "", errors);
            options.skip_args = Some((
                meta.path.segments[0].ident.span(),
                names.into_iter().collect(),
            ));
        }
        "skip" => {
            duplicate(meta, options.skip.is_some(), "", errors);
            options.skip = Some(meta.path.segments[0].ident.span());
        }
        "level" => {
            let lit: LitStr = meta.value()?.parse()?;
            duplicate(meta, options.level.is_some(), "", errors);
            match level_of(&lit) {
                Some(level) => options.level = Some(LevelOpt { level }),
                None => errors.error_at(
                    &lit,
                    "unknown level: use \"trace\", \"debug\", \"info\", \"warn\" or \"error\"",
                ),
            }
        }
        "span" => {
            let expr: Expr = meta.value()?.parse()?;
            duplicate(meta, options.span.is_some(), "", errors);
            match expr {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Bool(lit),
                        ..
                    }) => options.span = Some(lit),
                    other => errors.error_at(
                        other,
                        "`span` takes `true` or `false` (`span = false` keeps the metrics and drops the span)",
                    ),
                }
        }
        "args" => {
            duplicate(meta, options.args.is_some(), "", errors);
            options.args = Some(meta.path.segments[0].ident.span());
        }
        "fields" => {
            let content;
            syn::parenthesized!(content in meta.input);
            let fields = Punctuated::<Field, Token![,]>::parse_terminated(&content)?;
            duplicate(meta, options.fields.is_some(), "", errors);
            options.fields = Some((
                meta.path.segments[0].ident.span(),
                fields.into_iter().collect(),
            ));
        }
        _ => {}
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
