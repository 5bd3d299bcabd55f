//! The settings toolkit: typed readers of environment variables with one explicit policy
//! each, used by every part that reads the environment (the builder's core settings,
//! health, logs, OTLP, the Pushgateway client).
//!
//! Code wins over the environment, which wins over defaults. Two policies:
//!
//! - [`Policy::Lenient`] for OpenTelemetry's `OTEL_*` variables, as the specification
//!   asks: an unusable value is ignored with one warning naming the variable, and the
//!   default is used.
//! - [`Policy::Strict`] for the project's own variables: an unusable value makes
//!   `install()` fail with an error naming the variable.
//!
//! An empty (or blank) value counts as unset under both, as the OpenTelemetry
//! specification requires for its variables: `OTEL_SERVICE_NAME=` in a deployment
//! template must not turn anything off or fail `install()`.

// The lenient readers serve OpenTelemetry's variables (feature `otlp`).
#![cfg_attr(not(feature = "otlp"), allow(dead_code))]

use std::time::Duration;

use flext_observability_naming::duration::BareNumber;

use crate::error::Error;

/// Reads one environment variable. Tests pass a map instead of the process environment.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, blank values as unset.
pub(crate) fn process_env(name: &str) -> Option<String> {
    set(std::env::var(name).ok())
}

/// `None` for an absent or blank value.
fn set(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// An environment made of `pairs`, for tests that must not touch the process's.
#[cfg(test)]
pub(crate) fn test_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| set(map.get(k).cloned())
}

/// What happens to a value that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Ignored with one warning (the default applies): OpenTelemetry's variables. The
    /// warning quotes the value, so only for variables that carry no secret.
    Lenient,
    /// An error naming the variable: the project's own variables.
    Strict,
}

/// Reads `name` with `parse`. `Ok(None)` when unset, or when unusable under
/// [`Policy::Lenient`].
///
/// # Errors
/// Under [`Policy::Strict`], an unusable value: [`Error::Config`] naming `name`.
pub(crate) fn read<T>(
    env: EnvLookup<'_>,
    name: &str,
    policy: Policy,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, Error> {
    let Some(value) = env(name) else {
        return Ok(None);
    };
    match parse(value.trim()) {
        Ok(v) => Ok(Some(v)),
        Err(reason) => match policy {
            Policy::Strict => Err(Error::config(name, reason)),
            Policy::Lenient => {
                ignored(name, &value, &reason);
                Ok(None)
            }
        },
    }
}

/// [`read`] under [`Policy::Lenient`], which cannot fail.
pub(crate) fn read_lenient<T>(
    env: EnvLookup<'_>,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    read(env, name, Policy::Lenient, parse).unwrap_or(None)
}

/// The value given in code, else the variable's, read as [`read`] does.
///
/// # Errors
/// As [`read`], only when there is no value in code.
pub(crate) fn code_or_read<T>(
    code: Option<T>,
    env: EnvLookup<'_>,
    name: &str,
    policy: Policy,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, Error> {
    match code {
        Some(value) => Ok(Some(value)),
        None => read(env, name, policy, parse),
    }
}

/// Warns once that `name=value` is ignored.
pub(crate) fn ignored(name: &str, value: &str, reason: &str) {
    crate::diag::warn_once(
        &format!("env-ignored-{name}"),
        &format!("{name}=`{value}` is ignored ({reason}); the default is used"),
    );
}

/// The value given in code, else the environment's, else `default`, with the name of
/// where it came from (the method or the variable), for error messages.
pub(crate) fn pick<T>(
    code: Option<T>,
    method: &'static str,
    env: Option<T>,
    variable: &'static str,
    default: T,
) -> (T, &'static str) {
    match (code, env) {
        (Some(v), _) => (v, method),
        (None, Some(v)) => (v, variable),
        (None, None) => (default, variable),
    }
}

/// `true` or `false`, in any case.
pub(crate) fn boolean(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("not `true` or `false`".to_owned()),
    }
}

/// A positive whole number.
pub(crate) fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("not a positive number".to_owned()),
    }
}

