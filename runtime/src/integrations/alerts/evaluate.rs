//! One evaluation: the captured series summed into what each rule measures, recorded
//! in its history, and each rule's condition over its window, per alert.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::capture::{Captured, Series};
use super::history::History;
use super::rules::{CALLS, Check, DURATION, HEALTH, Rule, Target};
use crate::objectives::{
    AlertCondition, BURN_WINDOWS, error_ratio, histogram_quantile, is_burning,
};

/// What one rule found for one alert: its own labels (a series', a check's), the value
/// compared (`NaN` without data) and whether the condition holds.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Observation {
    pub(super) labels: Vec<(String, String)>,
    pub(super) value: f64,
    pub(super) active: bool,
}

/// What a history is kept for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Failed calls and calls that ended `ok` or `error`, of one function.
    Calls(&'static str, &'static str),
    /// The cumulative duration buckets of one function.
    Durations(&'static str, &'static str),
    /// Bad and counted calls of an objective target.
    Target(usize),
    /// One series of a declared counter.
    Series(&'static str, Vec<(String, String)>),
}

/// The rules and the histories they read, from one evaluation to the next.
#[derive(Debug)]
pub(super) struct Evaluator {
    rules: Vec<Rule>,
    targets: Vec<Target>,
    histories: HashMap<Key, History>,
    /// The longest window each kind of key needs.
    longest: HashMap<Key, Duration>,
    /// The bounds of each function's histogram, as last read.
    bounds: HashMap<Key, Vec<f64>>,
}

impl Evaluator {
    pub(super) fn new(rules: Vec<Rule>, targets: Vec<Target>) -> Evaluator {
        let mut longest: HashMap<Key, Duration> = HashMap::new();
        let mut need = |key: Key, window: Duration| {
            let e = longest.entry(key).or_default();
            *e = (*e).max(window);
        };
        let burn = BURN_WINDOWS
            .iter()
            .map(|w| w.long)
            .max()
            .unwrap_or_default();
        for rule in &rules {
            match &rule.check {
                Check::Burn { target, .. } => need(Key::Target(*target), burn),
                Check::Function {
                    function,
                    module,
                    condition,
                    over,
                } => match condition {
                    AlertCondition::LatencyAbove { .. } => {
                        need(Key::Durations(function, module), *over);
                    }
                    _ => need(Key::Calls(function, module), *over),
                },
                // Counter series are found as they come; keyed by name alone here.
                Check::Metric {
                    name,
                    counter: true,
                    over,
                    ..
                } => need(Key::Series(name, Vec::new()), *over),
                Check::Metric { .. } | Check::Health { .. } => {}
            }
        }
        Evaluator {
            rules,
            targets,
            histories: HashMap::new(),
            longest,
            bounds: HashMap::new(),
        }
    }

    pub(super) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Records what `captured` holds at `now` and evaluates every rule: for each, the
    /// alerts it sees.
    pub(super) fn evaluate(&mut self, now: Instant, captured: &Captured) -> Vec<Vec<Observation>> {
        self.record(now, captured);
        (0..self.rules.len())
            .map(|i| self.observe(&self.rules[i], captured))
            .collect()
    }

    fn record(&mut self, now: Instant, captured: &Captured) {
        let keys: Vec<(Key, Duration)> =
            self.longest.iter().map(|(k, d)| (k.clone(), *d)).collect();
        for (key, longest) in keys {
            match &key {
                Key::Calls(function, module) => {
                    let mut v = vec![0.0, 0.0];
                    for (s, value) in scalars(captured, CALLS) {
                        if s.label("function") == *function && s.label("module") == *module {
                            add_call(&mut v, s, value);
                        }
                    }
                    self.push(key, now, v, longest);
                }
                Key::Durations(function, module) => {
                    let found = captured.histograms.iter().find(|(s, _)| {
                        s.family == DURATION
                            && s.label("function") == *function
                            && s.label("module") == *module
                    });
                    if let Some((_, b)) = found {
                        self.bounds.insert(key.clone(), b.bounds.clone());
                        self.push(key, now, b.cumulative.clone(), longest);
                    }
                }
                Key::Target(i) => {
                    let v = Self::target_counts(&self.targets[*i], captured);
                    self.push(key, now, v, longest);
                }
                Key::Series(name, _) => {
                    for (s, value) in scalars(captured, name) {
                        let k = Key::Series(name, s.labels.clone());
                        self.push(k, now, vec![value], longest);
                    }
                }
            }
        }
    }

