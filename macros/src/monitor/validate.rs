//! Every semantic rule of `#[monitor]`: where each option applies, the signatures it
//! instruments, and the span options against the function's arguments.

use quote::ToTokens;
use syn::Signature;
use syn::ext::IdentExt;

use super::options::Options;
use crate::errors::Errors;
use crate::function::{FnParts, Refusals, arg_names, refuse};

/// Fields every monitored span declares.
const RESERVED_FIELDS: &[&str] = &[
    "code.function",
    "code.namespace",
    "code.filepath",
    "code.lineno",
    "otel.status_code",
    "otel.status_description",
    "error.type",
];

const REFUSALS: Refusals = Refusals {
    const_fn: Some(
        "`#[monitor]` cannot instrument a `const fn`: a clock cannot be read at compile time",
    ),
    unsafe_fn: None,
    variadic: "`#[monitor]` cannot instrument a C-variadic function",
};

/// `skip` with `alert(..)`: one message, whether the impl block's expansion or a
/// method's own attribute (re-emitted with the block after an error) reports it.
pub(crate) const SKIP_WITH_ALERT: &str =
    "a method left alone with `skip` has no calls to alert on: remove `alert(..)` or `skip`";

/// `#[monitor]` on a free function (or on one method, outside a monitored impl block).
pub(crate) fn free_function(options: &Options, function: &FnParts, errors: &mut Errors) {
    if let Some(skip) = options.skip {
        match options.alerts.first() {
            Some(alert) => errors.error_span(alert.span, SKIP_WITH_ALERT),
            None => errors.error_span(
                skip,
                "`skip` only applies to a method of an impl block that carries `#[monitor]`",
            ),
        }
    }
    refuse(&function.sig, &REFUSALS, errors);
    span_options(options, &function.sig, errors);
}

/// The options of `#[monitor]` on an impl block: those about one function belong on it.
pub(crate) fn impl_options(outer: &Options, errors: &mut Errors) {
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
}

/// Span options: recorded arguments exist, `skip(..)` narrows `args`, options that need
/// a span are not combined with `span = false`, keys are unique.
pub(crate) fn span_options(options: &Options, sig: &Signature, errors: &mut Errors) {
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
                errors.error_at(
                    &field.key[0],
                    format!("`{key}` is not an argument of this function: record a value with `{key} = expr`"),
                );
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
