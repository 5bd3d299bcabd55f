//! `#[health_check(…)]` options, parsed into typed values that keep every token's span.
//! Semantic rules (ranges, names, combinations) are in `validate.rs`.

use proc_macro2::{Span, TokenStream};
use syn::parse::ParseStream;
use syn::{Expr, Ident, Lit, LitBool, LitInt, LitStr, Path, Token};

use crate::attr::{duplicate, parse_options};
use crate::duration::parse_seconds;
use crate::errors::{Errors, did_you_mean};

const KEYS: &[&str] = &[
    "name",
    "timeout",
    "interval",
    "critical",
    "kind",
    "groups",
    "failure_threshold",
    "success_threshold",
    "crate",
];
const KNOWN: &str = "`name`, `timeout`, `interval`, `critical`, `kind`, `groups`, \
                     `failure_threshold`, `success_threshold` or `crate`";

/// Which probe a check belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Readiness,
    Liveness,
    Startup,
}

/// A duration as written and its value in seconds.
pub(crate) struct DurationOption {
    pub(crate) lit: LitStr,
    pub(crate) seconds: f64,
}

/// A positive integer as written and its value.
pub(crate) struct CountOption {
    pub(crate) lit: LitInt,
    pub(crate) value: u32,
}

/// Options of one `#[health_check]` attribute.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) timeout: Option<DurationOption>,
    pub(crate) interval: Option<DurationOption>,
    pub(crate) critical: Option<(Span, bool)>,
    pub(crate) kind: Option<(Span, Kind)>,
    pub(crate) groups: Option<Vec<LitStr>>,
    pub(crate) failure_threshold: Option<CountOption>,
    pub(crate) success_threshold: Option<CountOption>,
    pub(crate) krate: Option<Path>,
}

/// Parses attribute arguments, recording every problem in `errors`.
pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    parse_options(args, errors, |key, meta, errors| {
        let set = match key {
            "name" => {
                let lit: LitStr = meta.value()?.parse()?;
                options.name.replace(lit).is_some()
            }
            "timeout" => {
                let value = duration(meta.value()?, errors)?;
                let was = options.timeout.is_some();
                options.timeout = value.or(options.timeout.take());
                was
            }
            "interval" => {
                let value = duration(meta.value()?, errors)?;
                let was = options.interval.is_some();
                options.interval = value.or(options.interval.take());
                was
            }
            "critical" => {
                let span = meta.path.segments[0].ident.span();
                let value = if meta.input.peek(Token![=]) {
                    meta.value()?.parse::<LitBool>()?.value
                } else {
                    true
                };
                options.critical.replace((span, value)).is_some()
            }
            "kind" => {
                let value = kind(meta.value()?, errors)?;
                let was = options.kind.is_some();
                options.kind = value.or(options.kind.take());
                was
            }
            "groups" => {
                let expr: Expr = meta.value()?.parse()?;
                let groups = groups(&expr, errors);
                options.groups.replace(groups).is_some()
            }
            "failure_threshold" => {
                let value = count(meta.value()?, errors)?;
                let was = options.failure_threshold.is_some();
                options.failure_threshold = value.or(options.failure_threshold.take());
                was
            }
            "success_threshold" => {
                let value = count(meta.value()?, errors)?;
                let was = options.success_threshold.is_some();
                options.success_threshold = value.or(options.success_threshold.take());
                was
            }
            "crate" => {
                let path = crate::attr::crate_path(meta.value()?)?;
                options.krate.replace(path).is_some()
            }
            _ => {
                crate::attr::unknown_option(meta, errors, "health_check", KEYS, KNOWN)?;
                false
            }
        };
        duplicate(meta, set, "", errors);
        Ok(())
    });
    options
}

fn duration(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<DurationOption>> {
    let lit: Lit = input.parse()?;
    let Lit::Str(lit) = lit else {
        errors.error_at(
            &lit,
            "write durations as strings with a unit: `\"250ms\"`, `\"2s\"`, `\"1m\"`",
        );
        return Ok(None);
    };
    match parse_seconds(&lit.value()) {
        Ok(seconds) => Ok(Some(DurationOption { lit, seconds })),
        Err(message) => {
            errors.error_at(&lit, message);
            Ok(None)
        }
    }
}

fn kind(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<(Span, Kind)>> {
    let (text, span) = if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        (lit.value(), lit.span())
    } else {
        let ident: Ident = input.parse()?;
        (ident.to_string(), ident.span())
    };
    let kind = match text.as_str() {
        "readiness" => Kind::Readiness,
        "liveness" => Kind::Liveness,
        "startup" => Kind::Startup,
        other => {
            let hint = did_you_mean(other, &["readiness", "liveness", "startup"])
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            errors.error_span(
                span,
                format!(
                    "unknown kind `{other}`: {hint}expected `readiness`, `liveness` or `startup`"
                ),
            );
            return Ok(None);
        }
    };
    Ok(Some((span, kind)))
}

fn groups(expr: &Expr, errors: &mut Errors) -> Vec<LitStr> {
    let Expr::Array(array) = expr else {
        errors.error_at(
            expr,
            "`groups` is a list of names: write `groups = [\"database\"]`",
        );
        return Vec::new();
    };
    let mut names = Vec::new();
    for element in &array.elems {
        match element {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => names.push(lit.clone()),
            other => errors.error_at(other, "a group name is a string literal: `\"database\"`"),
        }
    }
    names
}

fn count(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Option<CountOption>> {
    let lit: Lit = input.parse()?;
    let Lit::Int(lit) = lit else {
        errors.error_at(&lit, "expected a whole number of runs, such as `3`");
        return Ok(None);
    };
    if let Ok(value) = lit.base10_parse::<u32>() {
        Ok(Some(CountOption { lit, value }))
    } else {
        errors.error_at(&lit, "expected a whole number of runs, such as `3`");
        Ok(None)
    }
}
