//! Health settings on the builder (code over environment over defaults) and their
//! resolution at start-up, parameters of every check included.

use std::sync::Arc;
use std::time::Duration;

use flext_observability_naming::duration::BareNumber;

use super::registry::{self, HealthCheckMeta, Missing, Resources, Work};
use super::report::Kind;
use crate::config::EnvLookup;
use crate::{Error, ObservabilityBuilder};

/// `HEALTH_CHECK_INTERVAL` default.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// `HEALTH_CHECK_TIMEOUT` default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Shortest interval: anything shorter would keep a core busy for nothing.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Shortest timeout.
pub(crate) const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// Checks running at once, by default.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;
/// How long readiness fails before the server stops, by default.
pub(crate) const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);

/// What the builder collected.
#[derive(Default)]
pub(crate) struct Settings {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    concurrency: Option<usize>,
    thresholds: Option<(u32, u32)>,
    resources: Resources,
    show_details: bool,
    token: Option<String>,
    drain_delay: Option<Duration>,
    system_checks: Option<bool>,
    process_metrics: Option<bool>,
    #[cfg(feature = "system")]
    pub(crate) system: super::system::SystemSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthSettings")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("thresholds", &self.thresholds)
            .field("resources", &self.resources)
            .field("show_details", &self.show_details)
            // Never the token itself.
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("drain_delay", &self.drain_delay)
            .finish_non_exhaustive()
    }
}

/// Who may see outputs, observed values and details of checks.
#[derive(Clone, Default)]
pub(crate) struct Exposure {
    pub(crate) show_details: bool,
    pub(crate) token: Option<String>,
}

impl std::fmt::Debug for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exposure")
            .field("show_details", &self.show_details)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Everything about one check the runner and the surfaces need; fixed at start-up.
#[derive(Debug)]
pub(crate) struct CheckInfo {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) critical: bool,
    pub(crate) groups: Vec<String>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) failure_threshold: u32,
    pub(crate) success_threshold: u32,
    pub(crate) blocking: bool,
    /// `file:line` of a `#[health_check]`; `None` for built-in checks.
    pub(crate) location: Option<String>,
}

impl CheckInfo {
    /// A result older than this is no longer believed.
    pub(crate) fn stale_after(&self) -> Duration {
        self.interval * 3 + self.timeout
    }
}

/// A check ready for the runner.
pub(crate) struct CheckDef {
    pub(crate) info: Arc<CheckInfo>,
    pub(crate) work: Work,
}

/// The resolved settings.
pub(crate) struct Config {
    pub(crate) concurrency: usize,
    pub(crate) exposure: Exposure,
    pub(crate) drain_delay: Duration,
    pub(crate) checks: Vec<CheckDef>,
    pub(crate) process_metrics: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("concurrency", &self.concurrency)
            .field("exposure", &self.exposure)
            .field("drain_delay", &self.drain_delay)
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}

