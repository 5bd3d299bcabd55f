//! `#[business_metric]` on a declaration: `static NAME: Counter;` parsed, validated
//! against the naming rules, then expanded by [`super::expand`](mod@super::expand).

use flext_observability_naming::{MetricKind, MetricSpec, Part};
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Ident, Path, Token, Type, TypePath, Visibility};

use crate::alert;
use crate::attr::crate_or_default;
use crate::errors::Errors;
use crate::numbers::parse_bounds;

use super::options::{self, Options, help_from_docs};

/// `static NAME: Kind;` as written.
pub(crate) struct Declaration {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) mutability: Option<Token![mut]>,
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) init: Option<(Token![=], Expr)>,
}

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![static]>()?;
        let mutability = input.parse()?;
        let ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        let init = if input.peek(Token![=]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        input.parse::<Token![;]>()?;
        Ok(Declaration {
            attrs,
            vis,
            mutability,
            ident,
            ty,
            init,
        })
    }
}

/// Bucket bounds: given, or the default duration buckets of a seconds histogram.
pub(crate) enum Buckets {
    Given(Vec<f64>),
    DefaultSeconds,
}

/// Everything the expansion needs, checked.
pub(crate) struct Metric {
    pub(crate) krate: Path,
    pub(crate) kind: MetricKind,
    /// The declared type path, kept so that it resolves as the user wrote it.
    pub(crate) type_path: TypePath,
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<String>,
    /// (field, label name) in declaration order, duplicates removed.
    pub(crate) labels: Vec<(Ident, String)>,
    pub(crate) buckets: Option<Buckets>,
    pub(crate) max_series: usize,
    /// `alert(..)`, checked.
    pub(crate) alerts: Vec<crate::alert::Alert>,
}

fn kind_of(ty: &Type) -> Option<(MetricKind, TypePath)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let kind = match last.ident.to_string().as_str() {
        "Counter" => MetricKind::Counter,
        "Gauge" => MetricKind::Gauge,
        "Histogram" => MetricKind::Histogram,
        "Info" => MetricKind::Info,
        _ => return None,
    };
    Some((kind, path.clone()))
}

/// What the static itself must not have: `mut`, an initializer.
fn check_static(decl: &Declaration, errors: &mut Errors) {
    if let Some(mutability) = &decl.mutability {
        errors.error_at(
            mutability,
            "a business metric cannot be `static mut`: remove `mut` (recording only needs a shared reference)",
        );
    }
    if let Some((eq, _)) = &decl.init {
        errors.error_at(
            eq,
            "remove the initializer: `#[business_metric]` provides the value of the static",
        );
    }
}

/// Checks a declaration. `None` when it cannot be expanded at all (unknown type); on
/// other errors the metric is still returned so the expansion keeps later code compiling.
pub(crate) fn validate(
    args: TokenStream,
    decl: &Declaration,
    errors: &mut Errors,
) -> Option<Metric> {
    let options = options::parse(args, errors);
    check_static(decl, errors);
    let Some((kind, type_path)) = kind_of(&decl.ty) else {
        errors.error_at(
            &decl.ty,
            "the type of a business metric is `Counter`, `Gauge`, `Histogram` or `Info` (from `flext_observability`)",
        );
        return None;
    };
    if let Some(last) = type_path.path.segments.last()
        && !last.arguments.is_none()
    {
        errors.error_at(
            &last.arguments,
            "remove the type arguments: labels are declared with `labels(..)` and buckets with `buckets = [..]`",
        );
    }

    let (name, name_span): (String, Span) = match &options.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (
            decl.ident.unraw().to_string().to_ascii_lowercase(),
            decl.ident.span(),
        ),
    };
    let help = help_from_docs(&decl.attrs);
    let label_names: Vec<String> = options
        .labels
        .iter()
        .map(|i| i.unraw().to_string())
        .collect();
    let label_refs: Vec<&str> = label_names.iter().map(String::as_str).collect();
    let unit_value = options.unit.as_ref().map(syn::LitStr::value);
    let mut spec = MetricSpec::new(&name, kind).help(&help).labels(&label_refs);
    if let Some(unit) = &unit_value {
        spec = spec.unit(unit);
    }
    let issues = spec.check();
    // A name the rules reject may hide its unit (`_second`, `_msec`): its fix decides
    // whether a histogram needs buckets, so that error waits for the name to be right.
    let name_ok = !issues.iter().any(|i| i.part == Part::Name);
    for issue in issues {
        let span = match issue.part {
            Part::Name => name_span,
            Part::Unit => options.unit.as_ref().map_or(name_span, syn::LitStr::span),
            Part::Help => decl.ident.span(),
            Part::Label(i) => options.labels[i].span(),
        };
        let message = if issue.part == Part::Help {
            format!(
                "business metric `{name}` has no help text: add a doc comment (`/// what it measures`) above the static, it becomes the HELP line"
            )
        } else {
            issue.error.to_string()
        };
        errors.error_span(span, message);
    }
    let unit = spec.resolved_unit().map(str::to_owned);

    if kind == MetricKind::Info && options.labels.is_empty() {
        errors.error_at(
            &decl.ty,
            "an info metric carries its facts as label values: add `labels(..)`, such as `labels(version)`",
        );
    }
    let buckets = buckets(kind, unit.as_deref(), &options, &decl.ty, name_ok, errors);

    let mut labels: Vec<(Ident, String)> = Vec::with_capacity(options.labels.len());
    for (ident, name) in options.labels.iter().zip(label_names) {
        if !labels.iter().any(|(_, n)| *n == name) {
            labels.push((ident.clone(), name));
        }
    }
    let max_series = options
        .max_series
        .as_ref()
        .and_then(|l| l.base10_parse::<usize>().ok())
        .unwrap_or(0);
    let label_strings: Vec<String> = labels.iter().map(|(_, n)| n.clone()).collect();
    let subject = match kind {
        MetricKind::Counter | MetricKind::Gauge => alert::Subject::Metric {
            name: &name,
            counter: kind == MetricKind::Counter,
            labels: &label_strings,
        },
        MetricKind::Histogram | MetricKind::Info => alert::Subject::Other {
            kind: kind.as_str(),
        },
    };
    let alerts = alert::check(&options.alerts, &subject, errors);
    Some(Metric {
        krate: crate_or_default(options.krate.clone()),
        kind,
        type_path,
        name,
        help,
        unit,
        labels,
        buckets,
        max_series,
        alerts,
    })
}

