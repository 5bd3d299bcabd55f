//! Each alert's state from one evaluation to the next, with hysteresis: an alert fires
//! once its condition has held for its `for`, and resolves only once it has been false
//! for as long; a firing alert is sent again every resend interval, a resolved one (with
//! its `endsAt`) as often for 15 minutes, as Prometheus does.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::evaluate::Observation;
use super::rules::Rule;
use crate::objectives::{Severity, expand_template};

/// How long a resolved alert is still sent (Prometheus' `resolvedRetention`).
pub(super) const RESOLVED_RETENTION: Duration = Duration::from_mins(15);

/// Where an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The condition holds, not yet for its `for`.
    Pending,
    Firing,
    Resolved,
}

/// One alert: a rule and the labels of what it watches.
#[derive(Clone, Debug)]
pub(super) struct Alert {
    pub(super) rule: usize,
    pub(super) phase: Phase,
    /// Every label, sorted by name: `alertname`, `severity`, the rule's, the series'.
    pub(super) labels: Vec<(String, String)>,
    pub(super) severity: Severity,
    pub(super) value: f64,
    pub(super) summary: String,
    pub(super) description: String,
    /// When the condition started holding (pending) or the alert fired.
    since: Instant,
    /// When it fired (`startsAt`).
    pub(super) fired_at: SystemTime,
    /// While firing: since when the condition has been false.
    false_since: Option<Instant>,
    /// When it resolved (`endsAt`).
    pub(super) resolved_at: Option<(Instant, SystemTime)>,
    last_sent: Option<Instant>,
}

/// Every alert of the process, keyed by its labels.
#[derive(Debug, Default)]
pub(super) struct Book {
    alerts: BTreeMap<Vec<(String, String)>, Alert>,
}

/// The labels every alert of this process carries: `service_name`, `instance`, the
/// builder's `alert_label`s.
#[derive(Clone, Debug, Default)]
pub(super) struct Common {
    pub(super) labels: Vec<(String, String)>,
}

impl Book {
    /// Applies one evaluation (`observed[i]`: what rule `i` saw); returns the alerts to
    /// send now: those that fired or resolved, and those due for a resend.
    pub(super) fn update(
        &mut self,
        rules: &[Rule],
        observed: &[Vec<Observation>],
        common: &Common,
        now: Instant,
        wall: SystemTime,
        resend: Duration,
    ) -> Vec<Alert> {
        let mut seen: std::collections::HashSet<Vec<(String, String)>> =
            std::collections::HashSet::new();
        for (i, (rule, observations)) in rules.iter().zip(observed).enumerate() {
            for o in observations {
                let labels = labels(rule, &o.labels, common);
                seen.insert(labels.clone());
                self.step(i, rule, labels, o, now, wall);
            }
        }
        // What no rule reported this time (a series gone): its condition is false.
        let gone: Vec<Vec<(String, String)>> = self
            .alerts
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for labels in gone {
            let rule = self.alerts[&labels].rule;
            let nothing = Observation {
                labels: Vec::new(),
                value: f64::NAN,
                active: false,
            };
            self.step(rule, &rules[rule], labels, &nothing, now, wall);
        }
        let mut due = Vec::new();
        for alert in self.alerts.values_mut() {
            let send = match alert.phase {
                Phase::Pending => false,
                Phase::Firing | Phase::Resolved => alert
                    .last_sent
                    .is_none_or(|t| now.duration_since(t) >= resend),
            };
            if send {
                alert.last_sent = Some(now);
                due.push(alert.clone());
            }
        }
        due
    }

    fn step(
        &mut self,
        index: usize,
        rule: &Rule,
        labels: Vec<(String, String)>,
        o: &Observation,
        now: Instant,
        wall: SystemTime,
    ) {
        let alert = self.alerts.get_mut(&labels);
        match (alert, o.active) {
            (None, false) => {}
            (None, true) => {
                let mut alert = Alert {
                    rule: index,
                    phase: Phase::Pending,
                    labels: labels.clone(),
                    severity: rule.severity,
                    value: o.value,
                    summary: String::new(),
                    description: String::new(),
                    since: now,
                    fired_at: wall,
                    false_since: None,
                    resolved_at: None,
                    last_sent: None,
                };
                alert.annotate(rule);
                if rule.hold.is_zero() {
                    alert.phase = Phase::Firing;
                }
                self.alerts.insert(labels, alert);
            }
            (Some(alert), active) => match (alert.phase, active) {
                (Phase::Pending, false) => {
                    self.alerts.remove(&labels);
                }
                (Phase::Pending, true) => {
                    alert.value = o.value;
                    alert.annotate(rule);
                    if now.duration_since(alert.since) >= rule.hold {
                        alert.phase = Phase::Firing;
                        alert.fired_at = wall;
                        alert.last_sent = None;
                    }
                }
                (Phase::Firing, true) => {
                    alert.false_since = None;
                    alert.value = o.value;
                    alert.annotate(rule);
                }
                (Phase::Firing, false) => {
                    let since = *alert.false_since.get_or_insert(now);
                    if now.duration_since(since) >= rule.hold {
                        alert.phase = Phase::Resolved;
                        alert.resolved_at = Some((now, wall));
                        alert.last_sent = None;
                    }
                }
                (Phase::Resolved, true) => {
                    // Fires again: a new alert, from pending.
                    self.alerts.remove(&labels);
                    self.step(index, rule, labels, o, now, wall);
                }
                (Phase::Resolved, false) => {
                    let done = alert
                        .resolved_at
                        .is_some_and(|(at, _)| now.duration_since(at) >= RESOLVED_RETENTION);
                    if done {
                        self.alerts.remove(&labels);
                    }
                }
            },
        }
    }

