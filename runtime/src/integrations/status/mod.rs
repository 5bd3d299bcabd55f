//! The status page (feature `status`, on by default): what the process knows about
//! itself on one page, for a person — `/status` on the embedded server, `/status.json`
//! for scripts, and `/` redirecting to `/status`.
//!
//! ```no_run
//! use flext_observability::Observability;
//!
//! let guard = Observability::builder()
//!     .trace_url_template("http://localhost:16686/trace/{trace_id}") // Jaeger
//!     .install()
//!     .unwrap();
//! // Open http://127.0.0.1:9464/status in a browser.
//! # drop(guard);
//! ```
//!
//! # What it shows
//!
//! - **Functions** (every `#[monitor]`), what needs attention first: an objective whose
//!   error budget is spent, then functions with errors or panics in the last 15
//!   minutes (most errors first), then the busiest. Per function: calls per second over
//!   the last 1, 5 and 15 minutes; the error ratio and p50/p95/p99 over 5 minutes
//!   (estimated from the histogram buckets as Prometheus' `histogram_quantile` does);
//!   in-flight calls; calls since start by result; the objective and what is left of
//!   its error budgets since the process started (`1 - bad ratio / (1 - target)`); a
//!   sparkline of calls per second over the last 15 minutes.
//! - **Health checks**: status, probe, groups, last run, duration and, where details
//!   are allowed, the message.
//! - **Alerts** firing (when the alerts integration is part of the build).
//! - **Recent failures**, like OpenTelemetry's zPages tracez: the last 32 calls that
//!   returned an error or panicked, and the 32 slowest calls of the last 15 minutes,
//!   with function, duration, error type and message, and the trace id (a link with
//!   [`trace_url_template`](crate::ObservabilityBuilder::trace_url_template)); with the
//!   feature `sqlx`, the slow and failed queries.
//! - **Metrics**: business metrics and every other family `/metrics` has, at the moment
//!   of the request.
//! - **Build and process**: `build_info`, uptime, CPU (share of a core over each window)
//!   and memory (the `process_*` metrics, feature `system`).
//!
//! Functions, metrics and process values come from the same read `/metrics` does, so
//! `/status.json` and `/metrics` agree at any moment. The 1, 5 and 15-minute figures
//! come from samples of every function taken every 10 s
//! ([`status_sample_interval`](crate::ObservabilityBuilder::status_sample_interval))
//! by a background thread, kept for 15 minutes in bounded memory (only the functions
//! called in an interval take room); a window covers the samples it holds plus the
//! time since the last one, and `/status.json` says how many seconds that is.
//!
//! # Who may read it
//!
//! As the health details: clients on this machine (loopback) read the page; anyone else
//! needs the health token (`Authorization: Bearer …`,
//! [`health_token`](crate::ObservabilityBuilder::health_token)) and is refused (403)
//! without it. Messages — health check outputs, error and panic messages, query
//! statements — are shown to loopback clients only with
//! [`health_details(true)`](crate::ObservabilityBuilder::health_details), and to token
//! holders. Responses are `Cache-Control: no-store`.
//!
//! `/status?refresh=10` reloads itself every 10 seconds (2 to 3600). The page loads
//! nothing (it works offline) and runs no script: its
//! `Content-Security-Policy` is `default-src 'none'` with the one inline stylesheet
//! allowed by its hash; sparklines are inline SVG.
//!
//! # `/status.json`
//!
//! One object: `generated` (RFC 3339), `service` (the `build_info` labels),
//! `uptime_seconds` and `uptime_since` (`process` or `install`), `details` (whether
//! messages are shown), `sample_interval_seconds`, `windows` (`name`, `seconds`
//! covered), `process` (every unlabelled `process_*` value by name), `cpu_share` (per
//! window), `alerts` (`enabled`, `firing`), and:
//!
//! - `functions`: `function`, `module`, `location`, `attention` (`budget spent`,
//!   `failing`, `ok`, `idle`), `calls` (`ok`, `error`, `panic`, `cancelled`: the
//!   `function_calls_total` values), `in_flight`, `duration_seconds_sum`, `windows`
//!   (`1m`, `5m`, `15m`: `calls`, `rate`, `error_ratio`, `p50`, `p95`, `p99`),
//!   `objective` (`name`, `success_rate_percent`, `success_budget_left`,
//!   `latency_threshold_seconds`, `latency_percent`, `latency_budget_left`, or `null`),
//!   `sparkline` (calls per second over the last 15 minutes, oldest first, at most 30 points);
//! - `health`: `status` and `checks` (`name`, `kind`, `critical`, `groups`, `status`,
//!   `last_run`, `duration_seconds`, `message`);
//! - `metrics`: `name`, `type`, `help`, `series` (`labels`, and `value`, or `count`,
//!   `sum` and cumulative `buckets` as `[le, count]`);
//! - `recent_failures` and `slowest_calls`: `kind` (`error`, `panic`, `slow`), `at`,
//!   `function`, `module`, `duration_seconds`, `error_type`, `message`, `location` and
//!   `thread` (panics), `trace_id`, `span_id`, `trace_url`, `cancelled`;
//! - `slow_queries` (`null` without the feature `sqlx`).
//!
//! Values that do not exist yet (a quantile without calls) are `null`.
//!
//! # Panics
//!
//! `install()` also puts a panic hook in front of the one already set, which it still
//! calls ([`panic_hook(false)`](crate::ObservabilityBuilder::panic_hook) to opt out):
//! every panic counts in `process_panics_total{thread}`, is emitted as an `exception`
//! event (`exception.message`, `code.filepath`, `code.lineno`, and `exception.stacktrace`
//! only when `RUST_BACKTRACE` asks) on the current span — a JSON log line with its trace
//! and span ids, with the feature `logs` — and is kept among the recent failures, with
//! the monitored function it unwound through. Local values never are. Panics of health
//! checks are counted only: the health runner reports them under its own rule.

