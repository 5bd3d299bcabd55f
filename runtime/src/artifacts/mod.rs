//! Prometheus rules, Alertmanager routing and Grafana dashboards, generated from the
//! binary's own catalogue: its objectives, monitored functions, health checks and
//! business metrics.
//!
//! ```no_run
//! use flext_observability::artifacts::Artifacts;
//!
//! let written = Artifacts::from_catalog()
//!     .service_name("orders")
//!     .write_to("deploy/generated")?;
//! // deploy/generated/prometheus-rules.yml, alertmanager.yml, grafana/overview.json, …
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A binary usually offers this behind a flag (the `quickstart` example has
//! `--write-artifacts DIR`), so that CI regenerates the files from the code it deploys.
//!
//! # `prometheus-rules.yml`
//!
//! For every target of every [objective](crate::objectives), a group of recording rules
//! (error ratios over 5m … 3d, 30 days, the error budget left) and four multi-window
//! burn-rate alerts, `SuccessRateBudgetBurn` and `LatencyBudgetBurn`, labelled
//! `severity` (`page` or `ticket`), `objective_name`, `service_name`, `window` and
//! `burn_rate`. The windows and factors are [`BURN_WINDOWS`](crate::objectives::BURN_WINDOWS),
//! the comparison is [`is_burning`](crate::objectives::is_burning): the rules and an
//! in-process evaluation agree by construction. Latency rules select the threshold's
//! bucket in both spellings of `le` (`"1"` and Prometheus 3's `"1.0"`).
//!
//! Then the rules for what else the catalogue holds (health checks, the built-in CPU,
//! memory and disk checks, pipelines; see the table below). Every rule sums by
//! `service_name` and names no instance of its own, so one file serves any number of
//! instances and loads unchanged into a Thanos or Mimir ruler. With
//! [`service_name`](Artifacts::service_name) set, the rules select that service only
//! and their group names carry it, so the files of several services load side by side.
//!
//! | alert | when | severity |
//! |---|---|---|
//! | `SuccessRateBudgetBurn`, `LatencyBudgetBurn` | an objective burns its budget 14.4× (5m and 1h) or 6× (30m and 6h) too fast / 3× (2h and 1d) or 1× (6h and 3d) | page / ticket |
//! | `HealthCheckFailing` | a critical `#[health_check]` unhealthy for 1m / a non-critical one for 5m | page / ticket |
//! | `CpuAboveThreshold`, `MemoryAboveThreshold`, `DiskAboveThreshold` | a built-in check above its warn level for 10m / its fail level for 5m | info / ticket |
//! | `PipelineFailureRate` | a `*_runs_total{status}` business counter: failed runs above [`pipeline_failure_ratio`](Artifacts::pipeline_failure_ratio) over 1h | ticket |
//! | `BatchRunTooOld` | a `*_last_success_timestamp_seconds` business gauge older than [`batch_max_age`](Artifacts::batch_max_age) | ticket |
//! | `DataQualityLow` | a `*quality*_ratio` business gauge below [`data_quality_min`](Artifacts::data_quality_min) for 5m | ticket |
//! | the name of each `alert(..)` | what it declares on a `#[monitor]` function (`error_rate`, `errors`, `latency_pNN` over its window) or a `#[business_metric]` gauge or counter (`below`, `above`), per instance, with its `for` also as `keep_firing_for` | as declared |
//!
//! The rules of `alert(..)` declarations (group `flext-alerts`) compare exactly what the
//! in-process evaluation of feature `alerts` compares, over the same window, with the
//! same `for`, labels and annotations.
//!
//! # `alertmanager.yml`
//!
//! Routes by `severity`: `page` to `PagerDuty`, `ticket` to Slack, `info` (and anything
//! else) to email; groups by `service_name` and `alertname`; holds back the tickets of an
//! objective while one of its pages fires. Secrets are read from files under
//! [`alert_secrets_dir`](Artifacts::alert_secrets_dir) (`pagerduty-routing-key`,
//! `slack-webhook-url`, `smtp-password`), with the `*_file` fields Alertmanager 0.25
//! has; none is ever written into the file.
//!
//! # `grafana/*.json`
//!
//! Grafana 11 dashboards (`schemaVersion` 39), each with `datasource`, `service` and
//! `instance` variables: `overview.json` (calls, errors, p50/p95/p99 per function with
//! the `version` and `commit` of `build_info`), `slo-<objective>.json` per objective,
//! `health.json` (when there are health checks), `business.json` (when there are
//! business metrics), `http.json` and `grpc.json` (when the binary exports the HTTP or
//! gRPC server metrics). Every `rate()` uses `$__rate_interval`.

mod alertmanager;
mod declared_rules;
mod grafana;
mod inventory;
mod promql;
mod seed_rules;
mod slo_rules;
mod text;

use std::path::{Path, PathBuf};
use std::time::Duration;

use inventory::Inventory;
use promql::Target;

/// The artifacts of one service, from its catalogue, with the settings they need.
#[derive(Clone, Debug)]
pub struct Artifacts {
    inventory: Inventory,
    service: Option<String>,
    levels: seed_rules::Levels,
    receivers: alertmanager::Receivers,
}

/// One generated dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dashboard {
    file_name: String,
    uid: String,
    title: String,
    json: String,
}