fn buckets(
    kind: MetricKind,
    unit: Option<&str>,
    options: &Options,
    ty: &Type,
    name_ok: bool,
    errors: &mut Errors,
) -> Option<Buckets> {
    if kind != MetricKind::Histogram {
        if let Some(expr) = &options.buckets {
            errors.error_at(
                expr,
                format!(
                    "`buckets` applies to histograms, and this is a {}: remove it or declare a `Histogram`",
                    kind.as_str()
                ),
            );
        }
        return None;
    }
    let seconds = unit == Some("seconds");
    let Some(expr) = &options.buckets else {
        if seconds || !name_ok {
            return Some(Buckets::DefaultSeconds);
        }
        errors.error_at(
            ty,
            format!(
                "a histogram of {} needs `buckets = [..]`: default buckets exist only for durations in seconds",
                unit.map_or_else(|| "plain values".to_owned(), |u| format!("`{u}`"))
            ),
        );
        return Some(Buckets::DefaultSeconds);
    };
    let parsed = if seconds {
        parse_bounds(expr, errors).map(|b| b.seconds)
    } else {
        plain_bounds(expr, unit, errors)
    };
    Some(parsed.map_or(Buckets::DefaultSeconds, Buckets::Given))
}

/// Bounds of a histogram that is not in seconds: finite numbers, increasing.
fn plain_bounds(expr: &Expr, unit: Option<&str>, errors: &mut Errors) -> Option<Vec<f64>> {
    let Expr::Array(array) = expr else {
        errors.error_at(
            expr,
            "`buckets` must be a list of upper bounds, such as `[10, 100, 1000]`",
        );
        return None;
    };
    if array.elems.is_empty() {
        errors.error_at(
            expr,
            "the bucket list is empty: give at least one upper bound",
        );
        return None;
    }
    let mut out: Vec<f64> = Vec::with_capacity(array.elems.len());
    let mut ok = true;
    for elem in &array.elems {
        match number(elem) {
            Some(v) if v.is_finite() => {
                if let Some(&prev) = out.last()
                    && v <= prev
                {
                    errors.error_at(
                        elem,
                        format!("bucket bounds must be sorted in increasing order without repeats: {v} is not above {prev}"),
                    );
                    ok = false;
                }
                out.push(v);
            }
            _ => {
                let hint = if matches!(
                    elem,
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(_),
                        ..
                    })
                ) {
                    format!(
                        "duration strings are for histograms in seconds; this one is in {}: write a number",
                        unit.unwrap_or("plain values")
                    )
                } else {
                    "a bucket bound must be a finite number literal, such as `100` or `0.5`"
                        .to_owned()
                };
                errors.error_at(elem, hint);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(syn::ExprLit { lit, .. }) => match lit {
            syn::Lit::Int(i) => i.base10_parse::<f64>().ok(),
            syn::Lit::Float(f) => f.base10_parse::<f64>().ok(),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => number(&u.expr).map(|v| -v),
        _ => None,
    }
}
