//! The one source of truth for metric and label naming rules.
//!
//! The `flext-observability-macros` crate applies these rules at compile time and the
//! `flext-observability` runtime applies the same functions to names that only exist at
//! run time (metrics recorded through the `metrics` facade). Every error message says what
//! is wrong and how to fix it.
//!
//! ```
//! use flext_observability_naming::{validate_label_name, validate_metric_name};
//! assert!(validate_metric_name("etl_rows_written_total").is_ok());
//! let err = validate_metric_name("http-requests").unwrap_err();
//! assert!(err.to_string().contains("[a-zA-Z_][a-zA-Z0-9_]*"));
//! assert!(validate_label_name("__name").is_err());
//! ```

use std::fmt;

/// Why a name was rejected; `Display` gives a lowercase message that says the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    message: String,
}

impl NameError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NameError {}

/// Label names the exposition formats reserve for themselves.
pub const RESERVED_LABELS: &[&str] = &["le", "quantile"];

/// Checks a metric name against `[a-zA-Z_][a-zA-Z0-9_]*`.
///
/// Colons are valid in the exposition format but reserved for recording rules, so they
/// are rejected here.
///
/// # Errors
/// A [`NameError`] that names the offending character and the allowed pattern.
pub fn validate_metric_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::new("metric name is empty"));
    }
    if let Some((i, c)) = first_invalid(name) {
        let hint = if c == ':' {
            " (`:` is reserved for recording rules)"
        } else {
            ""
        };
        return Err(NameError::new(format!(
            "metric name `{name}` is invalid at `{c}` (position {i}){hint}: use [a-zA-Z_][a-zA-Z0-9_]*"
        )));
    }
    if name.starts_with("__") {
        return Err(NameError::new(format!(
            "metric name `{name}` starts with `__`, which Prometheus reserves for internal use"
        )));
    }
    Ok(())
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*`, the `__` prefix and the
/// reserved names `le` and `quantile`.
///
/// # Errors
/// A [`NameError`] that says which rule the name breaks.
pub fn validate_label_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::new("label name is empty"));
    }
    if let Some((i, c)) = first_invalid(name) {
        return Err(NameError::new(format!(
            "label name `{name}` is invalid at `{c}` (position {i}): use [a-zA-Z_][a-zA-Z0-9_]*"
        )));
    }
    if name.starts_with("__") {
        return Err(NameError::new(format!(
            "label name `{name}` starts with `__`, which Prometheus reserves for internal use"
        )));
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(NameError::new(format!(
            "label name `{name}` is reserved by the exposition format for histogram and summary samples"
        )));
    }
    Ok(())
}

/// Turns any string into a valid metric name: invalid characters (including `:`) become
/// `_`, a leading digit gets a `_` prefix. Used for names that only exist at run time.
pub fn sanitize_metric_name(name: &str) -> String {
    sanitize(name)
}

/// Turns any string into a valid label name, as [`sanitize_metric_name`] does; reserved
/// names (`le`, `quantile`, `__…`) get an `exported_` prefix.
pub fn sanitize_label_name(name: &str) -> String {
    let s = sanitize(name);
    if s.starts_with("__") || RESERVED_LABELS.contains(&s.as_str()) {
        format!("exported_{}", s.trim_start_matches('_'))
    } else {
        s
    }
}

fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    for (i, c) in name.chars().enumerate() {
        if i == 0 && c.is_ascii_digit() {
            out.push('_');
        }
        out.push(if c == '_' || c.is_ascii_alphanumeric() {
            c
        } else {
            '_'
        });
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

fn first_invalid(name: &str) -> Option<(usize, char)> {
    name.char_indices().find(|&(i, c)| {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        !ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        for ok in ["a", "_a", "abc_def_total", "A9"] {
            assert!(validate_metric_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a:b", "__a", "a b", "é"] {
            assert!(validate_metric_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sanitizing_gives_valid_names() {
        for raw in ["", "9lives", "http.requests-total", "a:b", "ünï", "ok_name"] {
            let m = sanitize_metric_name(raw);
            assert!(
                validate_metric_name(&m).is_ok() || m.starts_with("__"),
                "{raw} -> {m}"
            );
            let l = sanitize_label_name(raw);
            assert!(validate_label_name(&l).is_ok(), "{raw} -> {l}");
        }
        assert_eq!(
            sanitize_metric_name("http.requests-total"),
            "http_requests_total"
        );
        assert_eq!(sanitize_label_name("le"), "exported_le");
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_a", "pipeline", "target_1"] {
            assert!(validate_label_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a-b", "__a", "le", "quantile", "a:b"] {
            assert!(validate_label_name(bad).is_err(), "{bad}");
        }
    }
}