mod alerts;
mod builder;
mod csp;
mod html;
mod json;
mod page;
mod panic;
mod reading;
mod route;
mod sampler;
mod text;
mod windows;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use self::builder::StatusSettings;
use self::sampler::{Ring, Sampler};
use crate::error::Error;
use crate::integration::{IntegrationEntry, Prepared, Running, Setup, Start};
use crate::settings::{self, Policy};

inventory::submit!(IntegrationEntry { order: 40, prepare });

const PAGE_VAR: &str = "FLEXT_OBS_STATUS_PAGE";
const HOOK_VAR: &str = "FLEXT_OBS_PANIC_HOOK";
const TRACE_URL_VAR: &str = "FLEXT_OBS_TRACE_URL_TEMPLATE";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// What the routes read while the page runs.
#[derive(Debug)]
pub(super) struct Shared {
    ring: Arc<Mutex<Ring>>,
    started: Instant,
    trace_url: Option<String>,
}

static SHARED: RwLock<Option<Arc<Shared>>> = RwLock::new(None);

fn shared() -> Option<Arc<Shared>> {
    SHARED
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The link to a trace: `template` with `{trace_id}` and `{span_id}` replaced.
fn trace_link(
    template: Option<&str>,
    trace_id: Option<&str>,
    span_id: Option<&str>,
) -> Option<String> {
    let (template, trace_id) = (template?, trace_id?);
    Some(
        template
            .replace("{trace_id}", trace_id)
            .replace("{span_id}", span_id.unwrap_or("")),
    )
}

#[derive(Debug)]
struct Ready {
    page: bool,
    hook: bool,
    trace_url: Option<String>,
    interval: Duration,
}

fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let code = setup.extensions.take::<StatusSettings>();
    Ok(Some(Box::new(resolve(code, setup.env)?)))
}

fn resolve(code: StatusSettings, env: settings::EnvLookup<'_>) -> Result<Ready, Error> {
    let page = settings::code_or_read(code.page, env, PAGE_VAR, Policy::Strict, settings::boolean)?;
    let hook = settings::code_or_read(
        code.panic_hook,
        env,
        HOOK_VAR,
        Policy::Strict,
        settings::boolean,
    )?;
    let (template, source) = match code.trace_url_template {
        Some(t) => (Some(t), "trace_url_template"),
        None => (
            settings::read(env, TRACE_URL_VAR, Policy::Strict, |v| Ok(v.to_owned()))?,
            TRACE_URL_VAR,
        ),
    };
    let trace_url = template
        .map(|t| check_template(&t).map(|()| t))
        .transpose()
        .map_err(|reason| Error::config(source, reason))?;
    let interval = code.sample_interval.unwrap_or(DEFAULT_INTERVAL);
    if !(Duration::from_millis(100)..=Duration::from_mins(1)).contains(&interval) {
        return Err(Error::config(
            "status_sample_interval",
            format!("{interval:?} is outside 100ms..=60s"),
        ));
    }
    Ok(Ready {
        page: page.unwrap_or(true),
        hook: hook.unwrap_or(true),
        trace_url,
        interval,
    })
}

