//! The few JSON and time-formatting pieces the health documents and the JSON log lines
//! need, without a serialization framework.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Appends `s` as a JSON string literal.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    escape(out, s);
    out.push('"');
}

/// Appends `s` escaped for the inside of a JSON string literal: runs that need no escape
/// are copied whole.
pub(crate) fn escape(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push_str(escaped);
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
}

/// Appends a number; JSON has no NaN or infinity, so those become `null`.
#[cfg_attr(not(feature = "server"), allow(dead_code))] // the health documents
pub(crate) fn number(out: &mut String, value: f64) {
    if value.is_finite() {
        if value.fract() == 0.0 && value.abs() < 1e15 {
            // Integral values print without a fraction (`42`, not `42.0`).
            #[allow(clippy::cast_possible_truncation)] // |value| < 1e15 fits an i64
            let integral = value as i64;
            let _ = write!(out, "{integral}");
        } else {
            out.push_str(ryu::Buffer::new().format_finite(value));
        }
    } else {
        out.push_str("null");
    }
}

/// `"key":` after a comma when `first` is false.
#[cfg_attr(not(feature = "server"), allow(dead_code))] // the health documents
pub(crate) fn key(out: &mut String, first: &mut bool, name: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    string(out, name);
    out.push(':');
}

/// RFC 3339 in UTC with milliseconds: `2026-11-23T03:26:42.123Z`.
#[cfg_attr(not(feature = "server"), allow(dead_code))] // the health documents
pub(crate) fn rfc3339(time: SystemTime) -> String {
    rfc3339_with(time, false)
}

fn rfc3339_with(time: SystemTime, micros: bool) -> String {
    let mut out = String::with_capacity(27);
    rfc3339_to(&mut out, time, micros);
    out
}

/// Appends `time` in RFC 3339, UTC, with microseconds: `2026-11-23T03:26:42.123456Z`
/// (the log lines' timestamps, written in place).
#[cfg_attr(not(feature = "logs"), allow(dead_code))]
pub(crate) fn rfc3339_micros_to(out: &mut String, time: SystemTime) {
    rfc3339_to(out, time, true);
}

fn rfc3339_to(out: &mut String, time: SystemTime, micros: bool) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let (h, min, sec) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let _ = if micros {
        let fraction = since.subsec_micros();
        write!(
            out,
            "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}.{fraction:06}Z"
        )
    } else {
        let fraction = since.subsec_millis();
        write!(
            out,
            "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}.{fraction:03}Z"
        )
    };
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 1..=31, 1..=12
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn strings_and_numbers() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
        let mut out = String::new();
        number(&mut out, 42.0);
        out.push(' ');
        number(&mut out, 0.25);
        out.push(' ');
        number(&mut out, f64::NAN);
        assert_eq!(out, "42 0.25 null");
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_404_402_123);
        assert_eq!(rfc3339(t), "2026-11-23T03:26:42.123Z");
        let leap = UNIX_EPOCH + Duration::from_hours(264_384); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
