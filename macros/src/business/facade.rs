//! `counter!`, `gauge!`, `histogram!`: the `metrics` facade macros with the metric name
//! and label keys checked at compile time by the naming rules.
//!
//! `flext_observability::counter!(description: "Rows.", "etl_rows_total", "pipeline" => name)`
//! expands to a block that registers the call site (for start-up validation), stores the
//! help text once, and calls
//! `::flext_observability::__private::metrics::counter!("etl_rows_total", "pipeline" => name)`.
//!
//! A facade histogram gets the recorder's buckets: the default ones are durations in
//! seconds, so a histogram whose name is not in seconds must say that its bounds come
//! from the builder (`buckets: "prefix"`, the prefix given to `histogram_buckets`).

use flext_observability_naming::{MetricKind, MetricSpec, Part, check_help};
use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::attr::{crate_or_default, private};
use crate::errors::Errors;

struct Input {
    krate: Option<Path>,
    /// `target: …`, `level: …` (passed through), `description: …`, `buckets: …`.
    named: Vec<(Ident, Expr)>,
    name: Expr,
    labels: Vec<(Expr, Expr)>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut krate = None;
        let mut named = Vec::new();
        loop {
            if input.peek(Token![crate]) && input.peek2(Token![=]) {
                input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                krate = Some(crate::attr::crate_path(input)?);
                input.parse::<Token![,]>()?;
            } else if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
                let key: Ident = input.parse()?;
                input.parse::<Token![:]>()?;
                let value: Expr = input.parse()?;
                input.parse::<Token![,]>()?;
                named.push((key, value));
            } else {
                break;
            }
        }
        let name: Expr = input.parse()?;
        let mut labels = Vec::new();
        while input.parse::<Option<Token![,]>>()?.is_some() {
            if input.is_empty() {
                break;
            }
            let key: Expr = input.parse()?;
            input.parse::<Token![=>]>()?;
            let value: Expr = input.parse()?;
            labels.push((key, value));
        }
        Ok(Input {
            krate,
            named,
            name,
            labels,
        })
    }
}

fn literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s),
        _ => None,
    }
}

