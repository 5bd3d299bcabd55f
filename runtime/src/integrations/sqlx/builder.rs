//! The builder's database settings.

use std::time::Duration;

use crate::install::ObservabilityBuilder;

/// Database settings given in code.
#[derive(Debug, Default)]
pub(crate) struct DbSettings {
    pub(crate) slow_query_threshold: Option<Duration>,
    pub(crate) query_text: Option<bool>,
}

impl ObservabilityBuilder {
    /// Queries that take at least this long (waiting for a connection included) are kept
    /// among the recent slow queries ([`sqlx::recent_queries`](crate::sqlx::recent_queries)),
    /// with the failed ones. Default: `FLEXT_OBS_DB_SLOW_QUERY_THRESHOLD` (`250ms`, `2s`),
    /// else 1 s (sqlx's own threshold for its slow-statement warning).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = flext_observability::Observability::builder()
    ///     .db_slow_query_threshold(Duration::from_millis(200));
    /// ```
    pub fn db_slow_query_threshold(mut self, threshold: Duration) -> Self {
        self.extensions.get_mut::<DbSettings>().slow_query_threshold = Some(threshold);
        self
    }

    /// Whether query spans and the recent slow queries carry the statement
    /// (`db.query.text`), sanitised: every literal replaced by `?`, `IN` lists collapsed,
    /// comments dropped; bind parameters are never recorded. Default:
    /// `FLEXT_OBS_DB_QUERY_TEXT` (`true`, `false`), else off: statements can carry
    /// secrets, and the text never becomes a metric label either way.
    ///
    /// ```
    /// let builder = flext_observability::Observability::builder().db_query_text(true);
    /// ```
    pub fn db_query_text(mut self, enabled: bool) -> Self {
        self.extensions.get_mut::<DbSettings>().query_text = Some(enabled);
        self
    }
}
