//! What is evaluated: one rule per pair of burn windows of every objective target, per
//! declared `alert(..)`, and per criticality of `#[health_check]`s, each with the labels
//! and annotations the generated Prometheus rule has.

use std::time::Duration;

use crate::catalog;
use crate::objectives::{
    AlertCondition, AlertSubject, BURN_WINDOWS, BurnWindow, Objective, Severity, declared_alerts,
    duration_text,
};
use crate::prometheus::format::go_float;

/// The family `#[monitor]` counts calls in.
pub(super) const CALLS: &str = "function_calls_total";
/// The family of call durations.
pub(super) const DURATION: &str = "function_calls_duration_seconds";
/// The health checks' status family.
pub(super) const HEALTH: &str = "health_check_status";

/// One target of an objective: what its series carry.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Target {
    pub(super) objective: &'static str,
    /// `objective_percentile` as the series carry it (`99.9`).
    pub(super) percentile: String,
    /// The latency threshold in seconds and as `objective_latency_threshold`; `None`
    /// for the success rate.
    pub(super) threshold: Option<(f64, String)>,
    pub(super) budget: f64,
}

/// What a rule compares.
#[derive(Clone, Debug)]
pub(super) enum Check {
    /// One pair of burn windows of target `target`.
    Burn {
        target: usize,
        window: &'static BurnWindow,
    },
    /// `alert(..)` on a monitored function.
    Function {
        function: &'static str,
        module: &'static str,
        condition: AlertCondition,
        over: Duration,
    },
    /// `alert(..)` on a declared gauge or counter: one alert per series.
    Metric {
        name: &'static str,
        counter: bool,
        condition: AlertCondition,
        over: Duration,
    },
    /// These `#[health_check]`s unhealthy.
    Health { checks: Vec<&'static str> },
}

/// One alert rule.
#[derive(Clone, Debug)]
pub(super) struct Rule {
    pub(super) name: String,
    pub(super) severity: Severity,
    /// `for`: how long the condition must hold to fire, and be false to resolve.
    pub(super) hold: Duration,
    /// Labels of the rule itself, beside `alertname`, `severity` and each alert's own.
    pub(super) labels: Vec<(String, String)>,
    pub(super) summary: String,
    pub(super) description: String,
    pub(super) runbook_url: String,
    pub(super) check: Check,
}

/// Every rule of this binary, and the objective targets the burn rules refer to.
pub(super) fn build(health: bool, health_for: (Duration, Duration)) -> (Vec<Rule>, Vec<Target>) {
    let mut rules = Vec::new();
    let mut targets = Vec::new();
    let mut objectives: Vec<Objective> = Vec::new();
    for site in &catalog::catalog().monitors {
        if let Some(o) = site.meta().objective
            && !objectives.iter().any(|known| known.name() == o.name())
        {
            objectives.push(o);
        }
    }
    for objective in &objectives {
        if let Some(p) = objective.success_rate_target() {
            targets.push(Target {
                objective: objective.name(),
                percentile: go_float(p.percent()),
                threshold: None,
                budget: p.error_budget(),
            });
        }
        if let Some((t, p)) = objective.latency_target() {
            targets.push(Target {
                objective: objective.name(),
                percentile: go_float(p.percent()),
                threshold: Some((t.as_secs_f64(), go_float(t.as_secs_f64()))),
                budget: p.error_budget(),
            });
        }
    }
    for (index, target) in targets.iter().enumerate() {
        for window in &BURN_WINDOWS {
            rules.push(burn_rule(index, target, window));
        }
    }
    for entry in declared_alerts() {
        for alert in entry.alerts {
            let check = match entry.subject {
                AlertSubject::Function { function, module } => Check::Function {
                    function,
                    module,
                    condition: alert.condition,
                    over: alert.over,
                },
                AlertSubject::Metric { name, counter } => Check::Metric {
                    name,
                    counter,
                    condition: alert.condition,
                    over: alert.over,
                },
            };
            let mut labels: Vec<(String, String)> = alert
                .labels
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            if let AlertSubject::Function { function, .. } = entry.subject {
                labels.push(("function".to_owned(), function.to_owned()));
            }
            rules.push(Rule {
                name: alert.name.to_owned(),
                severity: alert.severity,
                hold: alert.hold,
                labels,
                summary: alert.summary_template(entry.subject),
                description: alert.description_template(entry.subject),
                runbook_url: alert.runbook_url.to_owned(),
                check,
            });
        }
    }
    if health {
        rules.extend(health_rules(health_for));
    }
    (rules, targets)
}

fn burn_rule(index: usize, target: &Target, window: &'static BurnWindow) -> Rule {
    let (alert, sli, what) = match target.threshold {
        None => ("SuccessRateBudgetBurn", "success_rate", "success-rate"),
        Some(_) => ("LatencyBudgetBurn", "latency", "latency"),
    };
    let mut labels = vec![
        ("sli".to_owned(), sli.to_owned()),
        ("objective_name".to_owned(), target.objective.to_owned()),
        ("objective_percentile".to_owned(), target.percentile.clone()),
    ];
    if let Some((_, threshold)) = &target.threshold {
        labels.push(("objective_latency_threshold".to_owned(), threshold.clone()));
    }
    labels.push(("window".to_owned(), duration_text(window.long)));
    labels.push(("burn_rate".to_owned(), go_float(window.factor)));
    let factor = go_float(window.factor);
    Rule {
        name: alert.to_owned(),
        severity: window.severity,
        hold: Duration::ZERO,
        labels,
        summary: format!(
            "{{{{ $labels.service_name }}}}: objective {} spends its {what} budget {factor}x too fast",
            target.objective
        ),
        description: format!(
            "{{{{ $value }}}} of calls counted over the last {} were bad, and more than {} over {}: {factor} times what the {}% objective allows.",
            duration_text(window.short),
            go_float(window.threshold(target.budget)),
            duration_text(window.long),
            target.percentile
        ),
        runbook_url: String::new(),
        check: Check::Burn {
            target: index,
            window,
        },
    }
}

/// `HealthCheckFailing` for critical checks (page) and the others (ticket), as the
/// generated rules have it.
fn health_rules(health_for: (Duration, Duration)) -> Vec<Rule> {
    let registered = crate::health::registry::registered();
    let mut out = Vec::new();
    for (critical, severity, hold) in [
        (true, Severity::Page, health_for.0),
        (false, Severity::Ticket, health_for.1),
    ] {
        let checks: Vec<&'static str> = registered
            .iter()
            .filter(|m| m.critical == critical)
            .map(|m| m.name)
            .collect();
        if checks.is_empty() {
            continue;
        }
        let kind = if critical { "critical" } else { "non-critical" };
        out.push(Rule {
            name: "HealthCheckFailing".to_owned(),
            severity,
            hold,
            labels: Vec::new(),
            summary: format!(
                "{{{{ $labels.service_name }}}}: {kind} health check {{{{ $labels.check }}}} is failing"
            ),
            description: format!(
                "The check has been unhealthy for {}; /health names the cause.",
                duration_text(hold)
            ),
            runbook_url: String::new(),
            check: Check::Health { checks },
        });
    }
    out
}

/// The families the rules read.
pub(super) fn families(rules: &[Rule]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|f| f == name) {
            out.push(name.to_owned());
        }
    };
    for rule in rules {
        match &rule.check {
            Check::Burn { .. } => {
                add(CALLS);
                add(DURATION);
            }
            Check::Function { condition, .. } => match condition {
                AlertCondition::LatencyAbove { .. } => add(DURATION),
                _ => add(CALLS),
            },
            Check::Metric { name, .. } => add(name),
            Check::Health { .. } => add(HEALTH),
        }
    }
    out
}
