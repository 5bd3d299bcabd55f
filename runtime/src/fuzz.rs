//! The parsers that take outside input, reachable from the property tests
//! (`tests/tests/proptests.rs`) and the long fuzzing run (`benches/fuzz`). Not part of
//! the API: hidden, no stability promise, thin wrappers only.

use std::time::Duration;

/// Percent decoding, strict (health names in paths, settings).
pub fn percent_decode(value: &str) -> Result<String, &'static str> {
    crate::percent::decode(value)
}

/// Percent decoding, lenient (URL credentials).
pub fn percent_decode_lossy(value: &str) -> String {
    crate::percent::decode_lossy(value)
}

/// Percent encoding of a path segment or a query value.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::new();
    crate::percent::encode_into(&mut out, value);
    out
}

/// URLs made safe to show: user information and query values hidden.
pub fn redact_urls(text: &str) -> String {
    crate::percent::redact_urls(text)
}

/// The settings readers, on a value as an environment variable would give it.
pub fn setting_duration(text: &str) -> Result<Duration, String> {
    crate::settings::duration(text)
}

/// As [`setting_duration`]: OpenTelemetry's millisecond values.
pub fn setting_millis(text: &str) -> Result<Duration, String> {
    crate::settings::millis(text)
}

/// As [`setting_duration`]: positive whole numbers.
pub fn setting_positive(text: &str) -> Result<usize, String> {
    crate::settings::positive(text)
}

/// As [`setting_duration`]: booleans.
pub fn setting_boolean(text: &str) -> Result<bool, String> {
    crate::settings::boolean(text)
}

/// As [`setting_duration`]: `key=value,…` lists (resource attributes, OTLP headers).
pub fn setting_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    crate::settings::pairs("fuzz", text).map_err(|e| e.to_string())
}

/// Histogram bucket bounds as given in code.
pub fn bucket_bounds(bounds: &[f64]) -> Result<(), String> {
    crate::settings::check_bounds("fuzz", bounds).map_err(|e| e.to_string())
}

/// The SQL statement summary (`SELECT orders`) with its operation and table, for the
/// given system: `postgresql`, `sqlite` or `mysql`.
#[cfg(feature = "sqlx")]
pub fn sql_summary(sql: &str, system: &str) -> (String, Option<String>, Option<String>) {
    let summary = crate::integrations::sqlx::summary::summarize(sql, sql_dialect(system));
    (summary.text, summary.operation, summary.collection)
}

/// The statement with every literal replaced by `?`, for the given system.
#[cfg(feature = "sqlx")]
pub fn sql_sanitize(sql: &str, system: &str) -> String {
    crate::integrations::sqlx::sanitize::sanitize(sql, sql_dialect(system))
}

#[cfg(feature = "sqlx")]
fn sql_dialect(system: &str) -> crate::integrations::sqlx::lexer::Dialect {
    use crate::integrations::sqlx::lexer::Dialect;
    match system {
        "postgresql" => Dialect::POSTGRES,
        "mysql" => Dialect::MYSQL,
        _ => Dialect::SQLITE,
    }
}