/// Health checks (`#[health_check]`) and probes.
impl ObservabilityBuilder {
    /// How often checks without their own `interval` run. Default: `HEALTH_CHECK_INTERVAL`
    /// (`30s`, `500ms`, `1m30s`, or plain seconds), else 30 s. Runs get ±10 % jitter.
    ///
    /// A check with its own `timeout` longer than this interval (and no `interval` of its
    /// own) makes [`install`](Self::install) fail with [`Error::Config`] naming this
    /// setting and the check.
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.health.interval = Some(interval);
        self
    }

    /// How long a check without its own `timeout` may run before it counts as failed and
    /// its future is dropped. Default: `HEALTH_CHECK_TIMEOUT` (same grammar as
    /// `HEALTH_CHECK_INTERVAL`), else 10 s; never more than the check's interval (a
    /// default longer than the default interval is an error, a default longer than a
    /// check's own `interval` is shortened to it).
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.health.timeout = Some(timeout);
        self
    }

    /// How many checks may run at once (default 8); due checks beyond wait their turn.
    pub fn health_check_concurrency(mut self, limit: usize) -> Self {
        self.health.concurrency = Some(limit);
        self
    }

    /// Consecutive failures before a passing check is reported failing, and consecutive
    /// successes before a failing one is reported passing again, for checks without
    /// their own `failure_threshold` / `success_threshold`. Default `(1, 1)`: Kubernetes
    /// and load balancers apply their own thresholds on top.
    pub fn health_check_thresholds(mut self, failure: u32, success: u32) -> Self {
        self.health.thresholds = Some((failure, success));
        self
    }

    /// Makes `value` available to health checks that take a `&T` or a `T` (cloned per
    /// run) parameter: a connection pool, a client, a configuration. One value per type.
    ///
    /// ```standalone_crate
    /// use flext_observability::{Observability, health_check};
    ///
    /// #[derive(Clone)]
    /// struct Pool { url: String }
    ///
    /// #[health_check]
    /// fn database(pool: &Pool) -> Result<(), String> {
    ///     if pool.url.is_empty() { Err("no database configured".into()) } else { Ok(()) }
    /// }
    ///
    /// let guard = Observability::builder()
    ///     .without_server()
    ///     .resource(Pool { url: "postgres://db".into() })
    ///     .install()
    ///     .unwrap();
    /// # drop(guard);
    /// ```
    ///
    /// A check whose parameter type was not registered makes
    /// [`install`](Self::install) fail with [`Error::Config`] naming the type and the check.
    pub fn resource<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.health.resources.insert(value);
        self
    }

    /// Shows every caller the outputs, observed values and details of checks, and logs
    /// what failing checks returned (and their panic messages). Default: withheld (names
    /// and statuses only, in probes and logs), unless the request carries the
    /// [`health_token`](Self::health_token).
    pub fn health_details(mut self, show: bool) -> Self {
        self.health.show_details = show;
        self
    }

    /// Shows the details of checks to requests with `Authorization: Bearer <token>`
    /// (compared in constant time). The token is never logged or printed.
    pub fn health_token(mut self, token: impl Into<String>) -> Self {
        self.health.token = Some(token.into());
        self
    }

    /// How long readiness reports "shutting down" before the server stops when the guard
    /// is dropped, so load balancers stop sending traffic first. Default 5 s, applied only
    /// when a readiness probe (`/readyz`, `/health`) was served since start-up; dropping
    /// the guard blocks the dropping thread that long.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.health.drain_delay = Some(delay);
        self
    }

    /// Whether the built-in CPU, memory and disk checks run (feature `system`; default
    /// on with the feature, no effect without it).
    pub fn system_checks(mut self, enabled: bool) -> Self {
        self.health.system_checks = Some(enabled);
        self
    }

    /// Whether the standard `process_*` metrics are exported (feature `system`, Linux;
    /// default on with the feature, no effect without it).
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.health.process_metrics = Some(enabled);
        self
    }
}

/// Validates the settings and binds every check to its parameters.
pub(crate) fn resolve(settings: Settings, env: EnvLookup<'_>) -> Result<Config, Error> {
    let (interval, interval_source) = duration_setting(
        settings.interval,
        "health_check_interval",
        "HEALTH_CHECK_INTERVAL",
        DEFAULT_INTERVAL,
        env,
    )?;
    if interval < MIN_INTERVAL {
        return Err(Error::config(
            interval_source,
            format!("{interval:?} is shorter than the minimum of {MIN_INTERVAL:?}"),
        ));
    }
    let (timeout, timeout_source) = duration_setting(
        settings.timeout,
        "health_check_timeout",
        "HEALTH_CHECK_TIMEOUT",
        DEFAULT_TIMEOUT,
        env,
    )?;
    if timeout < MIN_TIMEOUT {
        return Err(Error::config(
            timeout_source,
            format!("{timeout:?} is shorter than the minimum of {MIN_TIMEOUT:?}"),
        ));
    }
    if timeout > interval {
        return Err(Error::config(
            timeout_source,
            format!(
                "the timeout ({timeout:?}) is longer than the interval ({interval:?}, from \
                 {interval_source}): a check would still run when its next run is due"
            ),
        ));
    }
    let concurrency = settings.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
    if concurrency == 0 {
        return Err(Error::config(
            "health_check_concurrency",
            "must be at least 1",
        ));
    }
    let (failure_threshold, success_threshold) = settings.thresholds.unwrap_or((1, 1));
    if failure_threshold == 0 || success_threshold == 0 {
        return Err(Error::config(
            "health_check_thresholds",
            "thresholds must be at least 1",
        ));
    }
    if let Some(token) = &settings.token {
        check_token(token)?;
    }
    if !settings.resources.duplicates.is_empty() {
        return Err(Error::config(
            "resource",
            format!(
                "registered more than once: {}; register one value per type (wrap values in \
                 distinct types to tell them apart)",
                settings.resources.duplicates.join(", ")
            ),
        ));
    }

    let checks = bind_checks(
        &settings.resources,
        (interval, interval_source),
        timeout,
        (failure_threshold, success_threshold),
    )?;

    #[cfg(feature = "system")]
    let checks = {
        let mut checks = checks;
        if settings.system_checks.unwrap_or(true) {
            super::system::add_checks(&settings.system, env, interval, timeout, &mut checks)?;
        }
        checks
    };

    Ok(Config {
        concurrency,
        exposure: Exposure {
            show_details: settings.show_details,
            token: settings.token,
        },
        drain_delay: settings.drain_delay.unwrap_or(DEFAULT_DRAIN_DELAY),
        checks,
        process_metrics: cfg!(feature = "system") && settings.process_metrics.unwrap_or(true),
    })
}

