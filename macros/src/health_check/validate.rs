//! Every semantic rule of `#[health_check]`, one small function each.

use syn::{FnArg, GenericParam, ReturnType, Signature, Type};

use super::options::Options;
use crate::errors::Errors;
use crate::function::{Refusals, refuse};

/// Shortest interval the runtime accepts (it would otherwise keep a core busy).
const MIN_INTERVAL: f64 = 0.010;
/// Shortest timeout.
const MIN_TIMEOUT: f64 = 0.001;

const REFUSALS: Refusals = Refusals {
    const_fn: None,
    unsafe_fn: Some(
        "a health check cannot be an `unsafe fn`: the runner cannot uphold its safety \
         contract; make it safe and use `unsafe` inside",
    ),
    variadic: "a health check cannot be C-variadic",
};

pub(crate) fn options(options: &Options, errors: &mut Errors) {
    if let Some(name) = &options.name {
        check_name(name, "health check name", errors);
    }
    for group in options.groups.iter().flatten() {
        check_name(group, "group name", errors);
    }
    duplicate_groups(options, errors);
    durations(options, errors);
    for count in [&options.failure_threshold, &options.success_threshold]
        .into_iter()
        .flatten()
    {
        if count.value == 0 {
            errors.error_at(&count.lit, "a threshold counts runs: it must be at least 1");
        }
    }
}

/// Names appear in URLs (`/health/<name>`), JSON keys and label values.
fn check_name(lit: &syn::LitStr, what: &str, errors: &mut Errors) {
    let value = lit.value();
    if value.is_empty() {
        errors.error_at(lit, format!("{what} must not be empty"));
    } else if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        errors.error_at(
            lit,
            format!(
                "{what} `{value}` contains `{}`: use letters, digits, `_`, `-`, `.` and `:` \
                 (it appears in URLs and label values)",
                bad.escape_default()
            ),
        );
    }
}

fn duplicate_groups(options: &Options, errors: &mut Errors) {
    let groups = options.groups.as_deref().unwrap_or_default();
    for (i, group) in groups.iter().enumerate() {
        if groups[..i].iter().any(|g| g.value() == group.value()) {
            errors.error_at(group, format!("group `{}` is listed twice", group.value()));
        }
    }
}

fn durations(options: &Options, errors: &mut Errors) {
    if let Some(interval) = &options.interval
        && interval.seconds < MIN_INTERVAL
    {
        errors.error_at(
            &interval.lit,
            "the interval must be at least `10ms`: shorter would keep a core busy",
        );
    }
    if let Some(timeout) = &options.timeout
        && timeout.seconds < MIN_TIMEOUT
    {
        errors.error_at(&timeout.lit, "the timeout must be at least `1ms`");
    }
    if let (Some(timeout), Some(interval)) = (&options.timeout, &options.interval)
        && timeout.seconds > interval.seconds
    {
        errors.error_at(
            &timeout.lit,
            format!(
                "the timeout `{}` is longer than the interval `{}`: shorten the timeout or \
                 lengthen the interval",
                timeout.lit.value(),
                interval.lit.value()
            ),
        );
    }
}

/// Signatures the runner can call: a free function, sync or async, no type parameters,
/// parameters it can supply by type, and a return value it can read.
pub(crate) fn signature(sig: &Signature, errors: &mut Errors) {
    refuse(sig, &REFUSALS, errors);
    for param in &sig.generics.params {
        match param {
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(t) => errors.error_at(
                &t.ident,
                "a health check cannot be generic: the runner calls it with the values \
                 registered with `.resource(..)`, which need concrete types",
            ),
            GenericParam::Const(c) => errors.error_at(
                &c.ident,
                "a health check cannot have const parameters: the runner calls it as is",
            ),
        }
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.error_at(
                receiver.self_token,
                "a health check is a free function, not a method: take the value as a \
                 parameter (`db: &Database`) and register it with `.resource(..)`",
            ),
            FnArg::Typed(typed) => parameter(&typed.ty, errors),
        }
    }
    match &sig.output {
        ReturnType::Default => errors.error_at(
            &sig.ident,
            "a health check returns its result: add `-> Result<(), E>` (with `E: Display`), \
             `-> HealthReport` or `-> Status`",
        ),
        ReturnType::Type(_, ty) => {
            if let Type::ImplTrait(it) = &**ty {
                errors.error_at(
                    it.impl_token,
                    "a health check cannot return `impl Trait`: write an `async fn` that \
                     returns `Result<(), E>`, `HealthReport` or `Status`",
                );
            }
        }
    }
}

fn parameter(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(reference) => {
            if let Some(mutability) = &reference.mutability {
                errors.error_at(
                    mutability,
                    "a health check cannot take `&mut`: its resource is shared with other \
                     runs; take `&T` and use interior mutability (a `Mutex`) if it must change",
                );
            }
            if let Some(lifetime) = &reference.lifetime
                && lifetime.ident == "static"
            {
                errors.error_at(
                    lifetime,
                    "a resource is lent for one run, not for `'static`: write `&T`",
                );
            }
            parameter(&reference.elem, errors);
        }
        Type::ImplTrait(it) => errors.error_at(
            it.impl_token,
            "a health check parameter needs a concrete type: the runner finds it by type \
             among the values registered with `.resource(..)`",
        ),
        Type::Paren(p) => parameter(&p.elem, errors),
        Type::Group(g) => parameter(&g.elem, errors),
        _ => {}
    }
}
