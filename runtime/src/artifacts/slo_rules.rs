//! Recording and alerting rules for every declared objective.
//!
//! Per target (success rate, latency) of an objective, one rule group:
//!
//! - `service_objective:calls:rate5m` and `service_objective:bad_calls:rate5m`: calls
//!   that count and bad ones, per second, by service;
//! - `service_objective:error_ratio:rate<W>` for every window of [`SLI_WINDOWS`], and
//!   `…:rate30d`, the traffic-weighted ratio over the SLO period, from the two 5m
//!   records (a 30-day `rate()` every evaluation would be too costly);
//! - `service_objective:error_budget_remaining:ratio`: `1 - ratio30d / budget`;
//! - one alert per pair of [`BURN_WINDOWS`]: `ratio_short > (factor * budget) and
//!   ratio_long > (factor * budget)`, the comparison [`is_burning`] makes in process.
//!
//! Records carry `service_name`, `objective_name`, `objective_percentile`
//! (`objective_latency_threshold` for latency) and `sli`; nothing names an instance, so
//! they sum every instance of a service, and load unchanged in a Thanos or Mimir ruler.
//!
//! [`is_burning`]: crate::objectives::is_burning

use std::fmt::Write as _;

use super::promql::{Sli, Target, duration, number};
use super::text::{block, pair, push_indent, scalar};
use crate::objectives::{BURN_WINDOWS, BurnWindow, SLI_WINDOWS, SLO_PERIOD};

/// The record holding the error ratio over `window` (`5m`, `30d`).
pub(crate) fn ratio_record(window: &str) -> String {
    format!("service_objective:error_ratio:rate{window}")
}

/// The remaining error budget record.
pub(crate) const BUDGET_RECORD: &str = "service_objective:error_budget_remaining:ratio";
const CALLS_RECORD: &str = "service_objective:calls:rate5m";
const BAD_RECORD: &str = "service_objective:bad_calls:rate5m";