/// Every registered check with its parameters resolved; all missing types at once, then
/// all timeouts longer than the default interval at once.
fn bind_checks(
    resources: &Resources,
    (interval, interval_source): (Duration, &'static str),
    timeout: Duration,
    (failure_threshold, success_threshold): (u32, u32),
) -> Result<Vec<CheckDef>, Error> {
    bind_metas(
        registry::registered(),
        resources,
        (interval, interval_source),
        timeout,
        (failure_threshold, success_threshold),
    )
}

fn bind_metas(
    metas: &[&HealthCheckMeta],
    resources: &Resources,
    (interval, interval_source): (Duration, &'static str),
    timeout: Duration,
    (failure_threshold, success_threshold): (u32, u32),
) -> Result<Vec<CheckDef>, Error> {
    let mut checks = Vec::new();
    let mut missing_report = Vec::new();
    let mut too_long = Vec::new();
    for meta in metas {
        // An explicit timeout is checked against an explicit interval at compile time;
        // against the default interval it can only be checked here. A run that outlives
        // its interval would still be running when the next one is due: refused rather
        // than clamped, because a clamped timeout would fail a check its author gave more
        // time on purpose.
        if meta.interval.is_none()
            && let Some(own) = meta.timeout
            && own > interval
        {
            too_long.push(format!(
                "health check `{}` ({}) has a timeout of {own:?}",
                meta.name,
                meta.location()
            ));
        }
        let mut missing = Missing::default();
        let bound = (meta.bind)(resources, &mut missing);
        if !missing.types.is_empty() {
            missing_report.push(format!(
                "health check `{}` ({}) takes {}",
                meta.name,
                meta.location(),
                missing
                    .types
                    .iter()
                    .map(|t| format!("a `{t}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
        let Some(bound) = bound else { continue };
        let check_interval = meta.interval.unwrap_or(interval);
        let info = CheckInfo {
            name: meta.name.to_owned(),
            kind: meta.kind,
            critical: meta.critical,
            groups: meta.groups.iter().map(|g| (*g).to_owned()).collect(),
            interval: check_interval,
            // A default timeout never exceeds the check's interval.
            timeout: meta.timeout.unwrap_or(timeout.min(check_interval)),
            failure_threshold: nonzero_or(meta.failure_threshold, failure_threshold),
            success_threshold: nonzero_or(meta.success_threshold, success_threshold),
            blocking: bound.is_blocking(),
            location: Some(meta.location()),
        };
        checks.push(CheckDef {
            info: Arc::new(info),
            work: bound.work,
        });
    }
    if !missing_report.is_empty() {
        return Err(Error::config(
            "resource",
            format!(
                "{}: register them with `.resource(value)` on the builder",
                missing_report.join("; ")
            ),
        ));
    }
    if !too_long.is_empty() {
        return Err(Error::config(
            interval_source,
            format!(
                "{}, longer than the interval of {interval:?}: a run would still be going \
                 when the next one is due; give the check its own `interval` at least as \
                 long as its timeout, or lengthen `{interval_source}`",
                too_long.join("; ")
            ),
        ));
    }
    Ok(checks)
}

fn nonzero_or(value: u32, default: u32) -> u32 {
    if value == 0 { default } else { value }
}

fn duration_setting(
    code: Option<Duration>,
    method: &'static str,
    variable: &'static str,
    default: Duration,
    env: EnvLookup<'_>,
) -> Result<(Duration, &'static str), Error> {
    if let Some(value) = code {
        return Ok((value, method));
    }
    match env(variable) {
        Some(text) => parse_duration(&text)
            .map(|d| (d, variable))
            .map_err(|reason| Error::config(variable, reason)),
        None => Ok((default, variable)),
    }
}

/// `30s`, `250ms`, `1m30s`, `1 s 500 ms`, `1h`, `500us`, or plain (fractional) seconds:
/// the grammar of the macros' attributes, plus bare numbers as seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    flext_observability_naming::duration::parse_duration(text, BareNumber::Seconds)
        .map_err(|e| e.to_string())
}

fn check_token(token: &str) -> Result<(), Error> {
    if token.is_empty() {
        return Err(Error::config("health_token", "the token is empty"));
    }
    // What an `Authorization: Bearer` header can carry (RFC 6750 b64token, widened to
    // every visible ASCII character).
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::config(
            "health_token",
            "the token must be visible ASCII without spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_env as env;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("ms").is_err());
        // One grammar with the macros: spaces between numbers and units, no signs.
        assert_eq!(parse_duration("1 s").unwrap(), Duration::from_secs(1));
        assert!(parse_duration("+1").is_err());
        assert!(parse_duration("inf").is_err());
    }

    #[test]
    fn environment_and_errors() {
        let e = env(&[
            ("HEALTH_CHECK_INTERVAL", "2s"),
            ("HEALTH_CHECK_TIMEOUT", "500ms"),
        ]);
        let config = resolve(Settings::default(), &e).unwrap();
        assert_eq!(config.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(config.drain_delay, DEFAULT_DRAIN_DELAY);

        let e = env(&[("HEALTH_CHECK_INTERVAL", "soon")]);
        let err = resolve(Settings::default(), &e).unwrap_err().to_string();
        assert!(err.contains("HEALTH_CHECK_INTERVAL"), "{err}");

        let e = env(&[("HEALTH_CHECK_TIMEOUT", "1m")]);
        let err = resolve(Settings::default(), &e).unwrap_err().to_string();
        assert!(
            err.contains("HEALTH_CHECK_TIMEOUT") && err.contains("longer"),
            "{err}"
        );

        let e = env(&[("HEALTH_CHECK_INTERVAL", "1ms")]);
        let err = resolve(Settings::default(), &e).unwrap_err().to_string();
        assert!(err.contains("HEALTH_CHECK_INTERVAL"), "{err}");

        // Code wins over the environment, and errors name the builder method.
        let settings = Settings {
            timeout: Some(Duration::ZERO),
            ..Settings::default()
        };
        let e = env(&[("HEALTH_CHECK_TIMEOUT", "1s")]);
        let err = resolve(settings, &e).unwrap_err().to_string();
        assert!(err.contains("health_check_timeout"), "{err}");
    }

    #[allow(clippy::unnecessary_wraps)] // the signature of `HealthCheckMeta::bind`
    fn always_bound(_: &Resources, _: &mut Missing) -> Option<registry::BoundCheck> {
        Some(registry::BoundCheck::blocking(
            super::super::report::HealthReport::healthy,
        ))
    }

    const SLOW: HealthCheckMeta = HealthCheckMeta {
        name: "slow",
        module: "app",
        file: "src/app.rs",
        line: 7,
        kind: Kind::Readiness,
        critical: false,
        groups: &[],
        interval: None,
        timeout: Some(Duration::from_secs(20)),
        failure_threshold: 0,
        success_threshold: 0,
        bind: always_bound,
    };

    const OWN: HealthCheckMeta = HealthCheckMeta {
        interval: Some(Duration::from_mins(1)),
        ..SLOW
    };

    #[test]
    fn explicit_timeout_against_the_default_interval() {
        let bind = |interval, source| {
            bind_metas(
                &[&SLOW],
                &Resources::default(),
                (interval, source),
                DEFAULT_TIMEOUT,
                (1, 1),
            )
        };
        // `HEALTH_CHECK_INTERVAL=5s` and `timeout = "20s"`: refused, naming the variable
        // and the check's location.
        let err = bind(Duration::from_secs(5), "HEALTH_CHECK_INTERVAL")
            .map(drop)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid `HEALTH_CHECK_INTERVAL`: health check `slow` (src/app.rs:7)"),
            "{err}"
        );
        assert!(err.contains("20s") && err.contains("5s"), "{err}");
        let err = bind(Duration::from_secs(5), "health_check_interval")
            .map(drop)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`health_check_interval`"), "{err}");
        // An interval as long as the timeout is fine, and the timeout is kept.
        let checks = bind(Duration::from_secs(20), "HEALTH_CHECK_INTERVAL").unwrap();
        assert_eq!(checks[0].info.timeout, Duration::from_secs(20));
        assert_eq!(checks[0].info.interval, Duration::from_secs(20));
        // Its own interval was checked against its timeout at compile time.
        let checks = bind_metas(
            &[&OWN],
            &Resources::default(),
            (Duration::from_secs(5), "HEALTH_CHECK_INTERVAL"),
            DEFAULT_TIMEOUT,
            (1, 1),
        )
        .unwrap();
        assert_eq!(checks[0].info.timeout, Duration::from_secs(20));
    }

    #[test]
    fn tokens_and_resources() {
        let settings = Settings {
            token: Some("has space".into()),
            ..Settings::default()
        };
        let err = resolve(settings, &env(&[])).unwrap_err().to_string();
        assert!(
            err.contains("health_token") && !err.contains("has space"),
            "{err}"
        );
        assert!(
            !format!(
                "{:?}",
                Settings {
                    token: Some("s3cret".into()),
                    ..Settings::default()
                }
            )
            .contains("s3cret")
        );

        let mut settings = Settings::default();
        settings.resources.insert(1u8);
        settings.resources.insert(2u8);
        let err = resolve(settings, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("resource") && err.contains("u8"), "{err}");
    }
}
