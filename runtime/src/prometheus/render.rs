//! Rendering everything registered, and choosing the format a client asks for.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::text::TextEncoder;

/// `Content-Type` of [`render`]'s output.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of [`render_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Size of the previous output, to allocate the next one once.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(4096);

fn render_with(openmetrics: bool) -> String {
    let mut encoder = TextEncoder::new(openmetrics, LAST_SIZE.load(Ordering::Relaxed) + 1024);
    crate::collect::collect_registered(&|_| true, &mut encoder);
    let out = encoder.finish();
    LAST_SIZE.store(out.len(), Ordering::Relaxed);
    out
}

/// The families whose sample names `keep` accepts, in text format 0.0.4, and the names
/// of the families written.
#[cfg_attr(not(feature = "push"), allow(dead_code))] // the Pushgateway's chosen metrics
pub(crate) fn render_filtered(keep: &dyn Fn(&str) -> bool) -> (String, Vec<String>) {
    let mut encoder = TextEncoder::new(false, 4096);
    let written = crate::collect::collect_registered(keep, &mut encoder);
    (encoder.finish(), written)
}

/// Everything registered, in Prometheus text format 0.0.4.
pub fn render() -> String {
    render_with(false)
}

/// Everything registered, in OpenMetrics 1.0 text format (ends with `# EOF`).
pub fn render_openmetrics() -> String {
    render_with(true)
}

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.
    OpenMetrics,
}

impl Format {
    /// The exact `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// Renders everything registered in this format ([`render`] or [`render_openmetrics`]).
    #[cfg_attr(not(feature = "server"), allow(dead_code))] // the `/metrics` route's
    pub(crate) fn render(self) -> String {
        render_with(self == Format::OpenMetrics)
    }

    /// Picks the format for an `Accept` header: OpenMetrics when it is acceptable
    /// (version absent or 1.0.0) with a quality at least that of the text format,
    /// text 0.0.4 otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut best_om: f32 = 0.0;
        let mut best_text: f32 = 0.0;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q: f32 = 1.0;
            let mut version = None;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    let v = v.trim().trim_matches('"');
                    match k.trim().to_ascii_lowercase().as_str() {
                        // RFC 9110: 0 to 1; anything else (NaN, inf, negative, junk) is not
                        // a preference, and counts as "not acceptable".
                        "q" => {
                            q = v
                                .parse()
                                .ok()
                                .filter(|q| (0.0..=1.0).contains(q))
                                .unwrap_or(0.0);
                        }
                        "version" => version = Some(v.to_owned()),
                        _ => {}
                    }
                }
            }
            match media.as_str() {
                "application/openmetrics-text"
                    if version.as_deref().is_none_or(|v| v == "1.0.0") =>
                {
                    best_om = best_om.max(q);
                }
                "text/plain" | "text/*" | "*/*" => best_text = best_text.max(q),
                _ => {}
            }
        }
        if best_om > 0.0 && best_om >= best_text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn negotiation() {
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus_2)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; version=0.0.1")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        for junk in ["NaN", "inf", "-1", "2", "1e9", ""] {
            let accept = format!("application/openmetrics-text;q={junk},text/plain;q=0.1");
            assert_eq!(Format::negotiate(Some(&accept)), Format::Text, "{accept}");
        }
        for format in [Format::Text, Format::OpenMetrics] {
            assert_eq!(Format::negotiate(Some(format.content_type())), format);
        }
    }
}
