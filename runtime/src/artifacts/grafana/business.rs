//! Business metrics: one panel per declared metric, by its labels; pipelines (a
//! `*_runs_total{status}` counter) get their run outcomes, the time since their last
//! success and their data quality against the alert's level.

use super::{Board, INSTANCE, Panel, uid};
use crate::artifacts::inventory::BusinessMetric;
use crate::artifacts::promql::{ServiceMatch, with_service};
use crate::business::MetricKind;

const SERVICE: ServiceMatch<'static> = ServiceMatch::Regex("$service");

fn join(expr: &str) -> String {
    with_service(expr, Some(&SERVICE))
}

fn by(m: &BusinessMetric) -> String {
    std::iter::once("service_name")
        .chain(m.labels.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(", ")
}

fn legend(m: &BusinessMetric) -> String {
    std::iter::once("service_name")
        .chain(m.labels.iter().map(String::as_str))
        .map(|l| format!("{{{{{l}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn short_help(m: &BusinessMetric) -> &str {
    m.help.lines().next().unwrap_or_default()
}

pub(crate) fn business(
    metrics: &[BusinessMetric],
    service: Option<&str>,
    data_quality_min: f64,
) -> Board {
    let mut b = Board::new(
        "business.json",
        uid("flext-business", &[service.unwrap_or_default()]),
        match service {
            Some(s) => format!("{s}: business metrics"),
            None => "Business metrics".to_owned(),
        },
        "Every #[business_metric] the service declares, and its ETL pipelines. Generated \
         by flext-observability.",
    )
    .service(service)
    .tag("business");
    let pipelines: Vec<&BusinessMetric> = metrics
        .iter()
        .filter(|m| {
            m.kind == MetricKind::Counter
                && m.name.ends_with("_runs_total")
                && m.labels.iter().any(|l| l == "status")
        })
        .collect();
    if !pipelines.is_empty() {
        b.row("Pipelines");
        for m in &pipelines {
            b.add(
                Panel::timeseries(&format!("Runs: {}", m.name), "ops")
                    .query(
                        format!(
                            "sum by ({}) (\n{}\n)",
                            by(m),
                            join(&format!("rate({}{{{INSTANCE}}}[$__rate_interval])", m.name))
                        ),
                        &legend(m),
                    )
                    .describe("Runs per second by status."),
            );
        }
    }
    b.row("Declared metrics");
    for m in metrics {
        if let Some(panel) = metric_panel(m, data_quality_min) {
            b.add(panel);
        }
    }
    b
}

/// The panel of one declared metric: a counter's rate, a gauge's value (a timestamp's
/// age), a histogram's p95; none for an info metric.
fn metric_panel(m: &BusinessMetric, data_quality_min: f64) -> Option<Panel> {
    let (unit, expr) = match m.kind {
        MetricKind::Counter => (
            "ops",
            format!(
                "sum by ({}) (\n{}\n)",
                by(m),
                join(&format!("rate({}{{{INSTANCE}}}[$__rate_interval])", m.name))
            ),
        ),
        MetricKind::Gauge if m.name.ends_with("_timestamp_seconds") => (
            "s",
            format!(
                "time() - max by ({}) (\n{}\n)",
                by(m),
                join(&format!("{}{{{INSTANCE}}} > 0", m.name))
            ),
        ),
        MetricKind::Gauge => (
            if m.name.ends_with("_ratio") {
                "percentunit"
            } else {
                "short"
            },
            format!(
                "max by ({}) (\n{}\n)",
                by(m),
                join(&format!("{}{{{INSTANCE}}}", m.name))
            ),
        ),
        MetricKind::Histogram => (
            if m.name.ends_with("_seconds") {
                "s"
            } else {
                "short"
            },
            format!(
                "histogram_quantile(0.95, sum by (le, {}) (\n{}\n))",
                by(m),
                join(&format!(
                    "rate({}_bucket{{{INSTANCE}}}[$__rate_interval])",
                    m.name
                ))
            ),
        ),
        MetricKind::Info => return None,
    };
    let title = match m.kind {
        MetricKind::Histogram => format!("{} (p95)", m.name),
        MetricKind::Gauge if m.name.ends_with("_timestamp_seconds") => {
            format!("{} (age)", m.name)
        }
        _ => m.name.clone(),
    };
    let mut panel = Panel::timeseries(&title, unit)
        .query(expr, &legend(m))
        .describe(short_help(m));
    if m.name.contains("quality") && m.name.ends_with("_ratio") {
        panel = panel
            .threshold(data_quality_min)
            .range(Some(0.0), Some(1.0));
    }
    Some(panel)
}
