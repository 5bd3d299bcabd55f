//! The builder's alerting settings.

use std::fmt;
use std::time::Duration;

use crate::install::ObservabilityBuilder;

/// What the builder methods set; `None` leaves the environment or the default.
#[derive(Default)]
pub(super) struct AlertSettings {
    pub(super) enabled: Option<bool>,
    /// Alertmanager base URLs given in code, possibly with credentials.
    pub(super) urls: Vec<String>,
    pub(super) evaluation_interval: Option<Duration>,
    pub(super) resend_interval: Option<Duration>,
    pub(super) timeout: Option<Duration>,
    pub(super) queue_size: Option<usize>,
    pub(super) labels: Vec<(String, String)>,
    pub(super) generator_url: Option<String>,
    pub(super) health: Option<bool>,
    pub(super) health_for: Option<(Duration, Duration)>,
}

/// The URLs' credentials and query values are withheld.
impl fmt::Debug for AlertSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self
            .urls
            .iter()
            .map(|u| crate::percent::redact_urls(u))
            .collect();
        f.debug_struct("AlertSettings")
            .field("enabled", &self.enabled)
            .field("urls", &urls)
            .field("evaluation_interval", &self.evaluation_interval)
            .field("resend_interval", &self.resend_interval)
            .field("timeout", &self.timeout)
            .field("queue_size", &self.queue_size)
            .field("labels", &self.labels)
            .field(
                "generator_url",
                &self
                    .generator_url
                    .as_deref()
                    .map(crate::percent::redact_urls),
            )
            .field("health", &self.health)
            .field("health_for", &self.health_for)
            .finish()
    }
}

impl ObservabilityBuilder {
    /// An Alertmanager to deliver alerts to (feature `alerts`): `http://host:9093`, with
    /// a path prefix if it runs under one, and `user:password@` for HTTP Basic
    /// authentication. Call it once per Alertmanager of a cluster: each receives every
    /// alert (as Prometheus does), and the cluster deduplicates the notifications.
    /// Replaces `FLEXT_OBS_ALERTMANAGER_URL` (comma-separated URLs). Without any, alerts
    /// are still evaluated: `flext_alerts_firing` and the status page show them.
    ///
    /// ```
    /// let builder = flext_observability::Observability::builder()
    ///     .alertmanager_url("http://alertmanager-0:9093")
    ///     .alertmanager_url("http://alertmanager-1:9093");
    /// ```
    pub fn alertmanager_url(mut self, url: impl Into<String>) -> Self {
        self.extensions
            .get_mut::<AlertSettings>()
            .urls
            .push(url.into());
        self
    }

    /// Whether alerts are evaluated at all (feature `alerts`; default: on).
    pub fn alerts(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<AlertSettings>().enabled = Some(enabled);
        self
    }

    /// How often alert conditions are evaluated (default 15 s, or
    /// `FLEXT_OBS_ALERT_EVALUATION_INTERVAL`): an alert fires at most this late after its
    /// condition and `for` are met.
    pub fn alert_evaluation_interval(mut self, every: Duration) -> Self {
        self.extensions
            .get_mut::<AlertSettings>()
            .evaluation_interval = Some(every);
        self
    }

    /// How often a firing alert is sent again (default 1 minute), so that Alertmanager
    /// keeps it while it fires: keep it well below Alertmanager's `resolve_timeout`
    /// (5 minutes by default). Each firing alert is sent valid until four times this (or
    /// the evaluation interval, whichever is longer), so it resolves on its own after
    /// that if the process dies. Resolved alerts are sent again as often for 15 minutes,
    /// so an Alertmanager that was down learns of them too.
    pub fn alert_resend_interval(mut self, every: Duration) -> Self {
        self.extensions.get_mut::<AlertSettings>().resend_interval = Some(every);
        self
    }

    /// Time limit of one request to an Alertmanager (default 5 s).
    pub fn alert_timeout(mut self, timeout: Duration) -> Self {
        self.extensions.get_mut::<AlertSettings>().timeout = Some(timeout);
        self
    }

    /// Most alerts waiting for each Alertmanager while it is unreachable (default
    /// 10,000). Waiting alerts are kept by label set, so an alert that changes state
    /// replaces its earlier version; a new alert beyond the limit is dropped and counted
    /// in `flext_alerts_dropped_total`.
    pub fn alert_queue_size(mut self, alerts: usize) -> Self {
        self.extensions.get_mut::<AlertSettings>().queue_size = Some(alerts);
        self
    }

    /// A label added to every alert of this process (`team`, `cluster`, …); an alert's
    /// own labels win over it. `alertname`, `severity` and `instance` are set by each
    /// alert: naming one makes `install()` fail.
    pub fn alert_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions
            .get_mut::<AlertSettings>()
            .labels
            .push((name.into(), value.into()));
        self
    }

    /// The `generatorURL` of every alert: the page a notification links back to.
    /// Default: `http://<host name>:<port>/status` of the embedded server (the status
    /// page, which lists the firing alerts), or `/metrics` in builds without the `status`
    /// feature; none without the server. A process that turns the page off
    /// (`FLEXT_OBS_STATUS_PAGE=false`) sets this to its `/metrics` or another page.
    pub fn alert_generator_url(mut self, url: impl Into<String>) -> Self {
        self.extensions.get_mut::<AlertSettings>().generator_url = Some(url.into());
        self
    }

    /// Whether a failing `#[health_check]` raises `HealthCheckFailing` (default: on): a
    /// critical check unhealthy for 1 minute pages, a non-critical one for 5 minutes
    /// makes a ticket, as the generated rules do.
    pub fn health_check_alerts(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<AlertSettings>().health = Some(enabled);
        self
    }

    /// How long a critical and a non-critical check must be unhealthy before
    /// `HealthCheckFailing` fires, and healthy again before it resolves (default 1 minute
    /// and 5 minutes, those of the generated rules).
    pub fn health_check_alert_for(mut self, critical: Duration, non_critical: Duration) -> Self {
        self.extensions.get_mut::<AlertSettings>().health_for = Some((critical, non_critical));
        self
    }
}
