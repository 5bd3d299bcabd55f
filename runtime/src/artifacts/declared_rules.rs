//! Alerting rules for the thresholds declared with `alert(..)` on `#[monitor]` and
//! `#[business_metric]`: one rule each, with the condition, window, `for`, labels and
//! annotations the in-process evaluation (feature `alerts`) uses, so that Prometheus
//! and the process fire on the same data.
//!
//! In-process evaluation measures the calls of its own process; the rules do the same
//! per instance (`by (service_name, instance, …)`), so one alert per instance, labelled
//! alike. The `for` doubles as `keep_firing_for` (Prometheus ≥ 2.42): an alert resolves
//! only when its condition has been false for as long, as in process.

use std::fmt::Write as _;

use super::promql::{ServiceMatch, number, quote, with_service};
use super::text::{block, pair, scalar};
use crate::objectives::{AlertCondition, AlertEntry, AlertSubject, DeclaredAlert, duration_text};

/// Appends the `flext-alerts` group (nothing without declared alerts).
pub(crate) fn group(out: &mut String, entries: &[&'static AlertEntry], service: Option<&str>) {
    if entries.iter().all(|e| e.alerts.is_empty()) {
        return;
    }
    let name = match service {
        Some(s) => format!("flext-alerts:{s}"),
        None => "flext-alerts".to_owned(),
    };
    let _ = writeln!(out, "  - name: {}", scalar(&name));
    out.push_str("    rules:\n");
    for entry in entries {
        for alert in entry.alerts {
            rule(out, entry.subject, alert, service);
        }
    }
}

/// The expression of one declared alert.
pub(crate) fn expr(subject: AlertSubject, alert: &DeclaredAlert, service: Option<&str>) -> String {
    let window = duration_text(alert.over);
    let level = number(alert.condition.level());
    let op = alert.condition.operator();
    match subject {
        AlertSubject::Function { function, module } => {
            let mut matchers = format!("function={},module={}", quote(function), quote(module));
            if let Some(s) = service {
                let _ = write!(matchers, ",service_name={}", quote(s));
            }
            let by = "service_name, instance, function";
            match alert.condition {
                AlertCondition::ErrorRateAbove(_) => format!(
                    "sum by ({by}) (rate(function_calls_total{{{matchers},result=\"error\"}}[{window}]))\n/\n\
                     sum by ({by}) (rate(function_calls_total{{{matchers},result=~\"ok|error\"}}[{window}]))\n> {level}"
                ),
                AlertCondition::ErrorsAbove(_) => format!(
                    "sum by ({by}) (increase(function_calls_total{{{matchers},result=\"error\"}}[{window}]))\n> {level}"
                ),
                AlertCondition::LatencyAbove { quantile, .. } => format!(
                    "histogram_quantile({}, sum by ({by}, le) (rate(function_calls_duration_seconds_bucket{{{matchers}}}[{window}])))\n> {level}",
                    number(quantile)
                ),
                // The macro gives functions none of these.
                AlertCondition::Below(_) | AlertCondition::Above(_) => String::new(),
            }
        }
        AlertSubject::Metric { name, counter } => {
            let sm = service.map(ServiceMatch::Exact);
            let series = if counter {
                format!("increase({name}[{window}])")
            } else {
                name.to_owned()
            };
            format!("{}\n{op} {level}", with_service(&series, sm.as_ref()))
        }
    }
}

fn rule(out: &mut String, subject: AlertSubject, alert: &DeclaredAlert, service: Option<&str>) {
    let _ = writeln!(out, "      - alert: {}", alert.name);
    block(out, 8, "expr", &expr(subject, alert, service));
    if !alert.hold.is_zero() {
        let hold = duration_text(alert.hold);
        pair(out, 8, "for", &hold);
        pair(out, 8, "keep_firing_for", &hold);
    }
    out.push_str("        labels:\n");
    pair(out, 10, "severity", alert.severity.as_str());
    for (k, v) in alert.labels {
        pair(out, 10, k, v);
    }
    out.push_str("        annotations:\n");
    pair(out, 10, "summary", &alert.summary_template(subject));
    pair(out, 10, "description", &alert.description_template(subject));
    if !alert.runbook_url.is_empty() {
        pair(out, 10, "runbook_url", alert.runbook_url);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::objectives::Severity;

    static ALERTS: [DeclaredAlert; 2] = [
        DeclaredAlert {
            name: "ChargeCardErrorRate",
            condition: AlertCondition::ErrorRateAbove(0.05),
            over: Duration::from_secs(10),
            hold: Duration::from_secs(2),
            severity: Severity::Page,
            summary: "",
            description: "",
            runbook_url: "https://runbooks.example.com/charge",
            labels: &[("team", "payments")],
        },
        DeclaredAlert {
            name: "SlowCharge",
            condition: AlertCondition::LatencyAbove {
                quantile: 0.99,
                seconds: 5.0,
            },
            over: Duration::from_mins(5),
            hold: Duration::ZERO,
            severity: Severity::Ticket,
            summary: "",
            description: "",
            runbook_url: "",
            labels: &[],
        },
    ];
    static FUNCTION: AlertEntry = AlertEntry {
        subject: AlertSubject::Function {
            function: "charge_card",
            module: "shop",
        },
        alerts: &ALERTS,
        file: "shop.rs",
        line: 1,
    };
    static QUALITY: [DeclaredAlert; 1] = [DeclaredAlert {
        name: "LowDataQuality",
        condition: AlertCondition::Below(0.95),
        over: Duration::ZERO,
        hold: Duration::from_mins(1),
        severity: Severity::Ticket,
        summary: "",
        description: "",
        runbook_url: "",
        labels: &[],
    }];
    static METRIC: AlertEntry = AlertEntry {
        subject: AlertSubject::Metric {
            name: "data_quality_ratio",
            counter: false,
        },
        alerts: &QUALITY,
        file: "shop.rs",
        line: 9,
    };

    #[test]
    fn one_rule_per_declared_alert() {
        let mut out = String::new();
        group(&mut out, &[&FUNCTION, &METRIC], Some("shop"));
        assert!(
            out.starts_with("  - name: \"flext-alerts:shop\"\n"),
            "{out}"
        );
        assert_eq!(out.matches("      - alert: ").count(), 3);
        assert!(
            out.contains(r#"rate(function_calls_total{function="charge_card",module="shop",service_name="shop",result=~"ok|error"}[10s]))"#),
            "{out}"
        );
        assert!(
            out.contains("histogram_quantile(0.99, sum by (service_name, instance, function, le)")
        );
        assert!(
            out.contains("for: \"2s\"\n        keep_firing_for: \"2s\"\n"),
            "{out}"
        );
        assert!(out.contains("          team: payments\n"), "{out}");
        assert!(out.contains("runbook_url: \"https://runbooks.example.com/charge\""));
        assert!(
            out.contains(
                "(data_quality_ratio)\n          * on (instance, job) group_left (service_name)"
            ),
            "{out}"
        );
        assert!(out.contains("\n          < 0.95\n"), "{out}");
    }

    #[test]
    fn nothing_declared_nothing_written() {
        let mut out = String::new();
        group(&mut out, &[], None);
        assert!(out.is_empty());
    }
}
