//! Alerting without a rule pipeline (feature `alerts`): conditions declared where the
//! code is, evaluated in the process on a background schedule, delivered to
//! [Alertmanager](https://prometheus.io/docs/alerting/latest/alertmanager/) for its
//! routing, grouping, silences and receivers; and the same rules generated for
//! Prometheus ([`artifacts`](crate::artifacts)), so the two never disagree.
//!
//! ```no_run
//! use std::time::Duration;
//! use flext_observability::{Gauge, Observability, business_metric, monitor};
//!
//! #[derive(Debug)]
//! struct Declined;
//!
//! #[monitor(
//!     // Page when more than 5 % of the charges of the last 5 minutes failed, for 1 minute.
//!     alert(error_rate > 0.05, over = "5m", for = "1m", severity = "page"),
//!     // A ticket when the slowest 1 % of charges took more than 5 s over 5 minutes.
//!     alert(latency_p99 > "5s", over = "5m"),
//! )]
//! fn charge_card(cents: u64) -> Result<u64, Declined> {
//!     if cents == 0 { Err(Declined) } else { Ok(cents) }
//! }
//!
//! /// Share of valid records in the last batch, 0 to 1.
//! #[business_metric(alert(name = "LowDataQuality", below = 0.95, severity = "ticket"))]
//! static DATA_QUALITY_RATIO: Gauge;
//!
//! let guard = Observability::builder()
//!     .service_name("payments")
//!     .alertmanager_url("http://alertmanager:9093") // or FLEXT_OBS_ALERTMANAGER_URL
//!     .alert_evaluation_interval(Duration::from_secs(15))
//!     .install()?;
//! # Ok::<(), flext_observability::Error>(())
//! ```
//!
//! # What is evaluated
//!
//! | alert | when | severity |
//! |---|---|---|
//! | `SuccessRateBudgetBurn`, `LatencyBudgetBurn` | an [objective](crate::objectives) burns its error budget too fast: the multi-window conditions of [`BURN_WINDOWS`](crate::objectives::BURN_WINDOWS), compared by [`is_burning`](crate::objectives::is_burning) as the generated rules compare them | `page` (14.4× over 5m and 1h, 6× over 30m and 6h), `ticket` (3× over 2h and 1d, 1× over 6h and 3d) |
//! | as declared | `#[monitor(alert(..))]`: `error_rate > r`, `errors > n`, `latency_pNN > "d"` over a window; `#[business_metric(alert(..))]`: a gauge `below`/`above` a level, a counter's increase over a window | as declared (default `ticket`) |
//! | `HealthCheckFailing` | a critical `#[health_check]` unhealthy for 1 minute / a non-critical one for 5 minutes ([`health_check_alert_for`](crate::ObservabilityBuilder::health_check_alert_for)) | `page` / `ticket` |
//!
//! Evaluation reads the counters that exist anyway, through the same read path as
//! `/metrics`: a monitored call does exactly the same work with or without alerts.
//! Windows are measured from the process's own counters (kept at a resolution that
//! grows with their age, so a 3-day window costs some 800 samples per series), so an
//! alert concerns this instance; the generated rules of declared alerts compare the
//! same per instance, while objective rules sum every instance of a service.
//!
//! The seeds' alerts, written where the code is:
//!
//! | wanted | declaration |
//! |---|---|
//! | slow API responses, above 5 s | `#[monitor(alert(latency_p99 > "5s", over = "5m", severity = "page"))]` |
//! | error rate above 5 % | `#[monitor(alert(error_rate > 0.05, over = "5m", severity = "page"))]` |
//! | data quality below 0.95 | `#[business_metric(alert(below = 0.95, severity = "ticket"))]` on its gauge |
//! | a pipeline run failed | `#[monitor(alert(errors > 0, over = "1h", for = "0s"))]` on the run function, or `#[business_metric(alert(above = 0, over = "1h", for = "0s"))]` on a `…_failures_total` counter |
//!
//! # `alert(..)`
//!
//! | setting | default | |
//! |---|---|---|
//! | the condition | required | on `#[monitor]`: `error_rate > 0.05` (a share, 0 to 1, of calls that ended `ok` or `error`; panics are errors, cancelled calls count as neither), `errors > 0` (failed calls in the window), `latency_p99 > "500ms"` (`p50`, `p90`, `p95`, `p99`, `p999`, …: interpolated in its bucket as `histogram_quantile` does); on `#[business_metric]`: `below = 0.95` or `above = 100` (a gauge as it is; a counter's increase over the window) |
//! | `name = "…"` | the function or metric in `UpperCamelCase` and what is compared: `ChargeCardErrorRate`, `SlowApiLatencyP99`, `DataQualityRatioLow` | the `alertname` |
//! | `over = "5m"` | 5 minutes | the window (not for gauges) |
//! | `for = "1m"` | 1 minute | how long the condition must hold before the alert fires, **and** be false before it resolves: no flapping |
//! | `severity = "page"` | `"ticket"` | `page`, `ticket` or `info` |
//! | `summary`, `description` | made from the condition | annotations; `{{ $value }}` and `{{ $labels.<name> }}` are expanded, here and by Prometheus alike |
//! | `runbook = "https://…"` | none | the `runbook_url` annotation |
//! | `labels(team = "payments")` | none | labels of the alert's own |
//!
//! Everything is checked at compile time, each error on the token at fault. A
//! condition is strict (`>`), and no data (a window without calls) never fires.
//!
//! # Delivery
//!
//! Each alert goes to every Alertmanager configured (`FLEXT_OBS_ALERTMANAGER_URL`,
//! comma-separated, or [`alertmanager_url`](crate::ObservabilityBuilder::alertmanager_url)
//! once per Alertmanager): an HA cluster deduplicates the notifications. Labels:
//! `alertname`, `severity`, `service_name`, `instance` (the embedded server's address
//! as Prometheus would name the target: `ip:port`, or `host:port` when it listens on
//! every interface; the host name alone without a server), the rule's own (`function`,
//! `objective_name`, a series' labels, `check`, …) and
//! [`alert_label`](crate::ObservabilityBuilder::alert_label)s; annotations `summary`,
//! `description` and `runbook_url` where given; `generatorURL` the process's status page (`/metrics` without it)
//! ([`alert_generator_url`](crate::ObservabilityBuilder::alert_generator_url)).
//!
//! Firing alerts are sent when they fire and again every minute
//! ([`alert_resend_interval`](crate::ObservabilityBuilder::alert_resend_interval)),
//! valid for four times that; resolved ones are sent with their `endsAt`, and again for
//! 15 minutes. Each Alertmanager gets a thread and a bounded queue of its own; a request
//! that fails is retried with backoff (0.5 s to 30 s) while newer versions of its alerts
//! replace the waiting ones, so nothing that still fires is lost when the Alertmanager
//! comes back; an outage is reported once, and alerts that do not fit are counted in
//! `flext_alerts_dropped_total`. Nothing ever waits for an Alertmanager but its own
//! thread. HTTP only (credentials as `http://user:password@host:9093`, never shown):
//! reach one behind TLS through a local proxy.
//!
//! # What it shows
//!
//! `/metrics` has `flext_alerts_firing{alertname,severity}` (every rule's pair, at 0
//! when nothing fires) and `flext_alerts_dropped_total`. [`firing`] returns the alerts
//! firing now, with their labels and annotations, as Alertmanager receives them.
//!
//! # Settings
//!
//! | builder | environment | default |
//! |---|---|---|
//! | [`alertmanager_url`](crate::ObservabilityBuilder::alertmanager_url) | `FLEXT_OBS_ALERTMANAGER_URL` | none: alerts are evaluated and shown, not sent |
//! | [`alert_evaluation_interval`](crate::ObservabilityBuilder::alert_evaluation_interval) | `FLEXT_OBS_ALERT_EVALUATION_INTERVAL` | 15 s |
//! | [`alert_resend_interval`](crate::ObservabilityBuilder::alert_resend_interval) | | 1 minute |
//! | [`alert_timeout`](crate::ObservabilityBuilder::alert_timeout) | | 5 s per request |
//! | [`alert_queue_size`](crate::ObservabilityBuilder::alert_queue_size) | | 10,000 alerts per Alertmanager |
//! | [`alert_label`](crate::ObservabilityBuilder::alert_label), [`alert_generator_url`](crate::ObservabilityBuilder::alert_generator_url) | | none, `/metrics` |
//! | [`health_check_alerts`](crate::ObservabilityBuilder::health_check_alerts), [`health_check_alert_for`](crate::ObservabilityBuilder::health_check_alert_for) | | on, 1 minute and 5 minutes |
//! | [`alerts`](crate::ObservabilityBuilder::alerts) | | on |
//!
//! `deploy/alertmanager/` in the repository has an Alertmanager configuration that
//! routes `page` to `PagerDuty`, `ticket` to Slack and `info` to email, secrets read from
//! files.

