//! The values `alert(..)` takes, each checked: quantiles, numbers, durations, names,
//! annotation templates; and the default name of an alert.

use syn::{Expr, Lit, LitStr, UnOp};

use super::Condition;
use super::validate::{MAX_SECONDS, Subject};
use crate::duration::parse_seconds;
use crate::errors::Errors;

/// `latency_p99` → 0.99, `latency_p999` → 0.999.
pub(super) fn quantile(suffix: &str) -> Result<f64, String> {
    let message = || {
        format!(
            "unknown latency measure `latency_{suffix}`: use a percentile such as `latency_p50`, `latency_p95`, `latency_p99` or `latency_p999`"
        )
    };
    let digits = suffix.strip_prefix('p').ok_or_else(message)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(message());
    }
    let q = match digits.len() {
        2 => digits.parse::<f64>().map_err(|_| message())? / 100.0,
        // `p999` is the 99.9th percentile, `p9999` the 99.99th.
        n if n > 2 && digits.starts_with("99") => format!("0.{digits}")
            .parse::<f64>()
            .map_err(|_| message())?,
        _ => return Err(message()),
    };
    if q <= 0.0 {
        return Err(message());
    }
    Ok(q)
}

pub(super) fn string(value: &Expr, what: &str, errors: &mut Errors) -> Option<LitStr> {
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    {
        Some(lit.clone())
    } else {
        errors.error_at(value, format!("{what} takes a string literal"));
        None
    }
}

pub(super) fn number(value: &Expr) -> Option<f64> {
    let v = match value {
        Expr::Lit(syn::ExprLit { lit, .. }) => match lit {
            Lit::Int(i) => i.base10_parse::<f64>().ok(),
            Lit::Float(f) => f.base10_parse::<f64>().ok(),
            _ => None,
        },
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => number(&u.expr).map(|v| -v),
        _ => None,
    }?;
    v.is_finite().then_some(v)
}

/// A duration string of at least `min` seconds, at most 30 days.
pub(super) fn duration(value: &Expr, what: &str, min: f64, errors: &mut Errors) -> Option<f64> {
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    else {
        errors.error_at(
            value,
            format!(
                "{what} is a duration string with its unit, such as \"500ms\", \"30s\" or \"5m\""
            ),
        );
        return None;
    };
    match parse_seconds(&lit.value()) {
        Ok(secs) if secs < min => {
            errors.error_at(lit, format!("{what} must be at least {min} s"));
            None
        }
        Ok(secs) if secs > MAX_SECONDS => {
            errors.error_at(lit, format!("{what} must be at most 30 days"));
            None
        }
        Ok(secs) => Some(secs),
        Err(e) => {
            errors.error_at(lit, e);
            None
        }
    }
}

/// An alert name is a Prometheus metric name, as `alert:` in a rules file requires.
pub(super) fn alert_name(name: &str) -> Result<(), String> {
    let valid_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let valid = valid_start
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "alert name `{name}` is invalid: use [a-zA-Z_][a-zA-Z0-9_]*, as Prometheus' rules require, such as `{}`",
            upper_camel(name)
        ))
    }
}

/// `{{ $value }}` and `{{ $labels.name }}` are the only templates: the runtime expands
/// them and Prometheus reads them the same way.
pub(super) fn template(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err("a `{{` is not closed by `}}`".to_owned());
        };
        let inner = after[..close].trim();
        let ok = inner == "$value"
            || inner.strip_prefix("$labels.").is_some_and(|l| {
                !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !ok {
            return Err(format!(
                "`{{{{ {inner} }}}}` is not expanded: only `{{{{ $value }}}}` and `{{{{ $labels.<name> }}}}` are, in process and in the generated rules alike"
            ));
        }
        rest = &after[close + 2..];
    }
    Ok(())
}

/// `charge_card` → `ChargeCard`, `<Repo as Store>::load` → `RepoStoreLoad`.
pub(super) fn upper_camel(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "as")
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "Alert");
    }
    out
}

pub(super) fn default_name(subject: &Subject<'_>, condition: Condition) -> String {
    match subject {
        Subject::Function { label, .. } => {
            let what = match condition {
                Condition::ErrorRateAbove(_) => "ErrorRate".to_owned(),
                Condition::ErrorsAbove(_) => "Errors".to_owned(),
                Condition::LatencyAbove { quantile, .. } => {
                    let digits = format!("{quantile}");
                    format!(
                        "LatencyP{}",
                        digits.trim_start_matches("0.").replace('.', "")
                    )
                }
                Condition::Below(_) | Condition::Above(_) => String::new(),
            };
            format!("{}{what}", upper_camel(label))
        }
        Subject::Metric { name, counter, .. } => {
            let base = if *counter {
                name.strip_suffix("_total").unwrap_or(name)
            } else {
                name
            };
            let what = if matches!(condition, Condition::Below(_)) {
                "Low"
            } else {
                "High"
            };
            format!("{}{what}", upper_camel(base))
        }
        Subject::Other { .. } => String::new(),
    }
}
