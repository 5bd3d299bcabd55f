//! Threshold alerts declared where the code is, with `alert(..)` on `#[monitor]` and
//! `#[business_metric]`: the constant data the macros emit (checked at compile time),
//! registered through `inventory`, and the comparisons the generated Prometheus rules and
//! in-process evaluation share.
//!
//! | condition | measured over `over` | Prometheus rule |
//! |---|---|---|
//! | `error_rate > r` | failed calls / calls that ended `ok` or `error` (panics are errors, cancelled calls count as neither) | `sum(rate(…{result="error"}[over])) / sum(rate(…{result=~"ok\|error"}[over])) > r` |
//! | `errors > n` | failed calls in the window | `sum(increase(…{result="error"}[over])) > n` |
//! | `latency_pNN > "d"` | the quantile of call durations in the window, interpolated in its bucket as `histogram_quantile` does | `histogram_quantile(q, sum by (le) (rate(…_bucket[over]))) > d` |
//! | `below = x` / `above = x` on a gauge | its current value | `metric < x` / `metric > x` |
//! | `below = x` / `above = x` on a counter | its increase in the window | `increase(metric[over]) < x` / `> x` |
//!
//! Each comparison is strict, and "no data" (a window without calls) never fires, as in
//! PromQL, where a division by zero gives `NaN` and `NaN` compares false.

use std::time::Duration;

use super::Severity;

/// What an alert compares, and against which level.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AlertCondition {
    /// The share of failed calls over the window is above the level (0 to 1).
    ErrorRateAbove(f64),
    /// More failed calls than this in the window.
    ErrorsAbove(u64),
    /// The `quantile` (0 to 1) of call durations over the window is above `seconds`.
    LatencyAbove {
        /// 0.99 for `latency_p99`.
        quantile: f64,
        /// The threshold in seconds.
        seconds: f64,
    },
    /// A gauge below the level, or a counter that grew by less than it in the window.
    Below(f64),
    /// A gauge above the level, or a counter that grew by more than it in the window.
    Above(f64),
}

impl AlertCondition {
    /// The level compared against (seconds for latency).
    pub fn level(&self) -> f64 {
        match *self {
            AlertCondition::ErrorRateAbove(level)
            | AlertCondition::Below(level)
            | AlertCondition::Above(level) => level,
            AlertCondition::ErrorsAbove(n) => n as f64,
            AlertCondition::LatencyAbove { seconds, .. } => seconds,
        }
    }

    /// The PromQL comparison operator: `<` for [`Below`](Self::Below), `>` otherwise.
    pub fn operator(&self) -> &'static str {
        match self {
            AlertCondition::Below(_) => "<",
            _ => ">",
        }
    }

    /// Whether `value` breaks the level: strictly, and never for `NaN` (no data).
    pub fn holds(&self, value: f64) -> bool {
        match self {
            AlertCondition::Below(level) => value < *level,
            _ => value > self.level(),
        }
    }
}

/// One `alert(..)`: its name, condition and how it is delivered.
#[doc(hidden)]
#[derive(Debug, PartialEq)]
pub struct DeclaredAlert {
    /// The `alertname` label.
    pub name: &'static str,
    /// What fires it.
    pub condition: AlertCondition,
    /// The window a rate, a count, a quantile or a counter's increase is measured over
    /// (zero for a gauge, compared as it is).
    pub over: Duration,
    /// How long the condition must hold before the alert fires, and be false before it
    /// resolves (`for`).
    pub hold: Duration,
    /// The `severity` label.
    pub severity: Severity,
    /// The `summary` annotation; empty for the default.
    pub summary: &'static str,
    /// The `description` annotation; empty for the default.
    pub description: &'static str,
    /// The `runbook_url` annotation; empty for none.
    pub runbook_url: &'static str,
    /// Labels of its own (`labels(team = "payments")`).
    pub labels: &'static [(&'static str, &'static str)],
}

/// What the alerts of one declaration watch.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertSubject {
    /// A `#[monitor]` function: its `function` and `module` labels.
    Function {
        /// The `function` label.
        function: &'static str,
        /// The `module` label.
        module: &'static str,
    },
    /// A `#[business_metric]` declaration: its sample name (`…_total` for a counter).
    Metric {
        /// The sample name.
        name: &'static str,
        /// Whether it is a counter (compared by increase) or a gauge (as it is).
        counter: bool,
    },
}

/// What `inventory` collects for each declaration that carries `alert(..)`.
#[doc(hidden)]
#[derive(Debug, PartialEq)]
pub struct AlertEntry {
    /// What the alerts watch.
    pub subject: AlertSubject,
    /// The alerts, in the order written.
    pub alerts: &'static [DeclaredAlert],
    /// Where they were declared, for messages.
    pub file: &'static str,
    /// The line of the declaration.
    pub line: u32,
}

inventory::collect!(AlertEntry);

/// Every declaration with alerts, in a stable order (by subject, then location).
pub(crate) fn declared_alerts() -> Vec<&'static AlertEntry> {
    let mut entries: Vec<&'static AlertEntry> = inventory::iter::<AlertEntry>.into_iter().collect();
    entries.sort_by_key(|e| (subject_key(e.subject), e.file, e.line));
    entries
}

