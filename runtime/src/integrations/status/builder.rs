//! The builder's status-page settings.

use std::time::Duration;

use crate::install::ObservabilityBuilder;

/// Status-page settings given in code.
#[derive(Debug, Default)]
pub(crate) struct StatusSettings {
    pub(crate) page: Option<bool>,
    pub(crate) panic_hook: Option<bool>,
    pub(crate) trace_url_template: Option<String>,
    pub(crate) sample_interval: Option<Duration>,
}

impl ObservabilityBuilder {
    /// Whether the embedded server answers `/status`, `/status.json` and `/` (a redirect
    /// to `/status`), and keeps what they show: the recent failures and the samples
    /// behind the 1, 5 and 15-minute figures (module [`status`](crate::status)).
    /// Default: `FLEXT_OBS_STATUS_PAGE` (`true` or `false`), else on.
    ///
    /// ```
    /// let builder = flext_observability::Observability::builder().status_page(false);
    /// ```
    pub fn status_page(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<StatusSettings>().page = Some(enabled);
        self
    }

    /// Whether `install()` adds a panic hook in front of the one already set (which it
    /// still calls): `process_panics_total{thread}`, an `exception` event with the
    /// message and location on the current span (a log line with its trace and span
    /// ids), and an entry among the recent failures of the status page. Default:
    /// `FLEXT_OBS_PANIC_HOOK` (`true` or `false`), else on.
    ///
    /// ```
    /// let builder = flext_observability::Observability::builder().panic_hook(false);
    /// ```
    pub fn panic_hook(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<StatusSettings>().panic_hook = Some(enabled);
        self
    }

    /// Turns the trace ids of the status page into links: `{trace_id}` (and optionally
    /// `{span_id}`) in an `http://` or `https://` URL are replaced by the ids, as 32 and
    /// 16 lowercase hex digits. Default: `FLEXT_OBS_TRACE_URL_TEMPLATE`, else the ids are
    /// shown as text.
    ///
    /// ```
    /// // Jaeger; Grafana Tempo's Explore URL works the same way.
    /// let builder = flext_observability::Observability::builder()
    ///     .trace_url_template("http://localhost:16686/trace/{trace_id}");
    /// ```
    pub fn trace_url_template(mut self, template: impl Into<String>) -> Self {
        self.extensions
            .get_mut::<StatusSettings>()
            .trace_url_template = Some(template.into());
        self
    }

    /// How often the status page samples every monitored function for its 1, 5 and
    /// 15-minute rates, error ratios, quantiles and sparklines: between 100 ms and 60 s,
    /// 10 s by default. The samples cover 15 minutes, or 180 intervals when the
    /// interval is shorter than 5 s.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = flext_observability::Observability::builder()
    ///     .status_sample_interval(Duration::from_secs(5));
    /// ```
    pub fn status_sample_interval(mut self, interval: Duration) -> Self {
        self.extensions.get_mut::<StatusSettings>().sample_interval = Some(interval);
        self
    }
}
