//! Alerting rules for what the catalogue holds besides objectives: health checks, the
//! built-in CPU, memory and disk checks, and business metrics that follow the pipeline
//! naming conventions.
//!
//! | alert | when | severity |
//! |---|---|---|
//! | `HealthCheckFailing` | a critical `#[health_check]` unhealthy for 1m | page |
//! | `HealthCheckFailing` | a non-critical one unhealthy for 5m | ticket |
//! | `CpuAboveThreshold`, `MemoryAboveThreshold`, `DiskAboveThreshold` | the built-in check degraded (above its warn level) for 10m / unhealthy (above its fail level) for 5m | info / ticket |
//! | `PipelineFailureRate` | a `*_runs_total{status}` counter: failed runs above the ratio (default 10 %) over 1h, for 5m | ticket |
//! | `BatchRunTooOld` | a `*_last_success_timestamp_seconds` gauge older than the age (default 26h) | ticket |
//! | `DataQualityLow` | a gauge named `*quality*_ratio` below the level (default 0.95), for 5m | ticket |
//!
//! A business metric that declares its own `alert(..)` gets only those (see
//! `declared_rules`), none of the conventions' rules.
//!
//! The check levels are the ones the service was configured with (`cpu_threshold_percent`
//! and friends): the rules read the checks' status, not the raw usage, so they follow
//! the configuration without repeating it. None of these series carries the service's
//! name, so the rules join it from `build_info` by target.

use std::fmt::Write as _;
use std::time::Duration;

use super::inventory::{BusinessMetric, Inventory};
use super::promql::{ServiceMatch, duration, number, quote, regex_escape, with_service};
use super::text::{block, pair, scalar};
use crate::business::MetricKind;

/// The levels the seed rules compare against.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Levels {
    pub(crate) pipeline_failure_ratio: f64,
    pub(crate) batch_max_age: Duration,
    pub(crate) data_quality_min: f64,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            pipeline_failure_ratio: 0.1,
            batch_max_age: Duration::from_hours(26),
            data_quality_min: 0.95,
        }
    }
}

struct Alert<'a> {
    name: &'a str,
    expr: String,
    for_: Option<&'a str>,
    /// How long it keeps firing once its condition is false (Prometheus ≥ 2.42).
    keep_firing_for: Option<&'a str>,
    severity: &'a str,
    summary: String,
    description: String,
}

fn write_alert(out: &mut String, a: &Alert<'_>) {
    let _ = writeln!(out, "      - alert: {}", a.name);
    block(out, 8, "expr", &a.expr);
    if let Some(f) = a.for_ {
        pair(out, 8, "for", f);
    }
    if let Some(f) = a.keep_firing_for {
        pair(out, 8, "keep_firing_for", f);
    }
    out.push_str("        labels:\n");
    pair(out, 10, "severity", a.severity);
    out.push_str("        annotations:\n");
    pair(out, 10, "summary", &a.summary);
    pair(out, 10, "description", &a.description);
}

fn group_header(out: &mut String, name: &str, service: Option<&str>) {
    let full = match service {
        Some(s) => format!("{name}:{s}"),
        None => name.to_owned(),
    };
    let _ = writeln!(out, "  - name: {}", scalar(&full));
    out.push_str("    rules:\n");
}

