//! The one source of truth for metric and label naming rules.
//!
//! The `flext-observability-macros` crate applies these rules at compile time (to
//! `#[business_metric]` declarations and to the validated `counter!`/`gauge!`/`histogram!`
//! macros) and the `flext-observability` runtime applies the same functions to names that
//! only exist at run time (Pushgateway grouping keys, metrics recorded through the
//! `metrics` facade). Every error says what is wrong and how to fix it, and most carry the
//! corrected name ([`NameError::fix`]).
//!
//! ```
//! use flext_observability_naming::{MetricKind, MetricSpec, Rule, validate_metric_name};
//!
//! assert!(validate_metric_name("etl_rows_written_total").is_ok());
//! let err = validate_metric_name("http-requests").unwrap_err();
//! assert!(err.to_string().contains("[a-zA-Z_][a-zA-Z0-9_]*"));
//!
//! // The conventions on top of the syntax: kind suffixes, base units, help text, labels.
//! let spec = MetricSpec::new("etl_duration_milliseconds", MetricKind::Histogram)
//!     .help("Duration of ETL runs.");
//! let issues = spec.check();
//! assert_eq!(issues[0].error.rule(), Rule::UnitNotBase);
//! assert_eq!(issues[0].error.fix(), Some("etl_duration_seconds"));
//! ```
//!
//! # The rules
//!
//! | rule | applies to | example of a violation → fix |
//! |---|---|---|
//! | [`Rule::Syntax`] | metric, label | `etl-rows_total` → `etl_rows_total` |
//! | [`Rule::Colon`] | metric | `etl:rows_total` (colons are for recording rules) |
//! | [`Rule::ReservedPrefix`] | metric, label | `__rows_total` (`__` is Prometheus' own) |
//! | [`Rule::SnakeCase`] | metric, label | `EtlRows_total` → `etl_rows_total` |
//! | [`Rule::TypeInName`] | metric | `etl_rows_counter_total` → `etl_rows_total` |
//! | [`Rule::CounterSuffix`] | counters | `etl_rows` → `etl_rows_total` |
//! | [`Rule::ReservedSuffix`] | gauges, histograms, info | gauge `queue_count` (`_total`, `_count`, `_sum`, `_bucket`, `_created` belong to counters and histograms) |
//! | [`Rule::InfoSuffix`] | info metrics | `build` → `build_info` |
//! | [`Rule::InfoOnly`] | all but info | gauge `build_info` (`_info` means an info metric) |
//! | [`Rule::UnitNotBase`] | metric, unit | `_milliseconds` → `_seconds`, `_percent` → `_ratio`, `_kilobytes` → `_bytes`, `_megabits` → `_bytes`, `_second` → `_seconds` |
//! | [`Rule::UnitAbbreviation`] | metric | `_ms` → `_seconds` |
//! | [`Rule::UnitUnknown`] | unit | `unit = "rows"` (counts take no unit) |
//! | [`Rule::UnitNotSuffix`] | metric, unit | unit `seconds` on `etl_seconds_spent` → `etl_spent_seconds` |
//! | [`Rule::InfoUnit`] | unit of an info metric | `unit = "seconds"` on `etl_timeout_info` (info metrics have no unit) |
//! | [`Rule::HelpMissing`] | metric | no doc comment |
//! | [`Rule::LabelReserved`] | label | `le`, `quantile` |
//! | [`Rule::LabelDuplicate`] | label | `labels(pipeline, pipeline)` |
//! | [`Rule::LabelRuntime`] | label | `otel_metric_overflow` (added by the runtime) |
//! | [`Rule::LabelTarget`] | label | `job`, `instance` (added by Prometheus and the Pushgateway) |

pub mod duration;
mod labels;
mod metric;
mod units;

use std::fmt;

pub use labels::{RUNTIME_LABELS, TARGET_LABELS, check_label_names};
pub use metric::{Issue, MetricKind, MetricSpec, Part, check_help, family_name};
pub use units::{BASE_UNITS, unit_of};

/// Which naming rule a name breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// Empty, or a character outside `[a-zA-Z0-9_]` (a digit first).
    Syntax,
    /// A `:` in a metric name: valid in the format, reserved for recording rules.
    Colon,
    /// A `__` prefix, reserved for Prometheus' internal names.
    ReservedPrefix,
    /// Not `snake_case`: upper case letters, `__` inside, or a `_` at either end.
    SnakeCase,
    /// The metric type (`counter`, `gauge`, `histogram`, `summary`) as a word of the name.
    TypeInName,
    /// A counter whose name does not end in `_total`.
    CounterSuffix,
    /// A gauge, histogram or info metric whose name ends in `_total`, `_count`, `_sum`,
    /// `_bucket` or `_created`, the suffixes of counter and histogram samples.
    ReservedSuffix,
    /// An info metric whose name does not end in `_info`.
    InfoSuffix,
    /// A metric that is not an info metric and whose name ends in `_info`.
    InfoOnly,
    /// A unit that is not a base unit (`milliseconds`, `percent`, `kilobytes`, `megabits`…),
    /// or a base unit spelled in the singular at the end of the name (`_second`).
    UnitNotBase,
    /// An abbreviated unit (`ms`, `s`, `kb`…).
    UnitAbbreviation,
    /// A declared unit that is not a unit this library knows.
    UnitUnknown,
    /// A unit that is not the last word of the name (before `_total`).
    UnitNotSuffix,
    /// A unit declared on an info metric, which has none.
    InfoUnit,
    /// No help text.
    HelpMissing,
    /// `le` or `quantile`, which the exposition formats use themselves.
    LabelReserved,
    /// The same label name twice.
    LabelDuplicate,
    /// A label the runtime adds itself (`otel_metric_overflow`).
    LabelRuntime,
    /// A label Prometheus or the Pushgateway sets from the target (`job`, `instance`).
    LabelTarget,
}

