//! PromQL pieces shared by the rules and the dashboards: quoting, windows, the latency
//! threshold's bucket, the objective selectors and the join that names the service.

use std::fmt::Write as _;
use std::time::Duration;

use crate::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};
use crate::prometheus::format::go_float;

/// A PromQL string literal.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `value` as a regular expression that matches only itself.
pub(crate) fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A PromQL duration: `5m`, `1h`, `1d`, `30d`.
pub(crate) fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// A number as the exposition writes it (`0.001`, `14.4`, `1`).
pub(crate) fn number(value: f64) -> String {
    go_float(value)
}

/// The matcher that selects the threshold's bucket, whatever spelling the storage holds
/// its `le` in: as the exposition writes it (`1`, `0.25`), and, for whole numbers, as
/// Prometheus 3 rewrites it on ingestion (`1.0`: a number without `.` or `e` gets
/// `.0`), which would otherwise silently drop the bucket.
pub(crate) fn le_matcher(threshold: ObjectiveLatency) -> String {
    let le = go_float(threshold.as_secs_f64());
    if le.contains(['.', 'e']) {
        format!("le={}", quote(&le))
    } else {
        format!("le=~{}", quote(&format!("{le}|{le}\\.0")))
    }
}

/// Which target of an objective a rule or panel measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sli {
    SuccessRate(ObjectivePercentile),
    Latency(ObjectiveLatency, ObjectivePercentile),
}

/// One measured target: the objective, which target, and the service it is scoped to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    pub(crate) objective: &'a Objective,
    pub(crate) sli: Sli,
    pub(crate) service: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// The targets of `objective`: success rate first, then latency.
    pub(crate) fn all(objective: &'a Objective, service: Option<&'a str>) -> Vec<Target<'a>> {
        let mut out = Vec::new();
        if let Some(p) = objective.success_rate_target() {
            out.push(Target {
                objective,
                sli: Sli::SuccessRate(p),
                service,
            });
        }
        if let Some((t, p)) = objective.latency_target() {
            out.push(Target {
                objective,
                sli: Sli::Latency(t, p),
                service,
            });
        }
        out
    }

    /// The `sli` label of the recorded series: `success_rate` or `latency`.
    pub(crate) fn kind(&self) -> &'static str {
        match self.sli {
            Sli::SuccessRate(_) => "success_rate",
            Sli::Latency(..) => "latency",
        }
    }

    pub(crate) fn percentile(&self) -> ObjectivePercentile {
        match self.sli {
            Sli::SuccessRate(p) | Sli::Latency(_, p) => p,
        }
    }

    /// The share of events allowed to be bad.
    pub(crate) fn budget(&self) -> f64 {
        self.percentile().error_budget()
    }

    /// The labels that identify the target's series, as matchers.
    fn identity(&self) -> String {
        let mut m = format!(
            "objective_name={},objective_percentile={}",
            quote(self.objective.name()),
            quote(&number(self.percentile().percent()))
        );
        if let Sli::Latency(t, _) = self.sli {
            let _ = write!(
                m,
                ",objective_latency_threshold={}",
                quote(&number(t.as_secs_f64()))
            );
        }
        if let Some(service) = self.service {
            let _ = write!(m, ",service_name={}", quote(service));
        }
        m
    }

    /// The labels the measurements keep.
    fn by(&self) -> &'static str {
        match self.sli {
            Sli::SuccessRate(_) => "service_name, objective_name, objective_percentile",
            Sli::Latency(..) => {
                "service_name, objective_name, objective_percentile, objective_latency_threshold"
            }
        }
    }

    /// Calls that count, per second over `range` (`5m`, `$__rate_interval`), by service;
    /// `extra` adds matchers (`instance=~"$instance"`).
    pub(crate) fn total_rate(&self, range: &str, extra: &str) -> String {
        let metric = match self.sli {
            Sli::SuccessRate(_) => "function_calls_total",
            Sli::Latency(..) => "function_calls_duration_seconds_count",
        };
        format!(
            "sum by ({}) (rate({metric}{{{}{extra}}}[{range}]))",
            self.by(),
            self.identity()
        )
    }

    /// Good calls for a latency target (its threshold's bucket), bad calls for a success
    /// rate, per second over `range`.
    fn counted_rate(&self, range: &str, extra: &str) -> String {
        match self.sli {
            Sli::SuccessRate(_) => format!(
                "sum by ({}) (rate(function_calls_total{{{},result=\"error\"{extra}}}[{range}]))",
                self.by(),
                self.identity()
            ),
            Sli::Latency(t, _) => format!(
                "sum by ({}) (rate(function_calls_duration_seconds_bucket{{{},{}{extra}}}[{range}]))",
                self.by(),
                self.identity(),
                le_matcher(t)
            ),
        }
    }

    /// Bad calls per second over `range`.
    pub(crate) fn bad_rate(&self, range: &str, extra: &str) -> String {
        match self.sli {
            Sli::SuccessRate(_) => self.counted_rate(range, extra),
            Sli::Latency(..) => format!(
                "{}\n-\n{}",
                self.total_rate(range, extra),
                self.counted_rate(range, extra)
            ),
        }
    }

    /// The share of bad calls over `range` (`NaN` without calls).
    pub(crate) fn error_ratio(&self, range: &str, extra: &str) -> String {
        match self.sli {
            Sli::SuccessRate(_) => format!(
                "{}\n/\n{}",
                self.counted_rate(range, extra),
                self.total_rate(range, extra)
            ),
            Sli::Latency(..) => format!(
                "1 - (\n{}\n/\n{}\n)",
                self.counted_rate(range, extra),
                self.total_rate(range, extra)
            ),
        }
    }

    /// Matchers that select this target's recorded series.
    pub(crate) fn recorded(&self) -> String {
        self.recorded_with("")
    }

    /// [`recorded`](Self::recorded) with more matchers (`,service_name=~"$service"`).
    pub(crate) fn recorded_with(&self, extra: &str) -> String {
        format!("{{{},sli={}{extra}}}", self.identity(), quote(self.kind()))
    }

    /// Matchers of the raw series of the functions that carry the objective's target.
    pub(crate) fn identity_matchers(&self) -> String {
        self.identity()
    }
}