impl Dashboard {
    /// Its file name under `grafana/` (`overview.json`).
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// Its Grafana uid, stable across generations.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Its title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The dashboard JSON model.
    pub fn json(&self) -> &str {
        &self.json
    }
}

impl Artifacts {
    /// The artifacts of this binary's catalogue: every `#[monitor]` function and its
    /// objective, every `#[health_check]`, every `#[business_metric]`, the built-in
    /// checks when feature `system` is on, and the HTTP and gRPC dashboards when their
    /// metrics are registered.
    pub fn from_catalog() -> Artifacts {
        Artifacts {
            inventory: Inventory::of_this_binary(),
            service: None,
            levels: seed_rules::Levels::default(),
            receivers: alertmanager::Receivers::default(),
        }
    }

    /// Scopes the rules to one service (`service_name="…"` in every selector, the name in
    /// every group) and preselects it in the dashboards. Without it, the rules cover
    /// every service that has the same objectives. Use the name the service runs under
    /// (what [`ObservabilityBuilder::service_name`](crate::ObservabilityBuilder::service_name)
    /// sets).
    #[must_use]
    pub fn service_name(mut self, name: impl Into<String>) -> Artifacts {
        self.service = Some(name.into());
        self
    }

    /// The share of failed runs above which `PipelineFailureRate` fires (default 0.1).
    #[must_use]
    pub fn pipeline_failure_ratio(mut self, ratio: f64) -> Artifacts {
        self.levels.pipeline_failure_ratio = ratio;
        self
    }

    /// How old the last successful batch run may get before `BatchRunTooOld` fires
    /// (default 26 hours: a daily job, plus slack).
    #[must_use]
    pub fn batch_max_age(mut self, age: Duration) -> Artifacts {
        self.levels.batch_max_age = age;
        self
    }

    /// The data-quality ratio below which `DataQualityLow` fires (default 0.95).
    #[must_use]
    pub fn data_quality_min(mut self, ratio: f64) -> Artifacts {
        self.levels.data_quality_min = ratio;
        self
    }

    /// The directory Alertmanager reads the receivers' secrets from (default
    /// `/etc/alertmanager/secrets`).
    #[must_use]
    pub fn alert_secrets_dir(mut self, dir: impl Into<String>) -> Artifacts {
        self.receivers.secrets_dir = dir.into();
        self
    }

    /// The Slack channel of tickets (default `#alerts`).
    #[must_use]
    pub fn slack_channel(mut self, channel: impl Into<String>) -> Artifacts {
        self.receivers.slack_channel = channel.into();
        self
    }

    /// Where `info` alerts are mailed: recipient, sender (also the SMTP user) and SMTP
    /// server `host:port` (defaults on `example.com`).
    #[must_use]
    pub fn email(
        mut self,
        to: impl Into<String>,
        from: impl Into<String>,
        smarthost: impl Into<String>,
    ) -> Artifacts {
        self.receivers.email_to = to.into();
        self.receivers.email_from = from.into();
        self.receivers.smarthost = smarthost.into();
        self
    }

    /// Whether the rules and dashboards cover the built-in system checks (default: when
    /// feature `system` is on; off when the service runs with `.system_checks(false)`).
    #[must_use]
    pub fn system_checks(mut self, on: bool) -> Artifacts {
        self.inventory.system_checks = on;
        self
    }

    /// Whether to generate the HTTP server dashboard (default: when its metrics are
    /// registered at generation time).
    #[must_use]
    pub fn http_dashboard(mut self, on: bool) -> Artifacts {
        self.inventory.http_server = on;
        self
    }

    /// Whether to generate the gRPC server dashboard (default: when its metrics are
    /// registered at generation time).
    #[must_use]
    pub fn grpc_dashboard(mut self, on: bool) -> Artifacts {
        self.inventory.grpc_server = on;
        self
    }

