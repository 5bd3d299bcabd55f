//! What the page shows, gathered once per request from every source: the one read of
//! the merge (functions, process, metrics), the health snapshot, the recent failures,
//! the sampler's windows. The HTML and the JSON are two renderings of this.

use std::sync::PoisonError;
use std::time::{Duration, Instant, SystemTime};

use super::reading::{self, Counts, Family, Reading, Scope};
use super::sampler::Windows;
use super::windows::{self, QUANTILES, Tally};
use super::{Shared, alerts};
use crate::catalog;
use crate::health::{self, Kind, Probe, Status};
use crate::recent::{self, Call};

/// One function's figures over one window.
#[derive(Debug, Default)]
pub(super) struct WindowView {
    pub(super) calls: u64,
    pub(super) rate: Option<f64>,
    pub(super) error_ratio: Option<f64>,
    /// p50, p95, p99 in seconds.
    pub(super) quantiles: [Option<f64>; 3],
}

/// A function's objective and what is left of its budgets since the process started.
#[derive(Debug)]
pub(super) struct ObjectiveView {
    pub(super) name: &'static str,
    /// Target share of successful calls, in percent.
    pub(super) success_percent: Option<f64>,
    pub(super) success_budget_left: Option<f64>,
    /// Latency threshold (seconds) and target share under it, in percent.
    pub(super) latency: Option<(f64, f64)>,
    pub(super) latency_budget_left: Option<f64>,
}

/// Why a function is where it is in the list, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Attention {
    /// An objective's error budget is spent.
    BudgetSpent,
    /// Errors or panics in the last 15 minutes.
    Failing,
    /// Calls in the last 15 minutes, all fine.
    Active,
    /// No call in the last 15 minutes.
    Idle,
}

impl Attention {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Attention::BudgetSpent => "budget spent",
            Attention::Failing => "failing",
            Attention::Active => "ok",
            Attention::Idle => "idle",
        }
    }
}

#[derive(Debug)]
pub(super) struct FunctionView {
    pub(super) function: &'static str,
    pub(super) module: &'static str,
    pub(super) location: String,
    /// Since the process started (what `/metrics` shows).
    pub(super) counts: Counts,
    pub(super) windows: [WindowView; 3],
    pub(super) objective: Option<ObjectiveView>,
    pub(super) sparkline: Vec<f64>,
    pub(super) attention: Attention,
}

#[derive(Debug)]
pub(super) struct CheckView {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) critical: bool,
    pub(super) groups: Vec<String>,
    pub(super) status: Status,
    pub(super) last_run: Option<SystemTime>,
    pub(super) duration: Option<Duration>,
    /// What the check returned: only where details are allowed.
    pub(super) message: Option<String>,
}

#[derive(Debug)]
pub(super) struct HealthView {
    pub(super) status: Status,
    pub(super) checks: Vec<CheckView>,
}

/// A slow or failed query of the `sqlx` integration.
#[derive(Debug)]
pub(super) struct QueryView {
    pub(super) at: SystemTime,
    pub(super) system: &'static str,
    pub(super) summary: &'static str,
    pub(super) duration: Duration,
    pub(super) error_type: Option<String>,
    /// The sanitised statement, only where details are allowed.
    pub(super) text: Option<String>,
    pub(super) trace_id: Option<String>,
}