/// A positive number of milliseconds (OpenTelemetry's timeouts and intervals).
pub(crate) fn millis(text: &str) -> Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err("not a positive number of milliseconds".to_owned()),
    }
}

/// `30s`, `250ms`, `1m30s`, `1 s 500 ms`, `1h`, `500us`, or plain (fractional) seconds:
/// the grammar of the macros' attributes, plus bare numbers as seconds.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    flext_observability_naming::duration::parse_duration(text, BareNumber::Seconds)
        .map_err(|e| e.to_string())
}

/// `key1=value1,key2=value2`, keys and values percent-decoded. Errors never quote the
/// value (it may be a secret).
///
/// # Errors
/// An entry without `=`, an empty key, or a bad escape: [`Error::Config`] naming
/// `source`.
pub(crate) fn pairs(source: &str, value: &str) -> Result<Vec<(String, String)>, Error> {
    let decode = |text: &str| crate::percent::decode(text).map_err(|r| Error::config(source, r));
    let mut out = Vec::new();
    for (n, item) in value.split(',').enumerate() {
        if item.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = item.split_once('=') else {
            return Err(Error::config(
                source,
                format!("entry {} is not `key=value`", n + 1),
            ));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(Error::config(
                source,
                format!("entry {} has an empty key", n + 1),
            ));
        }
        out.push((decode(k)?, decode(v.trim())?));
    }
    Ok(out)
}

/// Checks bucket bounds given in code: finite, strictly increasing, not empty. Facade
/// histograms may record any value, so negative bounds are allowed.
///
/// # Errors
/// [`Error::Config`] naming `source` and the first bad bound.
pub(crate) fn check_bounds(source: &str, bounds: &[f64]) -> Result<(), Error> {
    if bounds.is_empty() {
        return Err(Error::config(source, "the bucket list is empty"));
    }
    for (i, &b) in bounds.iter().enumerate() {
        if !b.is_finite() {
            return Err(Error::config(
                source,
                format!("bucket bound {b} is not finite"),
            ));
        }
        if i > 0 && b <= bounds[i - 1] {
            return Err(Error::config(
                source,
                format!(
                    "bucket bounds must increase strictly: {} then {b}",
                    bounds[i - 1]
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_variables_are_unset() {
        assert_eq!(set(Some(String::new())), None);
        assert_eq!(set(Some(" \t".into())), None);
        assert_eq!(set(Some(" x ".into())).as_deref(), Some(" x "));
    }

    #[test]
    fn policies() {
        let env = test_env(&[("A", "soon"), ("B", " 250ms "), ("C", "")]);
        let err = read(&env, "A", Policy::Strict, duration).unwrap_err();
        assert!(err.to_string().contains("`A`"), "{err}");
        assert_eq!(read(&env, "A", Policy::Lenient, duration).unwrap(), None);
        assert_eq!(
            read(&env, "B", Policy::Strict, duration).unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(read(&env, "C", Policy::Strict, duration).unwrap(), None);
        assert_eq!(read_lenient(&env, "B", millis), None);
        assert_eq!(pick(Some(1), "m", Some(2), "V", 3), (1, "m"));
        assert_eq!(pick(None, "m", Some(2), "V", 3), (2, "V"));
        assert_eq!(pick(None, "m", None, "V", 3), (3, "V"));
    }

    #[test]
    fn pairs_are_decoded_and_errors_name_the_source() {
        assert_eq!(
            pairs("S", "a=1, service.name=x%20y,,").unwrap(),
            [
                ("a".into(), "1".into()),
                ("service.name".into(), "x y".into())
            ]
        );
        for bad in ["a", "=1", "a=%zz"] {
            let err = pairs("OTEL_RESOURCE_ATTRIBUTES", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("OTEL_RESOURCE_ATTRIBUTES"), "{bad}: {err}");
        }
    }

    #[test]
    fn bounds() {
        assert!(check_bounds("b", &[0.1, 1.0]).is_ok());
        assert!(check_bounds("b", &[]).is_err());
        assert!(check_bounds("b", &[1.0, 0.1]).is_err());
        assert!(check_bounds("b", &[f64::NAN]).is_err());
    }
}