/// `expr` with the `service_name` of its target joined from `build_info`, for series
/// that carry only the scrape's `instance` and `job`; `service` keeps one service's
/// (a literal name, or a Grafana variable as a regular expression).
pub(crate) fn with_service(expr: &str, service: Option<&ServiceMatch<'_>>) -> String {
    let filter = match service {
        Some(ServiceMatch::Exact(name)) => format!("{{service_name={}}}", quote(name)),
        Some(ServiceMatch::Regex(re)) => format!("{{service_name=~{}}}", quote(re)),
        None => String::new(),
    };
    // `topk by` keeps one `build_info` per target even while a restarted target's old
    // series is still in the lookback window, which would make the join many-to-many.
    format!(
        "({expr})\n* on (instance, job) group_left (service_name)\ntopk by (instance, job) (1, build_info{filter})"
    )
}

/// How a series' service is chosen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ServiceMatch<'a> {
    Exact(&'a str),
    Regex(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_buckets_in_both_spellings() {
        assert_eq!(le_matcher(ObjectiveLatency::Ms250), r#"le="0.25""#);
        assert_eq!(le_matcher(ObjectiveLatency::Ms1000), r#"le=~"1|1\\.0""#);
        assert_eq!(le_matcher(ObjectiveLatency::Ms10000), r#"le=~"10|10\\.0""#);
        assert_eq!(
            le_matcher(ObjectiveLatency::from_micros(50)),
            r#"le="5e-05""#
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_mins(5)), "5m");
        assert_eq!(duration(Duration::from_hours(1)), "1h");
        assert_eq!(duration(Duration::from_hours(72)), "3d");
        assert_eq!(duration(Duration::from_secs(90)), "90s");
        assert_eq!(duration(Duration::from_hours(26)), "26h");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(regex_escape("a.b|c"), r"a\.b\|c");
    }

    #[test]
    fn targets() {
        let o = Objective::new("api")
            .success_rate(ObjectivePercentile::P99_9)
            .latency(ObjectiveLatency::Ms1000, ObjectivePercentile::P99);
        let t = Target::all(&o, Some("orders"));
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].recorded(),
            r#"{objective_name="api",objective_percentile="99.9",service_name="orders",sli="success_rate"}"#
        );
        assert!(t[1].error_ratio("5m", "").contains(r#"le=~"1|1\\.0""#));
        assert!(
            t[1].recorded()
                .contains(r#"objective_latency_threshold="1""#)
        );
        assert_eq!(t[0].budget().to_bits(), 0.001f64.to_bits());
    }
}
