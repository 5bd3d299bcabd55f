//! Multi-window, multi-burn-rate alerting: the one table of windows and factors, and the
//! one comparison, used by the generated Prometheus rules and by in-process evaluation.
//!
//! The burn rate is how fast the error budget is spent: the error ratio over a window
//! divided by the budget (`1 - target`). Spending at 1× uses the budget in exactly the
//! SLO period (30 days); 14.4× spends 2 % of it in one hour. An alert fires when both the
//! long window (enough budget spent to matter) and the short window (still spending
//! now, so the alert resets soon after a fix) burn faster than the factor. The
//! windows and factors are those of the Google SRE workbook ("Alerting on SLOs",
//! recommended parameters) with the 3× pair Sloth adds:
//!
//! | severity | short | long | factor | budget spent in the long window |
//! |---|---|---|---|---|
//! | page | 5m | 1h | 14.4 | 2 % |
//! | page | 30m | 6h | 6 | 5 % |
//! | ticket | 2h | 1d | 3 | 10 % |
//! | ticket | 6h | 3d | 1 | 10 % |

use std::time::Duration;

/// How urgent an alert is: the `severity` label of the generated alerts, which the
/// generated Alertmanager configuration routes (page → `PagerDuty`, ticket → Slack).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Someone must act now.
    Page,
    /// Someone must act within working hours.
    Ticket,
    /// Worth knowing; nobody needs to act.
    Info,
}

impl Severity {
    /// The label value: `page`, `ticket` or `info`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
            Severity::Info => "info",
        }
    }
}

/// One pair of windows and its factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnWindow {
    /// Who hears about it.
    pub severity: Severity,
    /// The window that makes the alert reset soon after the burn stops.
    pub short: Duration,
    /// The window that makes the alert mean something (enough budget spent).
    pub long: Duration,
    /// How many times faster than sustainable both windows must burn.
    pub factor: f64,
}

impl BurnWindow {
    /// The error ratio above which a window burns too fast for an objective whose error
    /// budget is `budget`: `factor × budget`, computed as Prometheus computes the
    /// generated rules' `(factor * budget)`.
    pub fn threshold(&self, budget: f64) -> f64 {
        self.factor * budget
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// The four pairs, most urgent first.
pub const BURN_WINDOWS: [BurnWindow; 4] = [
    BurnWindow {
        severity: Severity::Page,
        short: Duration::from_secs(5 * MINUTE),
        long: Duration::from_secs(HOUR),
        factor: 14.4,
    },
    BurnWindow {
        severity: Severity::Page,
        short: Duration::from_secs(30 * MINUTE),
        long: Duration::from_secs(6 * HOUR),
        factor: 6.0,
    },
    BurnWindow {
        severity: Severity::Ticket,
        short: Duration::from_secs(2 * HOUR),
        long: Duration::from_secs(DAY),
        factor: 3.0,
    },
    BurnWindow {
        severity: Severity::Ticket,
        short: Duration::from_secs(6 * HOUR),
        long: Duration::from_secs(3 * DAY),
        factor: 1.0,
    },
];

/// Every window an error ratio is measured over, shortest first: the short and long
/// windows of [`BURN_WINDOWS`].
pub const SLI_WINDOWS: [Duration; 7] = [
    Duration::from_secs(5 * MINUTE),
    Duration::from_secs(30 * MINUTE),
    Duration::from_secs(HOUR),
    Duration::from_secs(2 * HOUR),
    Duration::from_secs(6 * HOUR),
    Duration::from_secs(DAY),
    Duration::from_secs(3 * DAY),
];

/// The period an error budget covers (30 days): the remaining budget is
/// `1 - error_ratio(30d) / budget`.
pub const SLO_PERIOD: Duration = Duration::from_secs(30 * DAY);

/// `bad / total`, or `None` without traffic (Prometheus gives `NaN`, which compares
/// false: no traffic never fires an alert).
pub fn error_ratio(bad: f64, total: f64) -> Option<f64> {
    (total > 0.0).then(|| bad / total)
}

/// Whether `window` fires, given the error ratios over its short and long windows: both
/// strictly above [`BurnWindow::threshold`]. The generated alert is exactly
/// `ratio_short > (factor * budget) and ratio_long > (factor * budget)`.
pub fn is_burning(
    window: &BurnWindow,
    budget: f64,
    short_ratio: Option<f64>,
    long_ratio: Option<f64>,
) -> bool {
    let threshold = window.threshold(budget);
    matches!((short_ratio, long_ratio), (Some(s), Some(l)) if s > threshold && l > threshold)
}

/// The pairs of [`BURN_WINDOWS`] that fire for an objective whose error budget is
/// `budget`; `ratio(window)` gives the error ratio over the last `window` (`None`
/// without traffic).
///
/// ```
/// use std::time::Duration;
/// use flext_observability::objectives::{ObjectivePercentile, Severity, burning};
///
/// // 2 % errors for a 99.9 % objective: 20× the budget in every window.
/// let budget = ObjectivePercentile::P99_9.error_budget();
/// let firing = burning(budget, |_window: Duration| Some(0.02));
/// assert_eq!(firing.len(), 4);
/// assert_eq!(firing[0].severity, Severity::Page);
///
/// // 0.5 %: 5×, below both page factors, above both ticket factors.
/// let firing = burning(budget, |_| Some(0.005));
/// assert!(firing.iter().all(|w| w.severity == Severity::Ticket));
/// assert_eq!(firing.len(), 2);
/// ```
pub fn burning(budget: f64, ratio: impl Fn(Duration) -> Option<f64>) -> Vec<&'static BurnWindow> {
    BURN_WINDOWS
        .iter()
        .filter(|w| is_burning(w, budget, ratio(w.short), ratio(w.long)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_follow_the_budget_spent() {
        // factor = share of budget × period / long window (Sloth's getBurnRateFactor).
        let period_h = SLO_PERIOD.as_secs_f64() / 3600.0;
        for (w, share) in BURN_WINDOWS.iter().zip([0.02, 0.05, 0.10, 0.10]) {
            let long_h = w.long.as_secs_f64() / 3600.0;
            assert!((share * period_h / long_h - w.factor).abs() < 1e-9, "{w:?}");
        }
    }

    #[test]
    fn sli_windows_are_the_burn_windows() {
        let mut all: Vec<Duration> = BURN_WINDOWS
            .iter()
            .flat_map(|w| [w.short, w.long])
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all, SLI_WINDOWS);
    }

    #[test]
    fn strictly_above_both_windows() {
        let w = &BURN_WINDOWS[0];
        let t = w.threshold(0.001);
        assert!(is_burning(w, 0.001, Some(t * 1.01), Some(t * 1.01)));
        assert!(!is_burning(w, 0.001, Some(t), Some(t * 2.0)));
        assert!(!is_burning(w, 0.001, Some(t * 2.0), Some(t * 0.99)));
        assert!(!is_burning(w, 0.001, None, Some(1.0)));
        assert!(!is_burning(w, 0.001, Some(f64::NAN), Some(1.0)));
    }

    #[test]
    fn no_traffic_is_no_ratio() {
        assert_eq!(error_ratio(0.0, 0.0), None);
        assert_eq!(error_ratio(1.0, 4.0), Some(0.25));
    }
}