/// Appends the health, system and business groups the inventory calls for.
pub(crate) fn groups(out: &mut String, inv: &Inventory, service: Option<&str>, levels: &Levels) {
    let sm = service.map(ServiceMatch::Exact);
    let sm = sm.as_ref();
    if !inv.checks.is_empty() {
        group_header(out, "flext-health", service);
        for (critical, severity, for_) in [(true, "page", "1m"), (false, "ticket", "5m")] {
            let names: Vec<String> = inv
                .checks
                .iter()
                .filter(|c| c.critical == critical)
                .map(|c| regex_escape(&c.name))
                .collect();
            if names.is_empty() {
                continue;
            }
            let selector = format!(
                "health_check_status{{check=~{},critical=\"{critical}\",status=\"unhealthy\"}}",
                quote(&names.join("|"))
            );
            write_alert(
                out,
                &Alert {
                    name: "HealthCheckFailing",
                    expr: format!(
                        "max by (service_name, check) (\n{}\n) == 1",
                        with_service(&selector, sm)
                    ),
                    for_: Some(for_),
                    // In-process alerting resolves after the same hold: both agree.
                    keep_firing_for: Some(for_),
                    severity,
                    summary: format!(
                        "{{{{ $labels.service_name }}}}: {} health check {{{{ $labels.check }}}} is failing",
                        if critical { "critical" } else { "non-critical" }
                    ),
                    description: format!(
                        "The check has been unhealthy on at least one instance for {for_}; /health on the instances names the cause."
                    ),
                },
            );
        }
    }
    if inv.system_checks {
        group_header(out, "flext-system", service);
        for (alert, check, what) in [
            ("CpuAboveThreshold", "cpu:utilization", "CPU"),
            ("MemoryAboveThreshold", "memory:utilization", "memory"),
            ("DiskAboveThreshold", "disk:utilization", "disk"),
        ] {
            for (status, severity, for_, level) in [
                ("degraded", "info", "10m", "warn"),
                ("unhealthy", "ticket", "5m", "fail"),
            ] {
                let selector =
                    format!("health_check_status{{check=\"{check}\",status=\"{status}\"}}");
                write_alert(
                    out,
                    &Alert {
                        name: alert,
                        expr: format!(
                            "max by (service_name, instance) (\n{}\n) == 1",
                            with_service(&selector, sm)
                        ),
                        for_: Some(for_),
                        keep_firing_for: None,
                        severity,
                        summary: format!(
                            "{{{{ $labels.service_name }}}} on {{{{ $labels.instance }}}}: {what} usage above its {level} level"
                        ),
                        description: format!(
                            "The built-in `{check}` check has been {status} for {for_} (levels: cpu_threshold_percent, memory_threshold_percent, disk_threshold_percent or their environment variables)."
                        ),
                    },
                );
            }
        }
    }
    let business: Vec<Alert<'static>> = inv
        .business
        .iter()
        // A metric with `alert(..)` of its own is watched as declared (`flext-alerts`),
        // not by the naming conventions as well.
        .filter(|m| !declares_alerts(inv, &m.name))
        .filter_map(|m| business_alert(m, sm, levels))
        .collect();
    if !business.is_empty() {
        group_header(out, "flext-business", service);
        for a in &business {
            write_alert(out, a);
        }
    }
}

/// Whether the business metric `name` carries `alert(..)`.
fn declares_alerts(inv: &Inventory, name: &str) -> bool {
    inv.alerts.iter().any(|e| {
        matches!(e.subject, crate::objectives::AlertSubject::Metric { name: n, .. } if n == name)
            && !e.alerts.is_empty()
    })
}

/// The labels of `m` other than `skip`, with `service_name` first: what an alert on it
/// keeps.
fn keep(m: &BusinessMetric, skip: &str) -> String {
    std::iter::once("service_name")
        .chain(m.labels.iter().map(String::as_str).filter(|l| *l != skip))
        .collect::<Vec<_>>()
        .join(", ")
}