fn check_template(template: &str) -> Result<(), String> {
    let lower = template.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(format!("`{template}` is not an http:// or https:// URL"));
    }
    if !template.contains("{trace_id}") {
        return Err(format!("`{template}` has no `{{trace_id}}` to replace"));
    }
    if template
        .chars()
        .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
    {
        return Err(format!(
            "`{template}` has a space, a quote or an angle bracket"
        ));
    }
    Ok(())
}

impl Prepared for Ready {
    fn start(self: Box<Self>, _: &mut Start) -> Result<Box<dyn Running>, Error> {
        let sampler = if self.page {
            let sampler = Sampler::start(self.interval).map_err(Error::Spawn)?;
            crate::recent::enable(true);
            *SHARED.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(Shared {
                ring: sampler.ring(),
                started: Instant::now(),
                trace_url: self.trace_url,
            }));
            Some(sampler)
        } else {
            None
        };
        if self.hook {
            panic::install();
        }
        Ok(Box::new(Page { _sampler: sampler }))
    }
}

/// The running page: stops sampling and keeping failures, and the hook reporting, when
/// the guard drops it.
#[derive(Debug)]
struct Page {
    _sampler: Option<Sampler>,
}

impl Running for Page {}

impl Drop for Page {
    fn drop(&mut self) {
        panic::stop();
        crate::recent::enable(false);
        *SHARED.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::test_env;

    fn resolved(code: StatusSettings, env: &[(&str, &str)]) -> Result<Ready, Error> {
        resolve(code, &test_env(env))
    }

    #[test]
    fn settings_code_over_environment_over_defaults() {
        let ready = resolved(StatusSettings::default(), &[]).unwrap();
        assert!(ready.page && ready.hook && ready.trace_url.is_none());
        assert_eq!(ready.interval, DEFAULT_INTERVAL);
        let ready = resolved(
            StatusSettings::default(),
            &[
                (PAGE_VAR, "false"),
                (HOOK_VAR, "false"),
                (TRACE_URL_VAR, "https://tempo.example/trace/{trace_id}"),
            ],
        )
        .unwrap();
        assert!(!ready.page && !ready.hook);
        assert_eq!(
            ready.trace_url.as_deref(),
            Some("https://tempo.example/trace/{trace_id}")
        );
        let code = StatusSettings {
            page: Some(true),
            ..StatusSettings::default()
        };
        assert!(resolved(code, &[(PAGE_VAR, "false")]).unwrap().page);
    }

    #[test]
    fn bad_settings_name_their_source() {
        let err = resolved(StatusSettings::default(), &[(PAGE_VAR, "maybe")])
            .unwrap_err()
            .to_string();
        assert!(err.contains(PAGE_VAR), "{err}");
        let err = resolved(
            StatusSettings::default(),
            &[(TRACE_URL_VAR, "http://x/trace")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(TRACE_URL_VAR) && err.contains("{trace_id}"),
            "{err}"
        );
        let code = StatusSettings {
            trace_url_template: Some("javascript:alert({trace_id})".into()),
            ..StatusSettings::default()
        };
        let err = resolved(code, &[]).unwrap_err().to_string();
        assert!(err.contains("trace_url_template"), "{err}");
        let code = StatusSettings {
            sample_interval: Some(Duration::from_millis(10)),
            ..StatusSettings::default()
        };
        let err = resolved(code, &[]).unwrap_err().to_string();
        assert!(err.contains("status_sample_interval"), "{err}");
    }

    #[test]
    fn trace_links_fill_the_template() {
        assert_eq!(
            trace_link(
                Some("http://j/trace/{trace_id}?span={span_id}"),
                Some("ab"),
                Some("cd")
            ),
            Some("http://j/trace/ab?span=cd".to_owned())
        );
        assert_eq!(trace_link(None, Some("ab"), None), None);
        assert_eq!(trace_link(Some("http://j/{trace_id}"), None, None), None);
    }
}
