//! `promtool test rules` input for the generated rules: synthetic series, and the
//! alerts expected at the end, computed by the library's own evaluation
//! (`objectives::burning`). promtool then proves the rules agree with it.

use std::fmt::Write as _;
use std::time::Duration;

use flext_observability::objectives::{BURN_WINDOWS, BurnWindow, Objective, burning};

pub(crate) const SERVICE: &str = "quickstart-orders";

/// One target of an objective, with everything a series needs.
#[derive(Clone, Copy)]
pub(crate) struct Target {
    pub(crate) objective: Objective,
    pub(crate) latency: bool,
}

impl Target {
    pub(crate) fn all(objectives: &[Objective]) -> Vec<Target> {
        let mut out = Vec::new();
        for &objective in objectives {
            if objective.success_rate_target().is_some() {
                out.push(Target {
                    objective,
                    latency: false,
                });
            }
            if objective.latency_target().is_some() {
                out.push(Target {
                    objective,
                    latency: true,
                });
            }
        }
        out
    }

    fn percentile(&self) -> f64 {
        match (self.latency, self.objective.latency_target()) {
            (true, Some((_, p))) => p.percent(),
            _ => self.objective.success_rate_target().unwrap().percent(),
        }
    }

    pub(crate) fn budget(&self) -> f64 {
        match (self.latency, self.objective.latency_target()) {
            (true, Some((_, p))) => p.error_budget(),
            _ => self.objective.success_rate_target().unwrap().error_budget(),
        }
    }

    fn threshold(&self) -> Option<String> {
        self.latency
            .then(|| self.objective.latency_threshold_secs().unwrap())
            .map(|t| format!("{t}"))
    }

    fn identity(&self) -> String {
        let mut s = format!(
            r#"service_name="{SERVICE}",objective_name="{}",objective_percentile="{}""#,
            self.objective.name(),
            self.percentile()
        );
        if let Some(t) = self.threshold() {
            let _ = write!(s, r#",objective_latency_threshold="{t}""#);
        }
        s
    }

    pub(crate) fn alertname(&self) -> &'static str {
        if self.latency {
            "LatencyBudgetBurn"
        } else {
            "SuccessRateBudgetBurn"
        }
    }

    /// The labels of the `ALERTS` series of `window` firing for this target.
    fn alert(&self, window: &BurnWindow) -> String {
        let mut labels = vec![
            ("alertname".to_owned(), self.alertname().to_owned()),
            ("alertstate".to_owned(), "firing".to_owned()),
            ("burn_rate".to_owned(), format!("{}", window.factor)),
            (
                "objective_name".to_owned(),
                self.objective.name().to_owned(),
            ),
            (
                "objective_percentile".to_owned(),
                format!("{}", self.percentile()),
            ),
            ("service_name".to_owned(), SERVICE.to_owned()),
            ("severity".to_owned(), window.severity.as_str().to_owned()),
            (
                "sli".to_owned(),
                if self.latency {
                    "latency"
                } else {
                    "success_rate"
                }
                .to_owned(),
            ),
            ("window".to_owned(), duration(window.long)),
        ];
        if let Some(t) = self.threshold() {
            labels.push(("objective_latency_threshold".to_owned(), t));
        }
        labels.sort();
        let inner: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!(r#"{k}="{v}""#))
            .collect();
        format!("ALERTS{{{}}}", inner.join(", "))
    }

    /// Input series: two instances, `calls` calls a minute each, of which the share
    /// `ratio(minute)` is bad. `le` is the spelling of the threshold's bucket.
    fn series(&self, minutes: u32, ratio: &dyn Fn(u32) -> f64, le: &str) -> Vec<(String, String)> {
        let calls = 1000.0;
        let mut out = Vec::new();
        for instance in ["10.0.0.1:9464", "10.0.0.2:9464"] {
            let target = format!(r#"instance="{instance}",job="quickstart""#);
            let (mut bad, mut total) = (vec![0.0], vec![0.0]);
            for m in 1..=minutes {
                bad.push(bad[bad.len() - 1] + calls * ratio(m));
                total.push(total[total.len() - 1] + calls);
            }
            let values = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let good: Vec<f64> = total.iter().zip(&bad).map(|(t, b)| t - b).collect();
            let id = self.identity();
            if self.latency {
                out.push((
                    format!("function_calls_duration_seconds_count{{function=\"f\",module=\"m\",{id},{target}}}"),
                    values(&total),
                ));
                out.push((
                    format!("function_calls_duration_seconds_bucket{{function=\"f\",module=\"m\",{id},le=\"{le}\",{target}}}"),
                    values(&good),
                ));
                out.push((
                    format!("function_calls_duration_seconds_bucket{{function=\"f\",module=\"m\",{id},le=\"+Inf\",{target}}}"),
                    values(&total),
                ));
            } else {
                for (result, v) in [("ok", &good), ("error", &bad)] {
                    out.push((
                        format!("function_calls_total{{function=\"f\",module=\"m\",{id},result=\"{result}\",{target}}}"),
                        values(v),
                    ));
                }
                // Cancelled calls carry no objective labels: a flood of them changes nothing.
                out.push((
                    format!("function_calls_total{{function=\"f\",module=\"m\",service_name=\"{SERVICE}\",result=\"cancelled\",{target}}}"),
                    values(&total.iter().map(|t| t * 50.0).collect::<Vec<_>>()),
                ));
            }
        }
        out
    }
}

pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", s / 60)
    }
}