    fn push(&mut self, key: Key, now: Instant, values: Vec<f64>, longest: Duration) {
        self.histories
            .entry(key)
            .or_default()
            .record(now, values, longest);
    }

    /// Bad and counted calls of a target, as the generated recording rules count them.
    fn target_counts(target: &Target, captured: &Captured) -> Vec<f64> {
        let mut v = vec![0.0, 0.0];
        let ours = |s: &Series| {
            s.label("objective_name") == target.objective
                && s.label("objective_percentile") == target.percentile
        };
        match &target.threshold {
            None => {
                for (s, value) in scalars(captured, CALLS).filter(|(s, _)| ours(s)) {
                    if s.label("result") == "error" {
                        v[0] += value;
                    }
                    v[1] += value;
                }
            }
            Some((secs, label)) => {
                for (s, b) in &captured.histograms {
                    if s.family != DURATION
                        || !ours(s)
                        || s.label("objective_latency_threshold") != label
                    {
                        continue;
                    }
                    // The macro put the threshold's exact double among the bounds.
                    #[allow(clippy::float_cmp)]
                    let Some(i) = b.bounds.iter().position(|&x| x == *secs) else {
                        continue;
                    };
                    let total = b.cumulative[b.cumulative.len() - 1];
                    v[0] += total - b.cumulative[i];
                    v[1] += total;
                }
            }
        }
        v
    }

    fn observe(&self, rule: &Rule, captured: &Captured) -> Vec<Observation> {
        match &rule.check {
            Check::Burn { target, window } => {
                let history = self.histories.get(&Key::Target(*target));
                let ratio = |w: Duration| {
                    let inc = history?.increase(w)?;
                    error_ratio(inc[0], inc[1])
                };
                let budget = self.targets[*target].budget;
                let (short, long) = (ratio(window.short), ratio(window.long));
                vec![Observation {
                    labels: Vec::new(),
                    value: short.unwrap_or(f64::NAN),
                    active: is_burning(window, budget, short, long),
                }]
            }
            Check::Function {
                function,
                module,
                condition,
                over,
            } => {
                let value = if let AlertCondition::LatencyAbove { quantile, .. } = condition {
                    let key = Key::Durations(function, module);
                    let inc = self.histories.get(&key).and_then(|h| h.increase(*over));
                    match (inc, self.bounds.get(&key)) {
                        (Some(inc), Some(bounds)) => histogram_quantile(*quantile, bounds, &inc),
                        _ => None,
                    }
                } else {
                    let inc = self
                        .histories
                        .get(&Key::Calls(function, module))
                        .and_then(|h| h.increase(*over));
                    inc.and_then(|inc| match condition {
                        AlertCondition::ErrorsAbove(_) => Some(inc[0]),
                        _ => error_ratio(inc[0], inc[1]),
                    })
                };
                let value = value.unwrap_or(f64::NAN);
                vec![Observation {
                    labels: Vec::new(),
                    value,
                    active: condition.holds(value),
                }]
            }
            Check::Metric {
                name,
                counter,
                condition,
                over,
            } => scalars(captured, name)
                .map(|(s, current)| {
                    let value = if *counter {
                        self.histories
                            .get(&Key::Series(name, s.labels.clone()))
                            .and_then(|h| h.increase(*over))
                            .map_or(f64::NAN, |inc| inc[0])
                    } else {
                        current
                    };
                    Observation {
                        labels: s.labels.clone(),
                        value,
                        active: condition.holds(value),
                    }
                })
                .collect(),
            Check::Health { checks } => scalars(captured, HEALTH)
                .filter(|(s, _)| {
                    s.label("status") == "unhealthy" && checks.contains(&s.label("check"))
                })
                .map(|(s, value)| Observation {
                    labels: vec![("check".to_owned(), s.label("check").to_owned())],
                    value,
                    active: value >= 1.0,
                })
                .collect(),
        }
    }
}

fn scalars<'a>(
    captured: &'a Captured,
    family: &'a str,
) -> impl Iterator<Item = (&'a Series, f64)> + 'a {
    captured
        .scalars
        .iter()
        .filter(move |(s, _)| s.family == family)
        .map(|(s, v)| (s, *v))
}

/// Adds a `function_calls_total` series to `[errors, calls]`: calls that ended `ok` or
/// `error` (panics included) count, cancelled ones do not.
fn add_call(v: &mut [f64], s: &Series, value: f64) {
    match s.label("result") {
        "error" => {
            v[0] += value;
            v[1] += value;
        }
        "ok" => v[1] += value,
        _ => {}
    }
}