#[derive(Debug)]
pub(super) struct Page {
    pub(super) generated: SystemTime,
    pub(super) build_info: Vec<(String, String)>,
    /// Seconds since the process started (`process_start_time_seconds`), else since
    /// `install()`; and which.
    pub(super) uptime: (f64, &'static str),
    pub(super) process: Vec<(String, f64)>,
    /// The share of one CPU used over each window.
    pub(super) cpu: [Option<f64>; 3],
    pub(super) window_seconds: [f64; 3],
    pub(super) interval_seconds: f64,
    pub(super) functions: Vec<FunctionView>,
    pub(super) health: Option<HealthView>,
    /// Whether messages (health outputs, error and panic texts, statements) are shown.
    pub(super) details: bool,
    pub(super) alerts: alerts::Alerts,
    pub(super) families: Vec<Family>,
    pub(super) failures: Vec<Call>,
    pub(super) slowest: Vec<Call>,
    /// `None` without the `sqlx` feature.
    pub(super) queries: Option<Vec<QueryView>>,
    pub(super) trace_url: Option<String>,
}

/// Everything the page shows, now; `details` says whether messages are shown.
pub(super) fn gather(shared: &Shared, details: bool) -> Page {
    let now = Instant::now();
    let reading = reading::read(Scope::Page);
    let windows = shared
        .ring
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .windows(&reading, now);
    let generated = SystemTime::now();
    let uptime = match reading.process("process_start_time_seconds") {
        Some(start) => (unix_seconds(generated) - start, "process"),
        None => (shared.started.elapsed().as_secs_f64(), "install"),
    };
    let functions = functions(&reading, &windows);
    let mut failures = recent::failures();
    let mut slowest = recent::slowest();
    if !details {
        for call in failures.iter_mut().chain(slowest.iter_mut()) {
            call.message = None;
        }
    }
    let Reading {
        process,
        build_info,
        families,
        ..
    } = reading;
    Page {
        generated,
        build_info,
        uptime,
        process,
        cpu: windows.cpu,
        window_seconds: windows.seconds,
        interval_seconds: windows.interval_seconds,
        functions,
        health: health_view(details),
        details,
        alerts: alerts::firing(),
        families,
        failures,
        slowest,
        #[cfg(feature = "sqlx")]
        queries: Some(queries(details)),
        #[cfg(not(feature = "sqlx"))]
        queries: None,
        trace_url: shared.trace_url.clone(),
    }
}

fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn functions(reading: &Reading, windows: &Windows) -> Vec<FunctionView> {
    let monitors = &catalog::catalog().monitors;
    let mut views: Vec<FunctionView> = monitors
        .iter()
        .zip(&reading.functions)
        .zip(&windows.functions)
        .map(|((site, counts), fw)| {
            let meta = site.meta();
            let view: [WindowView; 3] = std::array::from_fn(|w| {
                window_view(&fw.tallies[w], windows.seconds[w], meta.bounds)
            });
            let objective = meta.objective.map(|objective| {
                let total = Tally {
                    outcomes: counts.outcomes,
                    buckets: counts.buckets.clone(),
                };
                let (bad, all) = total.success_events();
                let success = objective.success_rate_target();
                let latency = objective.latency_target();
                ObjectiveView {
                    name: objective.name(),
                    success_percent: success.map(crate::objectives::ObjectivePercentile::percent),
                    success_budget_left: success
                        .and_then(|p| windows::budget_left(bad, all, p.error_budget())),
                    latency: latency.map(|(t, p)| (t.as_secs_f64(), p.percent())),
                    latency_budget_left: latency.zip(meta.threshold_bucket()).and_then(
                        |((_, p), bucket)| {
                            let (slow, all) = windows::slower_than(bucket, &counts.buckets);
                            windows::budget_left(slow, all, p.error_budget())
                        },
                    ),
                }
            });
            let spent = objective.as_ref().is_some_and(|o| {
                [o.success_budget_left, o.latency_budget_left]
                    .into_iter()
                    .flatten()
                    .any(|left| left <= 0.0)
            });
            let last = &view[2];
            let attention = if spent {
                Attention::BudgetSpent
            } else if last.error_ratio.is_some_and(|r| r > 0.0) {
                Attention::Failing
            } else if last.calls > 0 {
                Attention::Active
            } else {
                Attention::Idle
            };
            FunctionView {
                function: meta.function,
                module: meta.module,
                location: format!("{}:{}", meta.file, meta.line),
                counts: counts.clone(),
                windows: view,
                objective,
                sparkline: fw.sparkline.clone(),
                attention,
            }
        })
        .collect();
    // What needs attention first; then the most errors over 5 minutes, the busiest.
    views.sort_by(|a, b| {
        a.attention
            .cmp(&b.attention)
            .then_with(|| {
                let ratio = |v: &FunctionView| v.windows[1].error_ratio.unwrap_or(0.0);
                ratio(b).total_cmp(&ratio(a))
            })
            .then_with(|| b.windows[2].calls.cmp(&a.windows[2].calls))
            .then_with(|| (a.function, a.module).cmp(&(b.function, b.module)))
    });
    views
}

fn window_view(tally: &Tally, seconds: f64, bounds: &[f64]) -> WindowView {
    let calls = tally.calls();
    WindowView {
        calls,
        rate: (seconds > 0.0).then(|| calls as f64 / seconds),
        error_ratio: tally.error_ratio(),
        quantiles: QUANTILES.map(|(_, q)| windows::quantile(q, bounds, &tally.buckets)),
    }
}

fn health_view(details: bool) -> Option<HealthView> {
    let snapshot = health::snapshot()?;
    let checks = snapshot
        .checks()
        .iter()
        .map(|c| CheckView {
            name: c.name().to_owned(),
            kind: c.kind(),
            critical: c.critical(),
            groups: c.groups().map(str::to_owned).collect(),
            status: c.status(),
            last_run: c.time(),
            duration: c.duration(),
            message: c
                .report()
                .and_then(|r| r.output_text())
                .filter(|_| details)
                .map(str::to_owned),
        })
        .collect();
    Some(HealthView {
        status: snapshot.status(Probe::All),
        checks,
    })
}

#[cfg(feature = "sqlx")]
fn queries(details: bool) -> Vec<QueryView> {
    crate::integrations::sqlx::recent_queries()
        .into_iter()
        .map(|q| QueryView {
            at: q.at,
            system: q.system,
            summary: q.summary,
            duration: q.duration,
            error_type: q.error_type,
            text: q.text.filter(|_| details),
            trace_id: q.trace_id,
        })
        .collect()
}