/// One `tests:` entry: input series, then at `eval` minutes the firing `ALERTS` of
/// `alertname` must be exactly `expected`.
pub(crate) struct Case {
    pub(crate) about: String,
    pub(crate) series: Vec<(String, String)>,
    pub(crate) eval_minutes: u32,
    pub(crate) alertname: String,
    pub(crate) expected: Vec<String>,
}

/// The threshold of every burn window, approached from above and below by 5 %, for
/// every target, with the ratio the same over every window; then a short burst that
/// the long window of the fastest pair does not confirm. What fires is what
/// `objectives::burning` says fires.
pub(crate) fn burn_cases(targets: &[Target]) -> Vec<Case> {
    let mut cases = Vec::new();
    for t in targets {
        for (i, window) in BURN_WINDOWS.iter().enumerate() {
            for (side, factor) in [("above", 1.05), ("below", 0.95)] {
                let r = window.factor * t.budget() * factor;
                // Whole-second thresholds exist in two spellings; alternate them so that
                // each must select the bucket.
                let le = match t.threshold() {
                    Some(th) if !th.contains('.') && i % 2 == 0 => format!("{th}.0"),
                    Some(th) => th,
                    None => String::new(),
                };
                let expected = burning(t.budget(), |_| Some(r))
                    .into_iter()
                    .map(|w| t.alert(w))
                    .collect::<Vec<_>>();
                assert_eq!(
                    expected.iter().any(|a| a == &t.alert(window)),
                    side == "above",
                    "the evaluation itself decides at the factor"
                );
                cases.push(Case {
                    about: format!(
                        "{} {}: {side} {}x ({}/{}), le={le}",
                        t.objective.name(),
                        t.alertname(),
                        window.factor,
                        duration(window.short),
                        duration(window.long)
                    ),
                    series: t.series(20, &|_| r, &le),
                    eval_minutes: 20,
                    alertname: t.alertname().to_owned(),
                    expected,
                });
            }
        }
        // 60 clean minutes, then 10 at half the calls bad: the 5m window burns at 50 %,
        // the 1h one has seen 10 of its 59 minutes at that rate.
        let ratio = |minute: u32| if minute > 60 { 0.5 } else { 0.0 };
        let over = |w: Duration| {
            let span = (w.as_secs() / 60).saturating_sub(1).min(70) as f64;
            Some(0.5 * span.min(10.0) / span)
        };
        let expected: Vec<String> = burning(t.budget(), over)
            .into_iter()
            .map(|w| t.alert(w))
            .collect();
        let le = t.threshold().unwrap_or_default();
        cases.push(Case {
            about: format!(
                "{} {}: a 10-minute burst after an hour clean",
                t.objective.name(),
                t.alertname()
            ),
            series: t.series(70, &ratio, &le),
            eval_minutes: 70,
            alertname: t.alertname().to_owned(),
            expected,
        });
    }
    cases
}

/// The whole test file.
pub(crate) fn file(rules: &str, cases: &[Case]) -> String {
    let mut out = format!("rule_files: [{rules}]\nevaluation_interval: 1m\ntests:\n");
    for case in cases {
        let _ = writeln!(out, "  # {}", case.about);
        out.push_str("  - interval: 1m\n    input_series:\n");
        for (series, values) in &case.series {
            let _ = writeln!(
                out,
                "      - series: '{series}'\n        values: '{values}'"
            );
        }
        let _ = writeln!(
            out,
            "    promql_expr_test:\n      - expr: 'ALERTS{{alertname=\"{}\",alertstate=\"firing\"}}'\n        eval_time: {}m",
            case.alertname, case.eval_minutes
        );
        if case.expected.is_empty() {
            out.push_str("        exp_samples: []\n");
        } else {
            out.push_str("        exp_samples:\n");
            for labels in &case.expected {
                let _ = writeln!(out, "          - labels: '{labels}'\n            value: 1");
            }
        }
    }
    out
}
