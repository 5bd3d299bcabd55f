//! The builder methods of remote write; each wins over its environment variable.

use std::time::Duration;

use super::config::{Auth, Redacted, RemoteWriteSettings, Secret};
use crate::install::ObservabilityBuilder;

impl ObservabilityBuilder {
    /// Sends every series to a Prometheus remote write receiver at `url`
    /// (`http://prometheus:9090/api/v1/write`, Mimir's `/api/v1/push`, …) every
    /// [`remote_write_interval`](Self::remote_write_interval). Credentials in the URL are
    /// sent as HTTP Basic authentication and never shown.
    ///
    /// Default: `FLEXT_OBS_REMOTE_WRITE_URL`, else off. See
    /// [`remote_write`](crate::remote_write).
    ///
    /// ```no_run
    /// let guard = flext_observability::Observability::builder()
    ///     .service_name("orders")
    ///     .remote_write_url("http://prometheus:9090/api/v1/write")
    ///     .install()?;
    /// # drop(guard);
    /// # Ok::<(), flext_observability::Error>(())
    /// ```
    pub fn remote_write_url(mut self, url: impl Into<String>) -> Self {
        self.extensions.get_mut::<RemoteWriteSettings>().url = Some(Redacted(url.into()));
        self
    }

    /// How often everything is sent. Default: `FLEXT_OBS_REMOTE_WRITE_INTERVAL` (`15s`,
    /// `500ms`, `1m`, or plain seconds), else 15 s.
    pub fn remote_write_interval(mut self, every: Duration) -> Self {
        self.extensions.get_mut::<RemoteWriteSettings>().interval = Some(every);
        self
    }

    /// Time limit of one request. Default: `FLEXT_OBS_REMOTE_WRITE_TIMEOUT`, else 10 s.
    pub fn remote_write_timeout(mut self, timeout: Duration) -> Self {
        self.extensions.get_mut::<RemoteWriteSettings>().timeout = Some(timeout);
        self
    }

    /// Pushes kept while the receiver is unreachable: beyond, the oldest are dropped and
    /// counted in `flext_remote_write_dropped_total{reason="queue_full"}`. Default:
    /// `FLEXT_OBS_REMOTE_WRITE_QUEUE`, else 20 (5 minutes at the default interval).
    pub fn remote_write_queue(mut self, pushes: usize) -> Self {
        self.extensions.get_mut::<RemoteWriteSettings>().queue = Some(pushes);
        self
    }

    /// HTTP Basic authentication. Default: `FLEXT_OBS_REMOTE_WRITE_USERNAME` with
    /// `FLEXT_OBS_REMOTE_WRITE_PASSWORD` (or `…_PASSWORD_FILE`), else credentials in the
    /// URL. Never logged or shown by `Debug`.
    pub fn remote_write_basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.extensions.get_mut::<RemoteWriteSettings>().auth = Some(Auth::Basic {
            user: user.into(),
            password: Secret::Value(password.into()),
        });
        self
    }

    /// `Authorization: Bearer <token>`. Default: `FLEXT_OBS_REMOTE_WRITE_BEARER_TOKEN`
    /// (or `…_BEARER_TOKEN_FILE`, read for every request). Never logged or shown by
    /// `Debug`.
    pub fn remote_write_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.extensions.get_mut::<RemoteWriteSettings>().auth =
            Some(Auth::Bearer(Secret::Value(token.into())));
        self
    }
}