    /// The alerts in `phase`.
    pub(super) fn in_phase(&self, phase: Phase) -> impl Iterator<Item = &Alert> {
        self.alerts.values().filter(move |a| a.phase == phase)
    }
}

impl Alert {
    fn annotate(&mut self, rule: &Rule) {
        self.summary = expand_template(&rule.summary, self.value, &self.labels);
        self.description = expand_template(&rule.description, self.value, &self.labels);
    }

    /// The label `name`.
    pub(super) fn label(&self, name: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// An alert's labels: `alertname` and `severity`, then the series', the rule's and the
/// common ones, the first of each name winning; sorted by name.
fn labels(rule: &Rule, own: &[(String, String)], common: &Common) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![
        ("alertname".to_owned(), rule.name.clone()),
        ("severity".to_owned(), rule.severity.as_str().to_owned()),
    ];
    for (k, v) in own.iter().chain(&rule.labels).chain(&common.labels) {
        if !out.iter().any(|(name, _)| name == k) {
            out.push((k.clone(), v.clone()));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::alerts::rules::Check;
    use crate::objectives::AlertCondition;

    fn rule(hold: u64) -> Rule {
        Rule {
            name: "Low".into(),
            severity: Severity::Ticket,
            hold: Duration::from_secs(hold),
            labels: vec![("team".into(), "data".into())],
            summary: "{{ $labels.team }} at {{ $value }}".into(),
            description: String::new(),
            runbook_url: String::new(),
            check: Check::Metric {
                name: "q",
                counter: false,
                condition: AlertCondition::Below(0.95),
                over: Duration::ZERO,
            },
        }
    }

    fn seen(active: bool, value: f64) -> Vec<Vec<Observation>> {
        vec![vec![Observation {
            labels: vec![("pipeline".into(), "orders".into())],
            value,
            active,
        }]]
    }

    #[test]
    fn fires_after_for_and_resolves_after_for() {
        let rules = [rule(2)];
        let common = Common {
            labels: vec![
                ("service_name".into(), "etl".into()),
                ("team".into(), "other".into()),
            ],
        };
        let mut book = Book::default();
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let resend = Duration::from_mins(1);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut step = |s: u64, active: bool| {
            book.update(&rules, &seen(active, 0.8), &common, at(s), wall, resend)
        };
        assert!(step(0, true).is_empty(), "pending, not sent");
        assert!(step(1, true).is_empty());
        let fired = step(2, true);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].phase, Phase::Firing);
        assert_eq!(
            fired[0].label("team"),
            "data",
            "the rule's label wins over the common one"
        );
        assert_eq!(fired[0].label("pipeline"), "orders");
        assert_eq!(fired[0].summary, "data at 0.8");
        // A short dip does not resolve it, nor does it resend before the interval.
        assert!(step(3, false).is_empty());
        assert!(step(4, true).is_empty());
        assert!(step(5, false).is_empty());
        assert!(step(6, false).is_empty());
        let resolved = step(7, false);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].phase, Phase::Resolved);
        // Resent while retained, then forgotten.
        assert!(step(30, false).is_empty());
        assert_eq!(step(68, false).len(), 1);
        assert!(step(7 + 15 * 60, false).is_empty());
        assert_eq!(book.alerts.len(), 0);
    }

    #[test]
    fn pending_that_stops_is_forgotten_and_zero_for_fires_at_once() {
        let rules = [rule(5)];
        let mut book = Book::default();
        let t0 = Instant::now();
        let wall = SystemTime::now();
        let common = Common::default();
        let r = Duration::from_mins(1);
        book.update(&rules, &seen(true, 0.5), &common, t0, wall, r);
        book.update(
            &rules,
            &seen(false, 0.99),
            &common,
            t0 + Duration::from_secs(1),
            wall,
            r,
        );
        assert_eq!(book.alerts.len(), 0);
        let rules = [rule(0)];
        let sent = book.update(&rules, &seen(true, 0.5), &common, t0, wall, r);
        assert_eq!(sent.len(), 1);
        // The series disappears: false, and with no `for`, resolved at once.
        let sent = book.update(
            &rules,
            &[vec![]],
            &common,
            t0 + Duration::from_secs(1),
            wall,
            r,
        );
        assert_eq!(sent[0].phase, Phase::Resolved);
    }
}