/// Why a name was rejected; `Display` gives a lowercase message that says the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    rule: Rule,
    message: String,
    fix: Option<String>,
}

impl NameError {
    pub(crate) fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self {
            rule,
            message: message.into(),
            fix: None,
        }
    }

    pub(crate) fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The rule the name breaks.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The corrected name (or unit), when one can be derived mechanically.
    pub fn fix(&self) -> Option<&str> {
        self.fix.as_deref()
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

/// Checks a metric name against `[a-zA-Z_][a-zA-Z0-9_]*`: the exposition format's
/// `[a-zA-Z_:][a-zA-Z0-9_:]*` without `:`, which is reserved for recording rules. The
/// `__` prefix is reserved too.
///
/// This is the syntax only; [`MetricSpec::check`] adds the conventions.
///
/// # Errors
/// A [`NameError`] that names the offending character and the allowed pattern.
pub fn validate_metric_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::new(
            Rule::Syntax,
            "metric name is empty: use [a-zA-Z_][a-zA-Z0-9_]*",
        ));
    }
    if let Some((i, c)) = first_invalid(name) {
        if c == ':' {
            return Err(NameError::new(
                Rule::Colon,
                format!(
                    "metric name `{name}` contains `:`, which is reserved for recording rules: use `_` (`{}`)",
                    sanitize(name)
                ),
            )
            .with_fix(sanitize(name)));
        }
        return Err(NameError::new(
            Rule::Syntax,
            format!(
                "metric name `{name}` is invalid at `{c}` (position {i}): use [a-zA-Z_][a-zA-Z0-9_]*, such as `{}`",
                sanitize(name)
            ),
        )
        .with_fix(sanitize(name)));
    }
    if name.starts_with("__") {
        let fixed = name.trim_start_matches('_');
        return Err(NameError::new(
            Rule::ReservedPrefix,
            format!(
                "metric name `{name}` starts with `__`, which Prometheus reserves for internal use: remove the leading underscores"
            ),
        )
        .with_fix(if fixed.is_empty() { "_" } else { fixed }));
    }
    Ok(())
}

/// Checks a label name against `[a-zA-Z_][a-zA-Z0-9_]*`, the `__` prefix and the
/// reserved names `le` and `quantile`.
///
/// [`check_label_names`] adds the conventions (snake case, no duplicates, no labels the
/// runtime or Prometheus set).
///
/// # Errors
/// A [`NameError`] that says which rule the name breaks.
pub fn validate_label_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::new(
            Rule::Syntax,
            "label name is empty: use [a-zA-Z_][a-zA-Z0-9_]*",
        ));
    }
    if let Some((i, c)) = first_invalid(name) {
        return Err(NameError::new(
            Rule::Syntax,
            format!(
                "label name `{name}` is invalid at `{c}` (position {i}): use [a-zA-Z_][a-zA-Z0-9_]*, such as `{}`",
                sanitize(name)
            ),
        )
        .with_fix(sanitize(name)));
    }
    if name.starts_with("__") {
        let fixed = name.trim_start_matches('_');
        return Err(NameError::new(
            Rule::ReservedPrefix,
            format!(
                "label name `{name}` starts with `__`, which Prometheus reserves for internal use: remove the leading underscores"
            ),
        )
        .with_fix(if fixed.is_empty() { "_" } else { fixed }));
    }
    if RESERVED_LABELS.contains(&name) {
        return Err(NameError::new(
            Rule::LabelReserved,
            format!(
                "label name `{name}` is reserved by the exposition format for histogram and summary samples: use a more specific name such as `{name}_value`"
            ),
        )
        .with_fix(format!("{name}_value")));
    }
    Ok(())
}

/// Turns any string into a valid metric name: invalid characters (including `:`) become
/// `_`, a leading digit gets a `_` prefix, and a `__` prefix, which Prometheus reserves,
/// becomes `exported_` (as [`sanitize_label_name`] does). Used for names that only exist
/// at run time.
///
/// ```
/// use flext_observability_naming::sanitize_metric_name;
///
/// assert_eq!(sanitize_metric_name("http.requests-total"), "http_requests_total");
/// assert_eq!(sanitize_metric_name("::x"), "exported_x");
/// ```
pub fn sanitize_metric_name(name: &str) -> String {
    let s = sanitize(name);
    if s.starts_with("__") {
        format!("exported_{}", s.trim_start_matches('_'))
    } else {
        s
    }
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

/// `snake_case`: lower case ASCII letters and digits in words joined by single `_`.
pub(crate) fn is_snake_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('_').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && name.as_bytes()[0].is_ascii_lowercase()
}

/// The `snake_case` form of a syntactically valid name: `EtlRows__Total_` → `etl_rows_total`.
pub(crate) fn to_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, 'x');
        if out.len() > 1 {
            out.insert(1, '_');
        }
    }
    out
}

#[cfg(test)]
mod tests;