/// The alert name of a target kind.
pub(crate) fn alert_name(target: &Target<'_>) -> &'static str {
    match target.sli {
        Sli::SuccessRate(_) => "SuccessRateBudgetBurn",
        Sli::Latency(..) => "LatencyBudgetBurn",
    }
}

/// Appends the group of `target` to a rules file (under `groups:`).
pub(crate) fn group(out: &mut String, group_name: &str, target: &Target<'_>) {
    let _ = writeln!(out, "  - name: {}", scalar(group_name));
    out.push_str("    rules:\n");
    // The series already carry these; as static labels they also tell the rules of
    // different objectives apart for `promtool check rules`' duplicate lint.
    let labels = static_labels(target);
    let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let labels = labels.as_slice();
    record(out, CALLS_RECORD, &target.total_rate("5m", ""), labels);
    record(out, BAD_RECORD, &target.bad_rate("5m", ""), labels);
    for window in SLI_WINDOWS {
        let w = duration(window);
        record(out, &ratio_record(&w), &target.error_ratio(&w, ""), labels);
    }
    let sel = target.recorded();
    let period = duration(SLO_PERIOD);
    record(
        out,
        &ratio_record(&period),
        &format!(
            "sum_over_time({BAD_RECORD}{sel}[{period}])\n/\nsum_over_time({CALLS_RECORD}{sel}[{period}])"
        ),
        labels,
    );
    record(
        out,
        BUDGET_RECORD,
        &format!(
            "1 - {}{sel} / {}",
            ratio_record(&period),
            number(target.budget())
        ),
        labels,
    );
    for window in &BURN_WINDOWS {
        alert(out, target, window, labels);
    }
}

/// `sli`, `objective_name`, and `service_name` when the rules are scoped to one.
fn static_labels(target: &Target<'_>) -> Vec<(&'static str, String)> {
    let mut labels = vec![
        ("sli", target.kind().to_owned()),
        ("objective_name", target.objective.name().to_owned()),
    ];
    if let Some(service) = target.service {
        labels.push(("service_name", service.to_owned()));
    }
    labels
}

fn record(out: &mut String, name: &str, expr: &str, labels: &[(&str, &str)]) {
    let _ = writeln!(out, "      - record: {name}");
    block(out, 8, "expr", expr);
    if !labels.is_empty() {
        push_indent(out, 8);
        out.push_str("labels:\n");
        for (k, v) in labels {
            pair(out, 10, k, v);
        }
    }
}

/// The alert expression of one pair of windows.
pub(crate) fn burn_expr(target: &Target<'_>, window: &BurnWindow) -> String {
    let threshold = format!("({} * {})", number(window.factor), number(target.budget()));
    let sel = target.recorded();
    format!(
        "{short}{sel} > {threshold}\nand\n{long}{sel} > {threshold}",
        short = ratio_record(&duration(window.short)),
        long = ratio_record(&duration(window.long)),
    )
}

fn alert(out: &mut String, target: &Target<'_>, window: &BurnWindow, labels: &[(&str, &str)]) {
    let _ = writeln!(out, "      - alert: {}", alert_name(target));
    block(out, 8, "expr", &burn_expr(target, window));
    out.push_str("        labels:\n");
    pair(out, 10, "severity", window.severity.as_str());
    for (k, v) in labels {
        pair(out, 10, k, v);
    }
    pair(out, 10, "window", &duration(window.long));
    pair(out, 10, "burn_rate", &number(window.factor));
    out.push_str("        annotations:\n");
    let (what, of) = match target.sli {
        Sli::SuccessRate(_) => ("success-rate", "calls fail".to_owned()),
        Sli::Latency(t, _) => (
            "latency",
            format!("calls take longer than {} s", number(t.as_secs_f64())),
        ),
    };
    let budget = number(target.budget() * 100.0);
    pair(
        out,
        10,
        "summary",
        &format!(
            "{{{{ $labels.service_name }}}}: objective {{{{ $labels.objective_name }}}} spends its {what} budget {}x too fast",
            number(window.factor)
        ),
    );
    pair(
        out,
        10,
        "description",
        &format!(
            "{{{{ $value | humanizePercentage }}}} of calls counted over the last {short}, and more than {limit} over {long}: \
             {of} more often than the {budget}% the {period} budget allows. At this rate the whole budget lasts {lasts}.",
            short = duration(window.short),
            long = duration(window.long),
            limit = format_percent(window.factor * target.budget()),
            period = duration(SLO_PERIOD),
            lasts = lasts(window.factor),
        ),
    );
}

/// `1.44%`.
fn format_percent(ratio: f64) -> String {
    let percent = (ratio * 100.0 * 1e6).round() / 1e6;
    format!("{}%", number(percent))
}

/// How long a 30-day budget lasts at `factor` times the sustainable rate.
fn lasts(factor: f64) -> String {
    let hours = SLO_PERIOD.as_secs_f64() / 3600.0 / factor;
    if hours >= 48.0 {
        format!("{} days", number((hours / 24.0 * 10.0).round() / 10.0))
    } else {
        format!("{} hours", number((hours * 10.0).round() / 10.0))
    }
}

/// The group name for a target of an objective, unique within one file.
pub(crate) fn group_name(target: &Target<'_>) -> String {
    let mut name = String::from("flext-slo");
    if let Some(service) = target.service {
        let _ = write!(name, ":{service}");
    }
    let _ = write!(name, ":{}:{}", target.objective.name(), target.kind());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};

    #[test]
    fn burn_expressions_compare_both_windows() {
        let o = Objective::new("api").success_rate(ObjectivePercentile::P99_9);
        let t = Target::all(&o, None);
        let e = burn_expr(&t[0], &BURN_WINDOWS[0]);
        assert_eq!(
            e,
            "service_objective:error_ratio:rate5m{objective_name=\"api\",objective_percentile=\"99.9\",sli=\"success_rate\"} > (14.4 * 0.001)\nand\n\
             service_objective:error_ratio:rate1h{objective_name=\"api\",objective_percentile=\"99.9\",sli=\"success_rate\"} > (14.4 * 0.001)"
        );
    }

    #[test]
    fn one_group_per_target() {
        let o = Objective::new("api")
            .success_rate(ObjectivePercentile::P99)
            .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P95);
        let mut out = String::new();
        for t in Target::all(&o, Some("orders")) {
            group(&mut out, &group_name(&t), &t);
        }
        assert!(
            out.contains("  - name: \"flext-slo:orders:api:success_rate\"\n"),
            "{out}"
        );
        assert!(
            out.contains("  - name: \"flext-slo:orders:api:latency\"\n"),
            "{out}"
        );
        assert_eq!(out.matches("- alert: SuccessRateBudgetBurn").count(), 4);
        assert_eq!(out.matches("- alert: LatencyBudgetBurn").count(), 4);
        assert_eq!(out.matches("- record: ").count(), 2 * 11);
        assert!(
            out.contains("1 - service_objective:error_ratio:rate30d{"),
            "{out}"
        );
        assert!(out.contains("lasts 2.1 days"), "{out}");
        assert!(out.contains("lasts 30 days"), "{out}");
    }

    #[test]
    fn percentages() {
        assert_eq!(format_percent(14.4 * 0.001), "1.44%");
        assert_eq!(format_percent(0.1), "10%");
        assert_eq!(lasts(14.4), "2.1 days");
        assert_eq!(lasts(6.0), "5 days");
    }
}