fn subject_key(subject: AlertSubject) -> (&'static str, &'static str) {
    match subject {
        AlertSubject::Function { function, module } => (function, module),
        AlertSubject::Metric { name, .. } => (name, ""),
    }
}

impl DeclaredAlert {
    /// The `summary` annotation: as declared, else one made from the condition. Either
    /// may hold `{{ $value }}` and `{{ $labels.<name> }}`, which the generated rules
    /// leave to Prometheus and in-process evaluation expands ([`expand_template`]).
    pub(crate) fn summary_template(&self, subject: AlertSubject) -> String {
        if !self.summary.is_empty() {
            return self.summary.to_owned();
        }
        let over = duration_text(self.over);
        let level = self.condition.level();
        match (subject, self.condition) {
            (AlertSubject::Function { function, .. }, condition) => match condition {
                AlertCondition::ErrorRateAbove(r) => format!(
                    "{{{{ $labels.service_name }}}}: more than {}% of `{function}` calls fail (over {over})",
                    percent(r)
                ),
                AlertCondition::ErrorsAbove(0) => format!(
                    "{{{{ $labels.service_name }}}}: `{function}` calls failed in the last {over}"
                ),
                AlertCondition::ErrorsAbove(n) => format!(
                    "{{{{ $labels.service_name }}}}: more than {n} failed `{function}` calls in {over}"
                ),
                AlertCondition::LatencyAbove { quantile, seconds } => format!(
                    "{{{{ $labels.service_name }}}}: p{} latency of `{function}` above {} over {over}",
                    percent(quantile),
                    duration_text(Duration::from_secs_f64(seconds))
                ),
                AlertCondition::Below(_) | AlertCondition::Above(_) => String::new(),
            },
            (AlertSubject::Metric { name, counter }, condition) => {
                let below = matches!(condition, AlertCondition::Below(_));
                if counter {
                    format!(
                        "{{{{ $labels.service_name }}}}: `{name}` grew by {} {level} in {over}",
                        if below { "less than" } else { "more than" }
                    )
                } else {
                    format!(
                        "{{{{ $labels.service_name }}}}: `{name}` {} {level}",
                        if below { "below" } else { "above" }
                    )
                }
            }
        }
    }

    /// The `description` annotation: as declared, else what the value is against what.
    pub(crate) fn description_template(&self, subject: AlertSubject) -> String {
        if !self.description.is_empty() {
            return self.description.to_owned();
        }
        let over = duration_text(self.over);
        let hold = if self.hold.is_zero() {
            String::new()
        } else {
            format!(" for {}", duration_text(self.hold))
        };
        let what = match (subject, self.condition) {
            (_, AlertCondition::ErrorRateAbove(_)) => {
                format!("The share of failed calls over the last {over} is {{{{ $value }}}}")
            }
            (_, AlertCondition::ErrorsAbove(_)) => {
                format!("{{{{ $value }}}} calls failed in the last {over}")
            }
            (_, AlertCondition::LatencyAbove { .. }) => {
                format!("The latency over the last {over} is {{{{ $value }}}} s")
            }
            (AlertSubject::Metric { counter: true, .. }, _) => {
                format!("It grew by {{{{ $value }}}} in the last {over}")
            }
            _ => "It is {{ $value }}".to_owned(),
        };
        format!(
            "{what}, {} {}{hold}.",
            if self.condition.operator() == "<" {
                "below"
            } else {
                "above"
            },
            self.condition.level()
        )
    }
}