mod builder;
mod capture;
mod config;
mod deliver;
mod engine;
mod evaluate;
mod history;
mod rules;
mod shared;
mod state;

pub use crate::objectives::Severity;
pub use shared::{FiringAlert, firing};

use self::config::Config;
use self::deliver::{Delivery, Describe};
use self::engine::{Engine, Plan};
use self::evaluate::Evaluator;
use crate::error::Error;
use crate::integration::{IntegrationEntry, Prepared, Running, Setup, Start};

inventory::submit!(IntegrationEntry { order: 40, prepare });

struct Ready(Config);

fn prepare(setup: &mut Setup<'_>) -> Result<Option<Box<dyn Prepared>>, Error> {
    let code = setup.extensions.take::<builder::AlertSettings>();
    Ok(config::resolve(code, setup.env)?.map(|c| Box::new(Ready(c)) as Box<dyn Prepared>))
}

impl Prepared for Ready {
    fn start(self: Box<Self>, start: &mut Start) -> Result<Box<dyn Running>, Error> {
        let config = self.0;
        let (rules, targets) = rules::build(config.health, config.health_for);
        if rules.is_empty() {
            return Ok(Box::new(Alerting { _engine: None }));
        }
        shared::start(rules.iter().map(|r| (r.name.clone(), r.severity)).collect());
        // What Prometheus would call this target: the address it listens on, or the
        // host's name with the port when it listens on every interface.
        let instance = match start.server_addr {
            Some(addr) if !addr.ip().is_unspecified() => addr.to_string(),
            Some(addr) => format!("{}:{}", host_name(), addr.port()),
            None => host_name(),
        };
        // The status page lists the firing alerts; without it, `/metrics` has them.
        let page = if cfg!(feature = "status") {
            "status"
        } else {
            "metrics"
        };
        let generator_url = config.generator_url.clone().or_else(|| {
            start
                .server_addr
                .map(|_| format!("http://{instance}/{page}"))
        });
        let mut labels = vec![("instance".to_owned(), instance)];
        labels.extend(config.labels.iter().cloned());
        let families = rules::families(&rules);
        let delivery = Delivery::start(&config.targets, config.queue_size, config.timeout)
            .map_err(Error::Spawn)?;
        let plan = Plan {
            evaluator: Evaluator::new(rules, targets),
            families,
            labels,
            describe: Describe {
                generator_url,
                valid_for: 4 * config.resend.max(config.interval),
            },
            delivery,
            interval: config.interval,
            resend: config.resend,
        };
        let engine = Engine::start(plan).map_err(Error::Spawn)?;
        Ok(Box::new(Alerting {
            _engine: Some(engine),
        }))
    }
}

/// Evaluates until the guard is dropped (none without rules).
#[derive(Debug)]
struct Alerting {
    _engine: Option<Engine>,
}

impl Running for Alerting {}

/// The host's name: `HOSTNAME`, else the kernel's, else `localhost`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
