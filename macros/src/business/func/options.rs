//! The entries of `#[business_metric(…)]` on a function, parsed into typed form: each
//! recording call with where its value and its label values come from.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprStruct, Ident, Path, Token};

use crate::business::series::is_str_literal;
use crate::errors::{Errors, did_you_mean};

const METHODS: &[&str] = &["inc", "inc_by", "set", "add", "sub", "observe"];
pub(super) const OUTCOME: &str = "outcome";
pub(super) const ELAPSED: &str = "elapsed";

/// Where a recorded value comes from.
pub(super) enum Value {
    /// `inc()`: one per call.
    One,
    /// `elapsed`: the call's duration in seconds.
    Elapsed,
    /// A closure over the success value, run after the call.
    Returned(Expr),
    /// Any other expression, evaluated before the call.
    Argument(Expr),
}

/// A label value.
enum LabelValue {
    Literal,
    /// `outcome`: `"success"` or `"failure"`.
    Outcome,
    Dynamic,
}

/// One recording call.
pub(super) struct Entry {
    /// The metric with its label values, or the metric path alone.
    pub(super) labels: Option<ExprStruct>,
    pub(super) path: Path,
    pub(super) method: Ident,
    pub(super) value: Value,
    /// A label value is `outcome`.
    pub(super) has_outcome: bool,
    /// Every label value is a literal or `outcome`: the series live in `static` storage.
    pub(super) fixed: bool,
}

/// The attribute's arguments.
pub(super) struct Parsed {
    /// `crate = path`.
    pub(super) krate: Option<Path>,
    pub(super) entries: Vec<Entry>,
    /// Where `outcome` is first used, if it is.
    pub(super) uses_outcome: Option<Span>,
    /// Where `elapsed` is first used, if it is.
    pub(super) uses_elapsed: Option<Span>,
}

/// Parses the attribute arguments, recording every problem in `errors`.
pub(super) fn parse(args: TokenStream, errors: &mut Errors) -> Parsed {
    let mut parsed = Parsed {
        krate: None,
        entries: Vec::new(),
        uses_outcome: None,
        uses_elapsed: None,
    };
    let exprs = match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(args) {
        Ok(exprs) => exprs,
        Err(e) => {
            errors.push(e);
            return parsed;
        }
    };
    let mut krate_seen = false;
    for expr in exprs {
        if let Expr::Assign(assign) = &expr
            && is_ident(&assign.left, "crate")
        {
            if krate_seen {
                errors.error_at(&assign.left, "duplicate `crate` option: keep one");
            }
            krate_seen = true;
            match crate_path(&assign.right) {
                Some(path) => parsed.krate = Some(path),
                None => errors.error_at(
                    &assign.right,
                    "`crate` takes a path, such as `crate = ::flext_observability`",
                ),
            }
            continue;
        }
        if let Some(entry) = entry(&expr, &mut parsed, errors) {
            parsed.entries.push(entry);
        }
    }
    parsed
}

fn crate_path(expr: &Expr) -> Option<Path> {
    match expr {
        Expr::Path(p) => Some(p.path.clone()),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => s.parse_with(Path::parse_mod_style).ok(),
        _ => None,
    }
}

pub(super) fn is_ident(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// `alert(..)` written among a function's recording entries: reported, pointing at where
/// it belongs.
fn misplaced_alert(expr: &Expr, errors: &mut Errors) -> bool {
    if let Expr::Call(call) = expr
        && is_ident(&call.func, "alert")
    {
        errors.error_at(
            &call.func,
            "`alert(..)` goes on the metric's declaration (`#[business_metric(alert(below = 0.95))] static …`), or on the function as `#[monitor(alert(..))]`",
        );
        return true;
    }
    false
}

fn entry(expr: &Expr, parsed: &mut Parsed, errors: &mut Errors) -> Option<Entry> {
    let shape = "an entry is a recording call on a declared metric: `METRIC.inc()` or `METRIC { label: value }.observe(elapsed)`";
    if misplaced_alert(expr, errors) {
        return None;
    }
    let Expr::MethodCall(call) = expr else {
        errors.error_at(expr, shape);
        return None;
    };
    let (labels, path) = match &*call.receiver {
        Expr::Struct(s) => (Some(s.clone()), s.path.clone()),
        Expr::Path(p) if p.qself.is_none() => (None, p.path.clone()),
        other => {
            errors.error_at(other, shape);
            return None;
        }
    };
    let method = call.method.clone();
    let method_name = method.to_string();
    if !METHODS.contains(&method_name.as_str()) {
        let hint = did_you_mean(&method_name, METHODS)
            .map(|m| format!("did you mean `{m}`? "))
            .unwrap_or_default();
        errors.error_at(
            &method,
            format!("unknown recording method `{method_name}`: {hint}expected `inc()`, `inc_by(..)` (counters), `set(..)`, `add(..)`, `sub(..)` (gauges) or `observe(..)` (histograms)"),
        );
        return None;
    }
    if let Some(turbofish) = &call.turbofish {
        errors.error_at(turbofish, "remove the type arguments");
    }
    let args: Vec<&Expr> = call.args.iter().collect();
    let value = match (method_name.as_str(), args.as_slice()) {
        ("inc", []) => Value::One,
        ("inc", [extra, ..]) => {
            errors.error_at(
                extra,
                "`inc()` takes no value: use `inc_by(..)` to add an amount",
            );
            return None;
        }
        (_, [arg]) => {
            if is_ident(arg, ELAPSED) {
                parsed
                    .uses_elapsed
                    .get_or_insert(syn::spanned::Spanned::span(*arg));
                Value::Elapsed
            } else if is_ident(arg, OUTCOME) {
                errors.error_at(arg, "`outcome` is a label value (`\"success\"` or `\"failure\"`): use it in the labels, as in `{ status: outcome }`");
                return None;
            } else if matches!(arg, Expr::Closure(_)) {
                Value::Returned((*arg).clone())
            } else {
                Value::Argument((*arg).clone())
            }
        }
        (_, _) => {
            errors.error_span(
                call.paren_token.span.join(),
                format!("`{method_name}` takes one value: `elapsed`, an expression of the arguments, or a closure over the return value such as `|report| report.rows`"),
            );
            return None;
        }
    };
    let mut has_outcome = false;
    let mut fixed = true;
    if let Some(labels) = &labels {
        if let Some(rest) = &labels.rest {
            errors.error_at(rest, "`..` is not allowed here: give every label its value");
        }
        for field in &labels.fields {
            match label_value(&field.expr) {
                LabelValue::Outcome => {
                    has_outcome = true;
                    parsed
                        .uses_outcome
                        .get_or_insert(syn::spanned::Spanned::span(&field.expr));
                }
                LabelValue::Literal => {}
                LabelValue::Dynamic => {
                    if is_ident(&field.expr, ELAPSED) {
                        errors.error_at(&field.expr, "`elapsed` is the call's duration in seconds, not a label value: record it, as in `.observe(elapsed)`");
                    }
                    fixed = false;
                }
            }
        }
    }
    Some(Entry {
        labels,
        path,
        method,
        value,
        has_outcome,
        fixed,
    })
}

fn label_value(expr: &Expr) -> LabelValue {
    if is_ident(expr, OUTCOME) {
        LabelValue::Outcome
    } else if is_str_literal(expr) {
        LabelValue::Literal
    } else {
        LabelValue::Dynamic
    }
}
