//! `#[business_metric(…)]` on a function: each call records into declared metrics.
//!
//! Every entry is written as the recording call it stands for:
//!
//! ```text
//! #[business_metric(
//!     ETL_RUNS_TOTAL { pipeline: name, status: outcome }.inc(),          // outcome: "success" / "failure"
//!     ETL_RUN_DURATION_SECONDS { pipeline: name }.observe(elapsed),      // elapsed: the call, in seconds
//!     ETL_BATCH_ROWS { pipeline: name }.observe(batch.len()),            // from an argument, before the call
//!     ETL_ROWS_WRITTEN_TOTAL { pipeline: name }.inc_by(|r| r.written),   // from the Ok value, after the call
//! )]
//! ```
//!
//! Label values are evaluated before the call (the body may consume the arguments); when
//! all are literals (or `outcome`), the series live in `static` storage.

use proc_macro2::{Group, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprStruct, FnArg, Ident, Pat, Path, ReturnType, Token, Type, parse_quote};

use crate::errors::{Errors, did_you_mean};
use crate::monitor::FnParts;

use super::series::{is_str_literal, site};

const METHODS: &[&str] = &["inc", "inc_by", "set", "add", "sub", "observe"];
const OUTCOME: &str = "outcome";
const ELAPSED: &str = "elapsed";