pub(crate) fn expand(kind: MetricKind, input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<Input>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let macro_name = kind.as_str();
    let description = description(&input, macro_name, &mut errors);
    let Some(name) = literal(&input.name) else {
        errors.error_at(
            &input.name,
            format!("the metric name must be a string literal so it is checked at compile time: `{macro_name}!(\"etl_rows_total\")`; for names built at run time use `metrics::{macro_name}!`"),
        );
        return errors.into_compile_errors();
    };
    let mut keys: Vec<String> = Vec::with_capacity(input.labels.len());
    let mut key_tokens: Vec<&LitStr> = Vec::with_capacity(input.labels.len());
    for (key, _) in &input.labels {
        match literal(key) {
            Some(lit) => {
                keys.push(lit.value());
                key_tokens.push(lit);
            }
            None => errors.error_at(
                key,
                "label keys must be string literals so they are checked at compile time: `\"pipeline\" => value`",
            ),
        }
    }
    if input.named.iter().all(|(k, _)| k != "description") {
        errors.error_at(
            name,
            format!("add `description: \"what it measures\"` before the name: it becomes the HELP text, which every metric needs (`{macro_name}!(description: \"…\", {})`)", quote!(#name)),
        );
    }
    let name_value = name.value();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let spec = MetricSpec::new(&name_value, kind).labels(&key_refs);
    let issues = spec.check();
    let name_ok = !issues.iter().any(|i| i.part == Part::Name);
    for issue in issues {
        match issue.part {
            Part::Label(i) => errors.error_at(key_tokens[i], issue.error),
            _ => errors.error_at(name, issue.error),
        }
    }
    if name_ok {
        check_buckets(&input, kind, name, spec.resolved_unit(), &mut errors);
    }
    match description {
        Some(description) if errors.is_empty() => generate(kind, &input, name, description),
        _ => failed(kind, &input, errors),
    }
}

/// The errors, in a block that is still an expression of the macro's type (a no-op
/// handle): `counter!(..).increment(1)` then reports the mistakes and nothing else.
fn failed(kind: MetricKind, input: &Input, errors: Errors) -> TokenStream {
    let private = private(&crate_or_default(input.krate.clone()));
    let handle = Ident::new(
        match kind {
            MetricKind::Counter => "Counter",
            MetricKind::Gauge | MetricKind::Info => "Gauge",
            MetricKind::Histogram => "Histogram",
        },
        proc_macro2::Span::call_site(),
    );
    let errors = errors.into_compile_errors();
    quote! {
        {
            #errors
            #private::metrics::#handle::noop()
        }
    }
}

fn generate(kind: MetricKind, input: &Input, name: &LitStr, description: &LitStr) -> TokenStream {
    let macro_name = kind.as_str();
    let private = private(&crate_or_default(input.krate.clone()));
    // `description` is handled here, once per call site, instead of by `metrics`, which
    // would describe the metric again on every call; `buckets` only exists here.
    let named = input
        .named
        .iter()
        .filter(|(k, _)| k != "description" && k != "buckets")
        .map(|(k, v)| quote!(#k: #v,));
    let labels = input.labels.iter().map(|(k, v)| quote!(, #k => #v));
    let mac = Ident::new(macro_name, proc_macro2::Span::call_site());
    let kind = Ident::new(
        match kind {
            MetricKind::Counter => "Counter",
            MetricKind::Gauge => "Gauge",
            MetricKind::Histogram => "Histogram",
            MetricKind::Info => "Info",
        },
        proc_macro2::Span::call_site(),
    );
    let described = Ident::new(
        "FLEXT_OBSERVABILITY_DESCRIBED",
        proc_macro2::Span::mixed_site(),
    );
    // The help text goes straight to the runtime's facade store, which keeps it even when
    // the first call comes before `install()` (a `metrics::describe_*!` would reach the
    // no-op recorder then, and be lost).
    quote! {
        {
            #private::inventory::submit! {
                #private::FacadeEntry::new(
                    #name,
                    #private::MetricKind::#kind,
                    ::core::file!(),
                    ::core::line!(),
                )
            }
            static #described: ::std::sync::Once = ::std::sync::Once::new();
            #described.call_once(|| {
                #private::describe_facade(#private::MetricKind::#kind, #name, #description);
            });
            #private::metrics::#mac!(#(#named)* #name #(#labels)*)
        }
    }
}

/// A facade histogram not in seconds needs `buckets: "prefix"`: the recorder's default
/// buckets are durations in seconds, so its values would all land in `+Inf`.
fn check_buckets(
    input: &Input,
    kind: MetricKind,
    name: &LitStr,
    unit: Option<&str>,
    errors: &mut Errors,
) {
    let buckets = input.named.iter().find(|(k, _)| k == "buckets");
    if kind != MetricKind::Histogram {
        if let Some((key, _)) = buckets {
            errors.error_at(
                key,
                format!(
                    "`buckets` applies to `histogram!`, and this is `{}!`: remove it",
                    kind.as_str()
                ),
            );
        }
        return;
    }
    let name_value = name.value();
    let Some((_, value)) = buckets else {
        if unit != Some("seconds") {
            let prefix = name_value
                .rsplit_once('_')
                .map_or(name_value.as_str(), |(stem, _)| stem);
            errors.error_at(
                name,
                format!(
                    "`histogram!(\"{name_value}\")` would get the default buckets, which are durations in seconds: \
                     configure its bounds with `Observability::builder().histogram_buckets(\"{prefix}_\", &[..])` \
                     and add `buckets: \"{prefix}_\"` here, or declare it with \
                     `#[business_metric(buckets = [..])]`"
                ),
            );
        }
        return;
    };
    match literal(value) {
        Some(prefix) if prefix.value().is_empty() => errors.error_at(
            prefix,
            "`buckets` is the name prefix given to `histogram_buckets(prefix, ..)`, and it is empty: \
             give a prefix of the metric name",
        ),
        Some(prefix) if !name_value.starts_with(&prefix.value()) => errors.error_at(
            prefix,
            format!(
                "`{name_value}` does not start with `{}`, so `histogram_buckets({:?}, ..)` does not apply to it: \
                 give a prefix of the metric name",
                prefix.value(),
                prefix.value()
            ),
        ),
        Some(_) => {}
        None => errors.error_at(
            value,
            "`buckets` must be a string literal: the name prefix given to `histogram_buckets(prefix, ..)`",
        ),
    }
}

/// The `description: "…"` parameter, checked; errors for the other named parameters.
fn description<'a>(input: &'a Input, macro_name: &str, errors: &mut Errors) -> Option<&'a LitStr> {
    let mut description = None;
    for (key, value) in &input.named {
        match key.to_string().as_str() {
            "target" | "level" | "buckets" => {}
            "description" => match literal(value) {
                Some(lit) => {
                    if let Err(e) = check_help(&lit.value()) {
                        errors.error_at(lit, e);
                    }
                    description = Some(lit);
                }
                None => errors.error_at(
                    value,
                    "`description` must be a string literal: it is the HELP text, checked at compile time",
                ),
            },
            _ => errors.error_at(
                key,
                format!("unknown parameter `{key}` of `{macro_name}!`: expected `description`, `buckets`, `target` or `level`"),
            ),
        }
    }
    description
}
