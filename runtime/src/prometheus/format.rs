//! Pure formatting functions of the exposition formats.

/// Appends `value` as a label value, escaping `\`, `"` and newline.
pub(crate) fn push_label_value(out: &mut String, value: &str) {
    push_escaped(out, value, true);
}

/// Appends `help` as HELP text. Text 0.0.4 escapes `\` and newline; OpenMetrics also `"`.
pub(crate) fn push_help(out: &mut String, help: &str, openmetrics: bool) {
    push_escaped(out, help, openmetrics);
}

fn push_escaped(out: &mut String, s: &str, quote: bool) {
    let needs = s
        .bytes()
        .any(|b| b == b'\\' || b == b'\n' || (quote && b == b'"'));
    if !needs {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

pub(crate) fn push_u64(out: &mut String, value: u64) {
    out.push_str(itoa::Buffer::new().format(value));
}

pub(crate) fn push_i64(out: &mut String, value: i64) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends a sample value: integers without a fraction, others in shortest round-trip form.
pub(crate) fn push_f64(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)] // |value| < 1e15 and integral
        push_i64(out, value as i64);
    } else {
        out.push_str(ryu::Buffer::new().format_finite(value));
    }
}

/// Formats a bucket bound or quantile like Go's `strconv.FormatFloat(v, 'g', -1, 64)`,
/// the form Prometheus' own clients write in `le`, so rules and dashboards that match
/// `le="0.25"` or `le="1e-05"` see the same strings from us.
pub(crate) fn go_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if value == 0.0 {
        return "0".into();
    }
    // `{:e}` gives the shortest round-trip digits: "2.5e-5", "1e0", "1.2345e3".
    let sci = format!("{value:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    // strconv uses %e form when the exponent is < -4 or >= 6 for shortest output.
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exp).expect("non-negative") + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_strconv_g() {
        // Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
        let cases = [
            (0.005, "0.005"),
            (1.0, "1"),
            (2.5, "2.5"),
            (10.0, "10"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000_025, "2.5e-05"),
            (1e20, "1e+20"),
            (1e6, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (123_456.0, "123456"),
            (0.1, "0.1"),
            (7.5, "7.5"),
            (-0.25, "-0.25"),
            (0.0, "0"),
            (f64::INFINITY, "+Inf"),
        ];
        for (value, want) in cases {
            assert_eq!(go_float(value), want, "{value}");
        }
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        push_label_value(&mut s, "a\\b\"c\nd");
        assert_eq!(s, r#"a\\b\"c\nd"#);
        let mut h = String::new();
        push_help(&mut h, "a\\b\"c\nd", false);
        assert_eq!(h, r#"a\\b"c\nd"#);
    }

    #[test]
    fn sample_values() {
        for (v, want) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (1e-7, "1e-7"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
            (-3.0, "-3"),
        ] {
            let mut s = String::new();
            push_f64(&mut s, v);
            assert_eq!(s, want);
        }
    }
}