/// Where a recorded value comes from.
enum Value {
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

struct Entry {
    /// The metric with its label values, or the metric path alone.
    labels: Option<ExprStruct>,
    path: Path,
    method: Ident,
    value: Value,
    has_outcome: bool,
    fixed: bool,
}

struct Parsed {
    krate: Path,
    entries: Vec<Entry>,
    uses_outcome: Option<Span>,
    uses_elapsed: Option<Span>,
}

fn parse(args: TokenStream, errors: &mut Errors) -> Parsed {
    let mut parsed = Parsed {
        krate: parse_quote!(::flext_observability),
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
                Some(path) => parsed.krate = path,
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

fn is_ident(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

fn entry(expr: &Expr, parsed: &mut Parsed, errors: &mut Errors) -> Option<Entry> {
    let shape = "an entry is a recording call on a declared metric: `METRIC.inc()` or `METRIC { label: value }.observe(elapsed)`";
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

fn validate_fn(function: &FnParts, parsed: &Parsed, errors: &mut Errors) {
    if let Some(constness) = &function.sig.constness {
        errors.error_at(
            constness,
            "`#[business_metric]` cannot record from a `const fn`: remove `const`",
        );
    }
    if let Some(variadic) = &function.sig.variadic {
        errors.error_at(
            variadic,
            "`#[business_metric]` cannot record from a C-variadic function",
        );
    }
    for input in &function.sig.inputs {
        let FnArg::Typed(arg) = input else { continue };
        let Pat::Ident(pat) = &*arg.pat else { continue };
        for (name, used) in [
            (OUTCOME, parsed.uses_outcome),
            (ELAPSED, parsed.uses_elapsed),
        ] {
            if used.is_some() && pat.ident == name {
                errors.error_at(
                    &pat.ident,
                    format!("this parameter is named `{name}`, which `#[business_metric]` uses for the call's {name}: rename the parameter"),
                );
            }
        }
    }
}

pub(crate) fn expand(args: TokenStream, function: FnParts, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args_span = args
        .clone()
        .into_iter()
        .next()
        .map_or_else(|| function.sig.ident.span(), |t| t.span());
    let parsed = parse(args, &mut errors);
    if parsed.entries.is_empty() && errors.is_empty() {
        errors.error_span(
            args_span,
            "list what each call records, such as `#[business_metric(ETL_RUNS_TOTAL { status: outcome }.inc())]`",
        );
    }
    validate_fn(&function, &parsed, &mut errors);
    if !errors.is_empty() {
        let mut out = errors.into_compile_errors();
        out.extend(input);
        return out;
    }
    generate(function, &parsed)
}

/// The label struct with `outcome` replaced by the given literal.
fn with_outcome(labels: &ExprStruct, value: &str) -> ExprStruct {
    let mut labels = labels.clone();
    for field in &mut labels.fields {
        if is_ident(&field.expr, OUTCOME) {
            let span = syn::spanned::Spanned::span(&field.expr);
            let lit = syn::LitStr::new(value, span);
            field.expr = parse_quote!(#lit);
            if field.colon_token.is_none() {
                field.colon_token = Some(Token![:](span));
            }
        }
    }
    labels
}

fn handle(krate: &Path, labels: &ExprStruct, fixed: bool) -> TokenStream {
    if fixed {
        site(krate, labels)
    } else {
        quote!(#labels.series())
    }
}

fn generate(function: FnParts, parsed: &Parsed) -> TokenStream {
    let krate = &parsed.krate;
    let private = quote!(#krate::__private);
    let mixed = |name: &str| Ident::new(name, Span::mixed_site());
    let success = mixed("flext_success");
    let elapsed = mixed("flext_elapsed");
    let guard = mixed("flext_guard");
    let ret = mixed("flext_ret");
    let ok_value = mixed("flext_ok_value");
    let ret_ref = mixed("flext_ret_ref");

    let mut before = TokenStream::new();
    let mut on_finish = TokenStream::new();
    let mut on_success = TokenStream::new();
    for (i, entry) in parsed.entries.iter().enumerate() {
        let h = mixed(&format!("flext_series_{i}"));
        let v = mixed(&format!("flext_value_{i}"));
        let method = &entry.method;
        // The receiver of the recording call: a resolved series, or the static itself.
        let receiver = match &entry.labels {
            Some(labels) if entry.has_outcome => {
                let failure = handle(krate, &with_outcome(labels, "failure"), entry.fixed);
                let succeeded = handle(krate, &with_outcome(labels, "success"), entry.fixed);
                before.extend(quote!(let #h = [#failure, #succeeded];));
                if matches!(entry.value, Value::Returned(_)) {
                    quote!(#h[1])
                } else {
                    quote!(#h[<::core::primitive::usize as ::core::convert::From<::core::primitive::bool>>::from(#success)])
                }
            }
            Some(labels) => {
                let series = handle(krate, labels, entry.fixed);
                before.extend(quote!(let #h = #series;));
                quote!(#h)
            }
            None => entry.path.to_token_stream(),
        };
        match &entry.value {
            Value::One => on_finish.extend(quote!(#receiver.#method();)),
            Value::Elapsed => on_finish.extend(quote!(#receiver.#method(#elapsed);)),
            Value::Argument(expr) => {
                before.extend(quote!(let #v = #expr;));
                on_finish.extend(quote!(#receiver.#method(#v);));
            }
            Value::Returned(closure) => on_success.extend(quote! {
                #receiver.#method(#private::apply(#ok_value, #closure));
            }),
        }
    }

    let FnParts {
        attrs,
        vis,
        defaultness,
        sig,
        inner: inner_attrs,
        body,
    } = function;
    let is_unsafe = matches!(sig.safety, syn::Safety::Unsafe(_));
    let inner = if is_unsafe {
        quote!({ unsafe #body })
    } else {
        body.to_token_stream()
    };
    let turbofish = return_annotation(&sig.output).map(|ty| quote!(::<#ty, _>));
    let call = if sig.asyncness.is_some() {
        quote!(#private::future #turbofish (async move #inner).await)
    } else {
        quote!(#private::call #turbofish (move || #inner))
    };
    let instrumented = quote! {
        #before
        let #guard = #private::CallGuard::start(
            move |#success: ::core::primitive::bool, #elapsed: ::core::primitive::f64| {
                let _ = (#success, #elapsed);
                #on_finish
            },
        );
        #[allow(unused_unsafe)]
        let #ret = #call;
        #guard.finish({
            #[allow(unused_imports)]
            use #private::{ViaAny as _, ViaResult as _};
            (&#ret).__flext_outcome() == #private::Outcome::Ok
        });
        let #ret_ref = &#ret;
        if let ::core::option::Option::Some(#ok_value) = {
            #[allow(unused_imports)]
            use #private::{OkAny as _, OkResult as _};
            // A local reference, not `(&ret)`: the `&&R` this borrows must outlive the block.
            #ret_ref.__flext_ok()
        } {
            let _ = #ok_value;
            #on_success
        }
        #ret
    };
    let body = Group::new(
        proc_macro2::Delimiter::Brace,
        quote!(#(#inner_attrs)* #instrumented),
    );
    quote! {
        #(#attrs)*
        #vis #defaultness #sig #body
    }
}

/// The declared return type with every `impl Trait` replaced by `_`, for the turbofish
/// that fixes the body's type; `None` for `!`.
fn return_annotation(output: &ReturnType) -> Option<Type> {
    match output {
        ReturnType::Default => Some(parse_quote!(())),
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => None,
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            erase_impl_trait(&mut ty);
            Some(ty)
        }
    }
}

fn erase_impl_trait(ty: &mut Type) {
    match ty {
        Type::ImplTrait(_) => *ty = parse_quote!(_),
        Type::Array(a) => erase_impl_trait(&mut a.elem),
        Type::Group(g) => erase_impl_trait(&mut g.elem),
        Type::Paren(p) => erase_impl_trait(&mut p.elem),
        Type::Ptr(p) => erase_impl_trait(&mut p.elem),
        Type::Reference(r) => erase_impl_trait(&mut r.elem),
        Type::Slice(s) => erase_impl_trait(&mut s.elem),
        Type::Tuple(t) => t.elems.iter_mut().for_each(erase_impl_trait),
        Type::Path(p) => {
            for segment in &mut p.path.segments {
                if let syn::PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            erase_impl_trait(t);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}