fn business_alert(
    m: &BusinessMetric,
    sm: Option<&ServiceMatch<'_>>,
    levels: &Levels,
) -> Option<Alert<'static>> {
    let name = m.name.as_str();
    if m.kind == MetricKind::Counter
        && name.ends_with("_runs_total")
        && m.labels.iter().any(|l| l == "status")
    {
        let by = keep(m, "status");
        let failed = with_service(
            &format!("increase({name}{{status=~\"failure|failed|error\"}}[1h])"),
            sm,
        );
        let all = with_service(&format!("increase({name}[1h])"), sm);
        return Some(Alert {
            name: "PipelineFailureRate",
            expr: format!(
                "sum by ({by}) (\n{failed}\n)\n/\nsum by ({by}) (\n{all}\n)\n> {}",
                number(levels.pipeline_failure_ratio)
            ),
            for_: Some("5m"),
            keep_firing_for: None,
            severity: "ticket",
            summary: format!(
                "{{{{ $labels.service_name }}}}: more than {}% of `{name}` runs failed over the last hour",
                number(levels.pipeline_failure_ratio * 100.0)
            ),
            description: "{{ $value | humanizePercentage }} of the runs of the last hour failed."
                .to_owned(),
        });
    }
    if m.kind == MetricKind::Gauge && name.ends_with("_last_success_timestamp_seconds") {
        let by = keep(m, "");
        let age = levels.batch_max_age;
        return Some(Alert {
            name: "BatchRunTooOld",
            expr: format!(
                "time() - max by ({by}) (\n{}\n) > {}",
                with_service(name, sm),
                age.as_secs()
            ),
            for_: None,
            keep_firing_for: None,
            severity: "ticket",
            summary: format!(
                "{{{{ $labels.service_name }}}}: no successful run recorded in `{name}` for {}",
                duration(age)
            ),
            description: "The last successful run was {{ $value | humanizeDuration }} ago."
                .to_owned(),
        });
    }
    if m.kind == MetricKind::Gauge && name.contains("quality") && name.ends_with("_ratio") {
        let by = keep(m, "");
        return Some(Alert {
            name: "DataQualityLow",
            expr: format!(
                "min by ({by}) (\n{}\n) < {}",
                with_service(name, sm),
                number(levels.data_quality_min)
            ),
            for_: Some("5m"),
            keep_firing_for: None,
            severity: "ticket",
            summary: format!(
                "{{{{ $labels.service_name }}}}: `{name}` below {}",
                number(levels.data_quality_min)
            ),
            description: "Data quality is {{ $value }} (from 0 to 1).".to_owned(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::inventory::Check;

    fn metric(name: &str, kind: MetricKind, labels: &[&str]) -> BusinessMetric {
        BusinessMetric {
            name: name.into(),
            help: String::new(),
            kind,
            labels: labels.iter().map(|&l| l.to_owned()).collect(),
        }
    }

    #[test]
    fn what_the_catalogue_holds() {
        let inv = Inventory {
            checks: vec![
                Check {
                    name: "db".into(),
                    critical: true,
                },
                Check {
                    name: "cache.v2".into(),
                    critical: false,
                },
            ],
            system_checks: true,
            business: vec![
                metric(
                    "etl_runs_total",
                    MetricKind::Counter,
                    &["pipeline", "status"],
                ),
                metric(
                    "etl_last_success_timestamp_seconds",
                    MetricKind::Gauge,
                    &["pipeline"],
                ),
                metric(
                    "etl_data_quality_score_ratio",
                    MetricKind::Gauge,
                    &["pipeline"],
                ),
                metric("etl_rows_read_total", MetricKind::Counter, &["pipeline"]),
            ],
            ..Inventory::default()
        };
        let mut out = String::new();
        groups(&mut out, &inv, Some("etl"), &Levels::default());
        assert_eq!(out.matches("alert: HealthCheckFailing").count(), 2);
        assert!(out.contains(r#"check=~"db",critical="true""#), "{out}");
        assert!(
            out.contains(r#"check=~"cache\\.v2",critical="false""#),
            "{out}"
        );
        assert_eq!(out.matches("alert: CpuAboveThreshold").count(), 2);
        assert!(out.contains("alert: PipelineFailureRate"));
        assert!(out.contains("sum by (service_name, pipeline) ("), "{out}");
        assert!(out.contains("> 93600"), "{out}");
        assert!(out.contains(") < 0.95"), "{out}");
        assert!(out.contains(r#"build_info{service_name="etl"}"#), "{out}");
        assert_eq!(out.matches("  - name: ").count(), 3);
    }

    #[test]
    fn nothing_to_watch() {
        let mut out = String::new();
        groups(&mut out, &Inventory::default(), None, &Levels::default());
        assert!(out.is_empty());
    }

    #[test]
    fn a_metric_with_alerts_of_its_own_gets_no_convention_rule() {
        use crate::objectives::{
            AlertCondition, AlertEntry, AlertSubject, DeclaredAlert, Severity,
        };
        static LOW: [DeclaredAlert; 1] = [DeclaredAlert {
            name: "LowDataQuality",
            condition: AlertCondition::Below(0.9),
            over: Duration::ZERO,
            hold: Duration::ZERO,
            severity: Severity::Ticket,
            summary: "",
            description: "",
            runbook_url: "",
            labels: &[],
        }];
        static ENTRY: AlertEntry = AlertEntry {
            subject: AlertSubject::Metric {
                name: "etl_data_quality_score_ratio",
                counter: false,
            },
            alerts: &LOW,
            file: "etl.rs",
            line: 1,
        };
        let mut inv = Inventory {
            business: vec![metric(
                "etl_data_quality_score_ratio",
                MetricKind::Gauge,
                &["pipeline"],
            )],
            ..Inventory::default()
        };
        let mut out = String::new();
        groups(&mut out, &inv, None, &Levels::default());
        assert!(out.contains("alert: DataQualityLow"), "{out}");
        inv.alerts = vec![&ENTRY];
        out.clear();
        groups(&mut out, &inv, None, &Levels::default());
        assert!(out.is_empty(), "{out}");
    }
}