    /// The names of the objectives found in the catalogue.
    pub fn objectives(&self) -> Vec<&'static str> {
        self.inventory
            .objectives
            .iter()
            .map(|o| o.objective.name())
            .collect()
    }

    /// `prometheus-rules.yml`.
    pub fn prometheus_rules(&self) -> String {
        let service = self.service.as_deref();
        let mut groups = String::new();
        for used in &self.inventory.objectives {
            for target in Target::all(&used.objective, service) {
                slo_rules::group(&mut groups, &slo_rules::group_name(&target), &target);
            }
        }
        seed_rules::groups(&mut groups, &self.inventory, service, &self.levels);
        declared_rules::group(&mut groups, &self.inventory.alerts, service);
        let mut out = String::from(
            "# Generated by flext-observability from the service's catalogue: regenerate rather\n\
             # than edit (`--write-artifacts DIR` in the examples).\n",
        );
        if groups.is_empty() {
            out.push_str("groups: []\n");
        } else {
            out.push_str("groups:\n");
            out.push_str(&groups);
        }
        out
    }

    /// `alertmanager.yml`.
    pub fn alertmanager_config(&self) -> String {
        alertmanager::config(&self.receivers)
    }

    /// The dashboards, overview first.
    pub fn dashboards(&self) -> Vec<Dashboard> {
        let service = self.service.as_deref();
        let inv = &self.inventory;
        let mut boards = vec![grafana::overview(service)];
        boards.extend(inv.objectives.iter().map(|o| grafana::slo(o, service)));
        if !inv.checks.is_empty() || inv.system_checks {
            boards.push(grafana::health(service));
        }
        if !inv.business.is_empty() {
            boards.push(grafana::business(
                &inv.business,
                service,
                self.levels.data_quality_min,
            ));
        }
        if inv.http_server {
            boards.push(grafana::http(service));
        }
        if inv.grpc_server {
            boards.push(grafana::grpc(service));
        }
        boards
            .into_iter()
            .map(|b| Dashboard {
                json: b.to_json().pretty(),
                file_name: b.file_name,
                uid: b.uid,
                title: b.title,
            })
            .collect()
    }

    /// Writes `prometheus-rules.yml`, `alertmanager.yml` and `grafana/*.json` under
    /// `dir` (created if missing); returns the paths written.
    ///
    /// # Errors
    /// When a directory cannot be created or a file cannot be written.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> std::io::Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        let grafana_dir = dir.join("grafana");
        std::fs::create_dir_all(&grafana_dir)?;
        let mut written = Vec::new();
        let mut write = |path: PathBuf, text: &str| -> std::io::Result<()> {
            std::fs::write(&path, text)?;
            written.push(path);
            Ok(())
        };
        write(dir.join("prometheus-rules.yml"), &self.prometheus_rules())?;
        write(dir.join("alertmanager.yml"), &self.alertmanager_config())?;
        for board in self.dashboards() {
            write(grafana_dir.join(&board.file_name), &board.json)?;
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::{Objective, ObjectiveLatency, ObjectivePercentile};

    fn artifacts() -> Artifacts {
        let mut inventory = Inventory::default();
        inventory.add_objective(
            Objective::new("api")
                .success_rate(ObjectivePercentile::P99_9)
                .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99),
            ("get_order".into(), "orders".into()),
        );
        inventory
            .functions
            .push(("get_order".into(), "orders".into()));
        Artifacts {
            inventory,
            service: Some("orders".into()),
            levels: seed_rules::Levels::default(),
            receivers: alertmanager::Receivers::default(),
        }
    }

    #[test]
    fn rules_cover_every_target() {
        let rules = artifacts().prometheus_rules();
        assert!(rules.starts_with("# Generated"));
        assert_eq!(rules.matches("  - name: ").count(), 2);
        assert_eq!(rules.matches("- alert: ").count(), 8);
    }

    #[test]
    fn dashboards_per_objective() {
        let boards = artifacts().dashboards();
        let names: Vec<&str> = boards.iter().map(Dashboard::file_name).collect();
        assert_eq!(names, ["overview.json", "slo-api.json"]);
        assert_eq!(boards[1].uid(), "flext-slo-orders-api");
        assert!(boards[1].json().contains("\"schemaVersion\": 39"));
    }

    #[test]
    fn nothing_declared() {
        let a = Artifacts {
            inventory: Inventory::default(),
            service: None,
            levels: seed_rules::Levels::default(),
            receivers: alertmanager::Receivers::default(),
        };
        assert!(a.prometheus_rules().ends_with("groups: []\n"));
        assert_eq!(a.dashboards().len(), 1);
    }
}
