//! Durations written as text: `"250ms"`, `"2s"`, `"1m30s"`, `"1 s 500 ms"`, `"1h"`.
//!
//! One grammar for every duration the project reads: the macros parse attribute values
//! (`#[health_check(timeout = "250ms")]`, bucket bounds) at compile time and the runtime
//! parses environment variables (`HEALTH_CHECK_INTERVAL=30s`) at start-up, with the same
//! function, so a value means the same thing wherever it is written.
//!
//! A duration is one or more `<number><unit>` parts, added up; spaces may separate parts
//! and a number from its unit. Numbers are decimal without a sign (`1.5`); units are
//! `ns`, `us` (or `µs`), `ms`, `s`, `m` and `h`. A number without a unit is accepted as
//! seconds only where [`BareNumber::Seconds`] says so (environment variables, where
//! `30` is the custom); in code a unit is required ([`BareNumber::Rejected`]).
//!
//! ```
//! use std::time::Duration;
//! use flext_observability_naming::duration::{BareNumber, parse_duration, parse_seconds};
//!
//! assert_eq!(parse_duration("1m30s", BareNumber::Rejected), Ok(Duration::from_secs(90)));
//! assert_eq!(parse_seconds("250ms", BareNumber::Rejected), Ok(0.25));
//! assert_eq!(parse_duration("30", BareNumber::Seconds), Ok(Duration::from_secs(30)));
//! let err = parse_seconds("30", BareNumber::Rejected).unwrap_err();
//! assert_eq!(err.to_string(), "duration `30` has no unit: write `30s` or `30ms`");
//! ```

use std::fmt;
use std::time::Duration;

/// Whether a number without a unit (`"30"`) is a number of seconds or an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BareNumber {
    /// `"30"` is 30 seconds (environment variables, where plain seconds are the custom).
    Seconds,
    /// `"30"` is an error asking for a unit (attributes in code, where a unit makes the
    /// value readable and `"30"` could mean milliseconds as well as seconds).
    Rejected,
}

/// Why a text is not a duration; the message says how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError {
    message: String,
}

impl DurationError {
    fn new(message: String) -> Self {
        DurationError { message }
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DurationError {}

/// Parses `text` into seconds (finite and not negative).
///
/// # Errors
///
/// When `text` is empty, has a part without a number or with an unknown unit, or is a
/// bare number where `bare` is [`BareNumber::Rejected`].
pub fn parse_seconds(text: &str, bare: BareNumber) -> Result<f64, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::new(match bare {
            BareNumber::Seconds => {
                "empty duration: write it as `30s`, `250ms`, `1m` or plain seconds".into()
            }
            BareNumber::Rejected => {
                "empty duration: write it as `250ms`, `2s`, `1m` or `1h`".into()
            }
        }));
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(DurationError::new(format!(
                "invalid duration `{text}`: expected a number before `{rest}`"
            )));
        }
        let number = &rest[..number_len];
        // Digits and dots only, so no sign, exponent, `inf` or `NaN` gets through.
        let value: f64 = number.parse().map_err(|_| {
            DurationError::new(format!(
                "invalid duration `{text}`: `{number}` is not a number"
            ))
        })?;
        rest = rest[number_len..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim_end();
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            // A bare number is the whole text, or it is a missing unit.
            "" if bare == BareNumber::Seconds && number_len == text.len() => 1.0,
            "" => {
                return Err(DurationError::new(format!(
                    "duration `{text}` has no unit: write `{number}s` or `{number}ms`"
                )));
            }
            other => {
                return Err(DurationError::new(format!(
                    "unknown unit `{other}` in duration `{text}`: use ns, us, ms, s, m or h"
                )));
            }
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    if total.is_finite() {
        Ok(total)
    } else {
        Err(DurationError::new(format!(
            "duration `{text}` is out of range"
        )))
    }
}

/// Parses `text` into a [`Duration`] (rounded to the nanosecond).
///
/// # Errors
///
/// As [`parse_seconds`], and when the duration does not fit a [`Duration`].
pub fn parse_duration(text: &str, bare: BareNumber) -> Result<Duration, DurationError> {
    let seconds = parse_seconds(text, bare)?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| DurationError::new(format!("duration `{}` is out of range", text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(text: &str) -> f64 {
        parse_seconds(text, BareNumber::Rejected).unwrap()
    }

    fn error(text: &str, bare: BareNumber) -> String {
        parse_seconds(text, bare).unwrap_err().to_string()
    }

    #[test]
    fn units_and_sums() {
        assert!((seconds("250ms") - 0.25).abs() < 1e-12);
        assert!((seconds("2s") - 2.0).abs() < 1e-12);
        assert!((seconds("1m30s") - 90.0).abs() < 1e-12);
        assert!((seconds("1h") - 3600.0).abs() < 1e-12);
        assert!((seconds("500us") - 0.0005).abs() < 1e-15);
        assert!((seconds("500µs") - 0.0005).abs() < 1e-15);
        assert!((seconds("10ns") - 1e-8).abs() < 1e-18);
        assert!((seconds("1.5s") - 1.5).abs() < 1e-12);
        assert!((seconds(" 1 s 500 ms ") - 1.5).abs() < 1e-12);
        assert_eq!(
            parse_duration("1m30s", BareNumber::Rejected),
            Ok(Duration::from_secs(90))
        );
    }

    #[test]
    fn bare_numbers() {
        assert_eq!(
            parse_duration("30", BareNumber::Seconds),
            Ok(Duration::from_secs(30))
        );
        assert_eq!(
            parse_duration(" 1.5 ", BareNumber::Seconds),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            error("10", BareNumber::Rejected),
            "duration `10` has no unit: write `10s` or `10ms`"
        );
        // Only a whole bare number is seconds: a missing unit after other parts is not.
        assert_eq!(
            error("1m 30", BareNumber::Seconds),
            "duration `1m 30` has no unit: write `30s` or `30ms`"
        );
    }

    #[test]
    fn errors() {
        for bare in [BareNumber::Seconds, BareNumber::Rejected] {
            assert!(error("", bare).starts_with("empty duration"));
            assert!(error("  ", bare).starts_with("empty duration"));
            assert_eq!(
                error("2 parsecs", bare),
                "unknown unit `parsecs` in duration `2 parsecs`: use ns, us, ms, s, m or h"
            );
            assert_eq!(
                error("ms", bare),
                "invalid duration `ms`: expected a number before `ms`"
            );
            assert_eq!(
                error("-1s", bare),
                "invalid duration `-1s`: expected a number before `-1s`"
            );
            assert!(error("-1", bare).contains("expected a number"));
            assert!(error("+1", bare).contains("expected a number"));
            assert!(error("inf", bare).contains("expected a number"));
            assert!(error("NaN", bare).contains("expected a number"));
            assert!(error("1e3s", bare).contains("unknown unit `e`"));
            assert_eq!(
                error("1.2.3s", bare),
                "invalid duration `1.2.3s`: `1.2.3` is not a number"
            );
        }
        assert!(
            parse_duration("9999999999999999999999h", BareNumber::Rejected)
                .unwrap_err()
                .to_string()
                .contains("out of range")
        );
    }
}
