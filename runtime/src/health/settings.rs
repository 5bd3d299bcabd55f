//! Health settings on the builder (code over environment over defaults) and their
//! resolution at start-up, parameters of every check included.

use std::sync::Arc;
use std::time::Duration;

use super::model::{CheckDef, CheckInfo, Exposure};
use super::registry::{self, HealthCheckMeta, Missing, Resources};
use crate::error::Error;
use crate::settings::{self, EnvLookup, Policy};

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
    pub(crate) interval: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) concurrency: Option<usize>,
    pub(crate) thresholds: Option<(u32, u32)>,
    pub(crate) resources: Resources,
    pub(crate) show_details: Option<bool>,
    pub(crate) token: Option<String>,
    pub(crate) drain_delay: Option<Duration>,
    pub(crate) system_checks: Option<bool>,
    pub(crate) process_metrics: Option<bool>,
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

/// The resolved settings.
pub(crate) struct Config {
    pub(crate) concurrency: usize,
    pub(crate) exposure: Exposure,
    pub(crate) drain_delay: Duration,
    pub(crate) checks: Vec<CheckDef>,
    #[cfg_attr(not(all(feature = "system", target_os = "linux")), allow(dead_code))]
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
            show_details: settings::code_or_read(
                settings.show_details,
                env,
                "FLEXT_OBS_HEALTH_DETAILS",
                Policy::Strict,
                settings::boolean,
            )?
            .unwrap_or(false),
            token: settings.token,
        },
        drain_delay: settings::code_or_read(
            settings.drain_delay,
            env,
            "FLEXT_OBS_SHUTDOWN_DRAIN",
            Policy::Strict,
            settings::duration,
        )?
        .unwrap_or(DEFAULT_DRAIN_DELAY),
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
    let from_env = match code {
        Some(_) => None,
        None => settings::read(env, variable, Policy::Strict, settings::duration)?,
    };
    Ok(settings::pick(code, method, from_env, variable, default))
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

    use crate::health::Kind;
    use crate::settings::test_env as env;

    #[test]
    fn durations() {
        assert_eq!(
            crate::settings::duration("30").unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            crate::settings::duration("1.5").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            crate::settings::duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            crate::settings::duration("1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert!(crate::settings::duration("").is_err());
        assert!(crate::settings::duration("-1").is_err());
        assert!(crate::settings::duration("10 parsecs").is_err());
        assert!(crate::settings::duration("ms").is_err());
        // One grammar with the macros: spaces between numbers and units, no signs.
        assert_eq!(
            crate::settings::duration("1 s").unwrap(),
            Duration::from_secs(1)
        );
        assert!(crate::settings::duration("+1").is_err());
        assert!(crate::settings::duration("inf").is_err());
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
