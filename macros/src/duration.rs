//! Durations written as strings: `"250ms"`, `"2s"`, `"1m30s"`, `"1h"`, `"500us"`.

/// Parses a duration into seconds.
pub(crate) fn parse_seconds(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: write it as `250ms`, `2s`, `1m` or `1h`".into());
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(format!(
                "invalid duration `{text}`: expected a number before `{rest}`"
            ));
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| {
            format!(
                "invalid duration `{text}`: `{}` is not a number",
                &rest[..number_len]
            )
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
            "" => {
                return Err(format!(
                    "duration `{text}` has no unit: write `{value}s` or `{value}ms`"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit `{other}` in duration `{text}`: use ns, us, ms, s, m or h"
                ));
            }
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    fn durations() {
        assert!((parse_seconds("250ms").unwrap() - 0.25).abs() < 1e-12);
        assert!((parse_seconds("2s").unwrap() - 2.0).abs() < 1e-12);
        assert!((parse_seconds("1m30s").unwrap() - 90.0).abs() < 1e-12);
        assert!((parse_seconds("500us").unwrap() - 0.0005).abs() < 1e-15);
        assert!(parse_seconds("10").unwrap_err().contains("no unit"));
        assert!(
            parse_seconds("10 parsecs")
                .unwrap_err()
                .contains("unknown unit `parsecs`")
        );
        assert!((parse_seconds("1 s 500 ms").unwrap() - 1.5).abs() < 1e-12);
        assert!(parse_seconds("").is_err());
    }
}
