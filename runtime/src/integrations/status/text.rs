//! How the page writes values: HTML escaping, durations, rates, ratios, sizes, times,
//! and the inline SVG sparkline. Pure functions.

use std::fmt::Write as _;
use std::time::SystemTime;

/// Appends `s` escaped for HTML text and attribute values.
pub(super) fn esc(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(escaped);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Three significant digits, no exponent: `0.0123`, `1.23`, `123`, `12300`.
pub(super) fn sig3(out: &mut String, value: f64) {
    // A finite f64's decimal exponent is within ±324.
    #[allow(clippy::cast_possible_truncation)]
    let magnitude = if value == 0.0 || !value.is_finite() {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    let decimals = usize::try_from((2 - magnitude).max(0)).unwrap_or(0);
    let _ = write!(out, "{value:.decimals$}");
}

/// A duration in seconds as `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`.
pub(super) fn seconds(out: &mut String, s: f64) {
    let (value, unit) = if s < 1e-6 {
        (s * 1e9, "ns")
    } else if s < 1e-3 {
        (s * 1e6, "µs")
    } else if s < 1.0 {
        (s * 1e3, "ms")
    } else {
        (s, "s")
    };
    sig3(out, value);
    out.push(' ');
    out.push_str(unit);
}

/// A rate as `12.3/s`.
pub(super) fn rate(out: &mut String, per_second: f64) {
    sig3(out, per_second);
    out.push_str("/s");
}

/// A ratio as a percentage: `0.12 %`, `100 %`.
pub(super) fn percent(out: &mut String, ratio: f64) {
    sig3(out, ratio * 100.0);
    out.push_str(" %");
}

/// Bytes as `12.3 MiB`.
pub(super) fn bytes(out: &mut String, n: f64) {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    sig3(out, value);
    out.push(' ');
    out.push_str(units[unit]);
}

/// A span of time as `3d 4h`, `2h 5m`, `4m 10s`, `12s`.
pub(super) fn uptime(out: &mut String, seconds: f64) {
    // Whole seconds, saturating: an uptime is never negative or near 2^64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = seconds.max(0.0) as u64;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let _ = match (d, h, m) {
        (0, 0, 0) => write!(out, "{sec}s"),
        (0, 0, _) => write!(out, "{m}m {sec}s"),
        (0, _, _) => write!(out, "{h}h {m}m"),
        _ => write!(out, "{d}d {h}h"),
    };
}

/// A time as RFC 3339 inside `<time>`, with the seconds it is old.
pub(super) fn time(out: &mut String, at: SystemTime, now: SystemTime) {
    let stamp = crate::json::rfc3339(at);
    let _ = write!(out, "<time datetime=\"{stamp}\">");
    match now.duration_since(at) {
        Ok(age) => {
            uptime(out, age.as_secs_f64());
            out.push_str(" ago");
        }
        Err(_) => out.push_str(&stamp),
    }
    out.push_str("</time>");
}

/// An inline SVG line of `values` (oldest first), scaled to its highest point, with a
/// text alternative; an em dash without any value above zero.
pub(super) fn sparkline(out: &mut String, values: &[f64], label: &str) {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    let max = values.iter().copied().fold(0.0, f64::max);
    if values.len() < 2 || max <= 0.0 {
        out.push('—');
        return;
    }
    out.push_str("<svg class=\"spark\" width=\"120\" height=\"24\" viewBox=\"0 0 120 24\" role=\"img\" aria-label=\"");
    esc(out, label);
    out.push_str(
        "\"><polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"",
    );
    let step = W / (values.len() - 1) as f64;
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let y = (H - 1.0) - v / max * (H - 2.0);
        let _ = write!(out, "{:.1},{:.1}", i as f64 * step, y);
    }
    out.push_str("\"/></svg>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::new();
        f(&mut out);
        out
    }

    #[test]
    fn values_read_at_a_glance() {
        assert_eq!(
            with(|o| esc(o, "<a href=\"x\">&'</a>")),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(with(|o| seconds(o, 0.004_56)), "4.56 ms");
        assert_eq!(with(|o| seconds(o, 0.000_012_3)), "12.3 µs");
        assert_eq!(with(|o| seconds(o, 2.0)), "2.00 s");
        assert_eq!(with(|o| seconds(o, 0.000_000_85)), "850 ns");
        assert_eq!(with(|o| rate(o, 1234.0)), "1234/s");
        assert_eq!(with(|o| percent(o, 0.0012)), "0.120 %");
        assert_eq!(with(|o| bytes(o, 12.5 * 1024.0 * 1024.0)), "12.5 MiB");
        assert_eq!(with(|o| uptime(o, 3.0 * 86_400.0 + 4.0 * 3600.0)), "3d 4h");
        assert_eq!(with(|o| uptime(o, 250.0)), "4m 10s");
    }

    #[test]
    fn sparklines_scale_to_their_highest_point() {
        let svg = with(|o| sparkline(o, &[0.0, 2.0, 1.0], "calls"));
        assert!(
            svg.contains("points=\"0.0,23.0 60.0,1.0 120.0,12.0\""),
            "{svg}"
        );
        assert!(svg.contains("role=\"img\" aria-label=\"calls\""));
        assert!(with(|o| sparkline(o, &[0.0, 0.0], "calls")).contains('—'));
    }
}
