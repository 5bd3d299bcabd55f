//! Bucket lists: `[0.005, 0.01, 1]` (seconds) or `["5ms", "10ms", "1s"]`.

use syn::{Expr, ExprLit, Lit, UnOp};

use crate::duration::parse_seconds;
use crate::errors::Errors;

/// At most this many bounds per histogram.
const MAX_BOUNDS: usize = 64;

/// Validated bucket bounds, ascending, finite, positive.
#[derive(Clone, Debug)]
pub(crate) struct Bounds {
    pub(crate) seconds: Vec<f64>,
}

impl Bounds {
    pub(crate) fn nanos(&self) -> Vec<u64> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        // positive, ≤ u64 range checked
        self.seconds
            .iter()
            .map(|s| (s * 1e9).round() as u64)
            .collect()
    }
}

/// Parses and checks a bucket list; every problem is reported on its own element.
pub(crate) fn parse_bounds(expr: &Expr, errors: &mut Errors) -> Option<Bounds> {
    let Expr::Array(array) = expr else {
        errors.error_at(
            expr,
            "`buckets` must be a list of upper bounds in seconds, such as `[0.005, 0.05, 0.5]` or `[\"5ms\", \"50ms\", \"500ms\"]`",
        );
        return None;
    };
    if array.elems.is_empty() {
        errors.error_span(
            array.bracket_token.span.join(),
            "the bucket list is empty: give at least one upper bound",
        );
        return None;
    }
    if array.elems.len() > MAX_BOUNDS {
        errors.error_at(
            &array.elems,
            format!(
                "too many buckets ({}): at most {MAX_BOUNDS}",
                array.elems.len()
            ),
        );
        return None;
    }
    let mut seconds: Vec<f64> = Vec::with_capacity(array.elems.len());
    let mut ok = true;
    for elem in &array.elems {
        match bound(elem) {
            Ok(value) => {
                if let Some(&prev) = seconds.last()
                    && value <= prev
                {
                    errors.error_at(
                        elem,
                        format!(
                            "bucket bounds must be sorted in increasing order without repeats: {} is not above {}",
                            fmt(value),
                            fmt(prev)
                        ),
                    );
                    ok = false;
                }
                seconds.push(value);
            }
            Err(message) => {
                errors.error_at(elem, message);
                ok = false;
            }
        }
    }
    ok.then_some(Bounds { seconds })
}

fn fmt(v: f64) -> String {
    format!("{v}")
}

fn bound(elem: &Expr) -> Result<f64, String> {
    match elem {
        Expr::Lit(ExprLit { lit, .. }) => {
            let value = match lit {
                Lit::Float(f) => f
                    .base10_parse::<f64>()
                    .map_err(|e| format!("invalid bucket bound: {e}"))?,
                Lit::Int(i) => i
                    .base10_parse::<f64>()
                    .map_err(|e| format!("invalid bucket bound: {e}"))?,
                Lit::Str(s) => parse_seconds(&s.value())?,
                _ => {
                    return Err(
                        "a bucket bound is a number of seconds (`0.25`) or a duration string (`\"250ms\"`)"
                            .into(),
                    );
                }
            };
            if !value.is_finite() {
                return Err("bucket bound is not finite: `+Inf` is always added as the last bucket".into());
            }
            if value <= 0.0 {
                return Err("bucket bound must be greater than zero".into());
            }
            if value < 1e-9 {
                return Err(
                    "bucket bound is below one nanosecond, the resolution of measured durations"
                        .into(),
                );
            }
            if value > 1e9 {
                return Err("bucket bound is too large (more than 31 years)".into());
            }
            Ok(value)
        }
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => {
            Err("bucket bound must be greater than zero, durations are never negative".into())
        }
        Expr::Path(p)
            if p.path.segments.last().is_some_and(|s| {
                let s = s.ident.to_string();
                s == "NAN" || s == "INFINITY" || s == "NEG_INFINITY"
            }) =>
        {
            Err(format!(
                "`{}` is not a valid bucket bound: bounds are finite numbers, and `+Inf` is always added",
                quote::quote!(#p).to_string().replace(' ', "")
            ))
        }
        _ => Err(
            "a bucket bound must be a number literal (`0.25`) or a duration string (`\"250ms\"`), not an expression"
                .into(),
        ),
    }
}