/// `text` with `{{ $value }}` and `{{ $labels.<name> }}` replaced (an unknown label by
/// nothing), as Prometheus expands the same text in the generated rules.
#[cfg_attr(not(feature = "alerts"), allow(dead_code))]
pub(crate) fn expand_template(text: &str, value: f64, labels: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = after[..close].trim();
        if inner == "$value" {
            out.push_str(&value.to_string());
        } else if let Some(name) = inner.strip_prefix("$labels.") {
            if let Some((_, v)) = labels.iter().find(|(k, _)| k == name) {
                out.push_str(v);
            }
        } else {
            out.push_str(&rest[open..open + 2 + close + 2]);
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// `5`, `0.5`, `99.9`: a ratio as a percentage, without float noise.
fn percent(ratio: f64) -> f64 {
    (ratio * 100.0 * 1e9).round() / 1e9
}

/// A duration as Prometheus writes it in rules (`500ms`, `10s`, `5m`, `1h`, `1d`):
/// the largest unit that divides it.
pub(crate) fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The `q` quantile (0 to 1) of a histogram, as Prometheus' `histogram_quantile`
/// computes it (`promql/quantile.go`, `bucketQuantile`): `bounds` are the finite upper
/// bounds, ascending; `cumulative` the counts of every bucket up to each bound, then the
/// total (the `+Inf` bucket), so one more than `bounds`. The quantile is interpolated
/// linearly within its bucket, from 0 for the first bucket; one that falls in the `+Inf`
/// bucket is the highest finite bound. `None` without observations (`NaN` in PromQL).
#[cfg_attr(not(feature = "alerts"), allow(dead_code))]
pub(crate) fn histogram_quantile(q: f64, bounds: &[f64], cumulative: &[f64]) -> Option<f64> {
    if cumulative.len() != bounds.len() + 1 || bounds.is_empty() || q.is_nan() {
        return None;
    }
    // Prometheus makes the counts monotonic first: rates of counters read at slightly
    // different times can dip.
    let mut counts = cumulative.to_vec();
    for i in 1..counts.len() {
        if counts[i] < counts[i - 1] {
            counts[i] = counts[i - 1];
        }
    }
    let total = counts[counts.len() - 1];
    if total <= 0.0 {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let mut rank = q * total;
    let b = counts.partition_point(|&c| c < rank);
    if b == bounds.len() {
        return Some(bounds[bounds.len() - 1]);
    }
    if b == 0 && bounds[0] <= 0.0 {
        return Some(bounds[0]);
    }
    let (mut start, end, mut count) = (0.0, bounds[b], counts[b]);
    if b > 0 {
        start = bounds[b - 1];
        count -= counts[b - 1];
        rank -= counts[b - 1];
    }
    Some(start + (end - start) * (rank / count))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)] // the expected values are exact
    use super::*;

    #[test]
    fn quantiles_interpolate_as_promql() {
        // 100 observations: 50 up to 0.1, 40 more up to 0.5, 10 more up to 1.
        let bounds = [0.1, 0.5, 1.0];
        let cumulative = [50.0, 90.0, 100.0, 100.0];
        assert_eq!(histogram_quantile(0.5, &bounds, &cumulative), Some(0.1));
        // rank 70: 20 of the 40 in (0.1, 0.5].
        let p70 = histogram_quantile(0.7, &bounds, &cumulative).unwrap();
        assert!((p70 - 0.3).abs() < 1e-12, "{p70}");
        assert_eq!(histogram_quantile(0.25, &bounds, &cumulative), Some(0.05));
        // rank 99: 9 of the 10 in (0.5, 1].
        let p99 = histogram_quantile(0.99, &bounds, &cumulative).unwrap();
        assert!((p99 - 0.95).abs() < 1e-12, "{p99}");
        assert_eq!(histogram_quantile(0.5, &bounds, &[0.0; 4]), None);
    }

    #[test]
    fn the_inf_bucket_gives_the_highest_bound() {
        let bounds = [0.1, 0.5];
        assert_eq!(
            histogram_quantile(0.99, &bounds, &[0.0, 10.0, 100.0]),
            Some(0.5)
        );
        assert_eq!(
            histogram_quantile(1.5, &bounds, &[0.0, 1.0, 1.0]),
            Some(f64::INFINITY)
        );
        // Counts read a little apart are made monotonic.
        assert_eq!(
            histogram_quantile(0.5, &bounds, &[4.0, 3.0, 4.0]),
            Some(0.05)
        );
    }

    #[test]
    fn texts() {
        assert_eq!(duration_text(Duration::from_secs(10)), "10s");
        assert_eq!(duration_text(Duration::from_mins(5)), "5m");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration_text(Duration::from_hours(72)), "3d");
        let labels = vec![("service_name".to_owned(), "shop".to_owned())];
        assert_eq!(
            expand_template(
                "{{ $labels.service_name }}: {{$value}} {{ $labels.nope }}!",
                0.25,
                &labels
            ),
            "shop: 0.25 !"
        );
        let alert = DeclaredAlert {
            name: "ChargeCardErrorRate",
            condition: AlertCondition::ErrorRateAbove(0.05),
            over: Duration::from_secs(10),
            hold: Duration::from_secs(2),
            severity: Severity::Page,
            summary: "",
            description: "",
            runbook_url: "",
            labels: &[],
        };
        let subject = AlertSubject::Function {
            function: "charge_card",
            module: "m",
        };
        assert_eq!(
            alert.summary_template(subject),
            "{{ $labels.service_name }}: more than 5% of `charge_card` calls fail (over 10s)"
        );
        assert_eq!(
            alert.description_template(subject),
            "The share of failed calls over the last 10s is {{ $value }}, above 0.05 for 2s."
        );
    }

    #[test]
    fn conditions_are_strict_and_nan_never_fires() {
        assert!(AlertCondition::ErrorRateAbove(0.05).holds(0.051));
        assert!(!AlertCondition::ErrorRateAbove(0.05).holds(0.05));
        assert!(!AlertCondition::ErrorRateAbove(0.05).holds(f64::NAN));
        assert!(AlertCondition::Below(0.95).holds(0.8));
        assert!(!AlertCondition::Below(0.95).holds(0.95));
        assert!(!AlertCondition::Below(0.95).holds(f64::NAN));
        assert!(AlertCondition::ErrorsAbove(0).holds(1.0));
        assert!(
            AlertCondition::LatencyAbove {
                quantile: 0.99,
                seconds: 5.0
            }
            .holds(7.5)
        );
        assert_eq!(AlertCondition::Below(1.0).operator(), "<");
        assert_eq!(AlertCondition::ErrorsAbove(3).level(), 3.0);
    }
}
